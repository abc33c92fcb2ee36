"""BiPer binary ResNets (1-bit weights and activations): what the family is, without torch.

``VARIANTS`` holds each network's layout; :mod:`zoo_vision.models.biper_resnet` builds from it.
The layouts are the authors' (edmav4/BiPer ``imagenet/models_imagenet/resnet.py``,
``cifar10/models_cifar/resnet.py`` and ``resnet2.py``), all with ω₀ = 20 (``--freq 20`` of the
published commands) and the stage-2 (fully binary) form by default.
"""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="BiPer: Binary Neural Networks using a Periodic Function",
    arxiv="2404.01278", venue="CVPR 2024", code="https://github.com/edmav4/BiPer",
)

# layout: "imagenet" (Bi-Real style: a shortcut around each binary conv, FP 7x7 stem + max-pool, FP 1x1
# downsample), "cifar-bireal" (ResNet-20: a shortcut around each conv, option-A average-pool + zero-pad
# shortcut) or "cifar-basic" (ResNet-18: one shortcut per two-conv block, option A, no stem activation).
# num_params: the authors' count (their test(): trainable tensors, full-precision floats, not bit-packed
# sizes), which their README rounds to 11.69M / 21.81M / 0.27M / 11.01M and which the README's
# comment gives exactly for ResNet-18 (11694376). The CIFAR convs' frozen, unused ``beta`` tensors are
# not built. top1: the README's accuracies of the released stage-2 checkpoints.
VARIANTS = {
    "18": {"layout": "imagenet", "layers": [2, 2, 2, 2], "widths": [64, 128, 256, 512], "num_classes": 1000,
           "num_params": 11_694_376, "top1": 61.40, "dataset": "imagenet"},
    "34": {"layout": "imagenet", "layers": [3, 4, 6, 3], "widths": [64, 128, 256, 512], "num_classes": 1000,
           "num_params": 21_806_248, "top1": 65.73, "dataset": "imagenet"},
    "20-cifar10": {"layout": "cifar-bireal", "layers": [3, 3, 3], "widths": [16, 32, 64], "num_classes": 10,
                   "num_params": 270_522, "top1": 86.98, "dataset": "cifar10"},
    "18-cifar10": {"layout": "cifar-basic", "layers": [2, 2, 2, 2], "widths": [64, 128, 256, 512],
                   "num_classes": 10, "num_params": 11_005_002, "top1": 93.75, "dataset": "cifar10"},
}

# The authors' two-stage training (README commands, imagenet/ and cifar10/ run_stg*.sh, main*.py): SGD
# momentum 0.9, cosine decay after a 5-epoch linear warm-up (their loop sets lr·(e+1)/5 for e < 5),
# plain cross-entropy. Stage 1 trains the `stage=1` network (real sin(ω₀w) weights, binary activations);
# stage 2 starts from its weights with `stage=2`. ImageNet applies weight decay only to parameters whose
# name holds "conv" or "fc" (the convs, their α, the classifier) - a zoo recipe decays all of them.
_IMAGENET_NOTE = ("ImageNet augmentation: random-resized crop + flip (their DALI pipeline); weight decay only on "
                  "conv/fc parameters (incl. alpha) in the authors' code")
_CIFAR_NOTE = ("the README's commands are for ResNet-18 and used for ResNet-20 as well; CIFAR augmentation: "
               "4-pixel padded random crop + horizontal flip")
RECIPES = {
    "imagenet": (
        TrainRecipe(name="stage1", optimiser="sgd", lr=0.1, epochs=200, batch_size=512, weight_decay=1e-4,
                    momentum=0.9, schedule="cosine", warmup_epochs=5, augmentation="resized-crop-flip",
                    source=PAPER, notes="stage 1: build with stage=1 (real weights). " + _IMAGENET_NOTE),
        TrainRecipe(name="stage2", optimiser="sgd", lr=0.01, epochs=100, batch_size=512, weight_decay=1e-4,
                    momentum=0.9, schedule="cosine", augmentation="resized-crop-flip", source=PAPER,
                    notes="stage 2: stage=2, initialised from stage 1; no warm-up in the README command. "
                          + _IMAGENET_NOTE),
    ),
    "cifar10": (
        TrainRecipe(name="stage1", optimiser="sgd", lr=0.021, epochs=600, batch_size=256, weight_decay=0.0016,
                    momentum=0.9, schedule="cosine", warmup_epochs=5,
                    augmentation="zoo_vision.augment:pad_crop_flip", source=PAPER,
                    notes="stage 1: build with stage=1 (real weights); " + _CIFAR_NOTE),
        TrainRecipe(name="stage2", optimiser="sgd", lr=0.0037, epochs=300, batch_size=256, weight_decay=0.00016,
                    momentum=0.9, schedule="cosine", warmup_epochs=5,
                    augmentation="zoo_vision.augment:pad_crop_flip", source=PAPER,
                    notes="stage 2: stage=2, initialised from stage 1; " + _CIFAR_NOTE),
    ),
}

_MODULE = "zoo_vision.models.biper_resnet"


def _spec(variant: str, hp: dict) -> ModelSpec:
    depth = variant.split("-")[0]
    on = "ImageNet" if hp["dataset"] == "imagenet" else "CIFAR-10"
    return ModelSpec(
        name=f"biper-resnet-{variant}", domain="vision", task="classification", paper=PAPER,
        builder=f"{_MODULE}:build_biper_resnet", example_input=f"{_MODULE}:example_input",
        num_params=hp["num_params"],
        default_config={"variant": variant, "num_classes": hp["num_classes"], "freq": 20.0, "stage": 2},
        # ImageNet stems reduce by 4, the CIFAR ones keep the input size; each later stage halves it
        features=tuple(FeatureLevel(f"layer{i + 1}", width, (4 if hp["dataset"] == "imagenet" else 1) * 2**i)
                       for i, width in enumerate(hp["widths"])),
        explain_layer="layer3" if len(hp["layers"]) == 3 else "layer4",
        input_shape=("[B, 3, H, W] float, normalised; H, W >= 32 (ImageNet nets), multiples of 4 (ResNet-20) "
                     "or 8 (CIFAR ResNet-18)"),
        tags=("cnn", "resnet", "binary", "1-bit", "efficient", hp["dataset"]),
        license="MIT",
        recipes=RECIPES[hp["dataset"]],
        description=(f"BiPer binary ResNet-{depth} ({on}): 1-bit weights sign(sin(20 w)) with the sine's "
                     f"gradient, 1-bit activations, FP stem and classifier "
                     f"(reported {on} top-1 {hp['top1']}%)."),
    )


MODELS = tuple(_spec(variant, hp) for variant, hp in VARIANTS.items())
