"""B-cos ResNets (B-cos v2): what the family is, without torch.

``VARIANTS`` holds each depth's blocks; :mod:`zoo_vision.models.bcos_resnet` builds from the same
dict. The configuration is the authors' ImageNet one (B-cos/B-cos-v2,
``experiments/ImageNet/bcos_final``): every conv a B-cos conv with B = 2 and no MaxOut, uncentred
bias-free batch norms, no ReLU, a 3x3 average pool in the stem, the classifier a 1x1 B-cos conv
before global average pooling, logit bias ``-log(C - 1)``, a 6-channel ``[r, g, b, 1-r, 1-g, 1-b]``
input in [0, 1].
"""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="B-cos Alignment for Inherently Interpretable CNNs and Vision Transformers",
    arxiv="2306.10898", venue="TPAMI 2024", code="https://github.com/B-cos/B-cos-v2",
)

# num_params: 1000 classes, 6 input channels, as the authors' constructors count them (run on the
# meta device): torchvision's ResNets plus the stem's three extra input channels, less the fc bias and
# the BN shifts. Their README rounds them to 11.69M, 21.80M, 25.52M (sic: 25.54M here), 44.50M and
# 60.13M. top1: the README's ImageNet top-1 of the released checkpoints.
VARIANTS = {
    "18": {"block": "basic", "layers": [2, 2, 2, 2], "num_params": 11_693_120, "top1": 68.736},
    "34": {"block": "basic", "layers": [3, 4, 6, 3], "num_params": 21_797_568, "top1": 72.284},
    "50": {"block": "bottleneck", "layers": [3, 4, 6, 3], "num_params": 25_538_880, "top1": 75.882},
    "101": {"block": "bottleneck", "layers": [3, 4, 23, 3], "num_params": 44_504_896, "top1": 76.532},
    "152": {"block": "bottleneck", "layers": [3, 8, 36, 3], "num_params": 60_125_504, "top1": 76.484},
}

_MODULE = "zoo_vision.models.bcos_resnet"


# B-cos v2's ImageNet CNN configuration (``experiments/ImageNet/bcos_final``, arXiv:2306.10898): Adam lr 1e-3,
# batch 64 x 4 GPUs = 256, 90 epochs cosine after a 5-epoch linear warm-up, the uniform-off-label BCE,
# RandomResizedCrop 224 + flip on [0, 1] images (no normalisation) turned into [r, g, b, 1-r, 1-g, 1-b].
RECIPES = (TrainRecipe(
    name="imagenet", optimiser="adam", lr=1e-3, momentum=0.9, beta2=0.999, epochs=90, batch_size=256,
    schedule="cosine", warmup_epochs=5, loss="zoo_vision.training:uniform_off_label_bce",
    augmentation="resized-crop-flip", prepare="zoo_vision.training:add_inverse", source=PAPER,
    notes="the authors' adaptive gradient clipping (factor 0.01) is left out and their warm-up starts at 1% of "
          "the lr (here at 1/warm-up steps)",
),)


def _spec(variant: str, hp: dict) -> ModelSpec:
    return ModelSpec(
        name=f"bcos-resnet-{variant}", domain="vision", task="classification", paper=PAPER, recipes=RECIPES,
        builder=f"{_MODULE}:build_bcos_resnet", example_input=f"{_MODULE}:example_input",
        num_params=hp["num_params"],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 6, "b": 2.0, "max_out": 1},
        features=tuple(FeatureLevel(f"layer{i + 1}", 64 * 2**i * (4 if hp["block"] == "bottleneck" else 1), 4 * 2**i)
                       for i in range(4)),
        explain_layer="layer4",
        tags=("cnn", "resnet", "b-cos", "interpretable", "imagenet"),
        license="Apache-2.0",
        description=(f"B-cos ResNet-{variant}: B = 2 alignment convolutions, no ReLU, a dynamic linear map "
                     f"explained by 'bcos-contributions'; input [r,g,b,1-r,1-g,1-b] in [0, 1] "
                     f"(reported ImageNet top-1 {hp['top1']}%)."),
    )


MODELS = tuple(_spec(variant, hp) for variant, hp in VARIANTS.items())
