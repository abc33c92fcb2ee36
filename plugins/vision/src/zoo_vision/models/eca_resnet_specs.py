"""ECA-Net (ECA-ResNets): what the family is, without torch.

``VARIANTS`` holds each size's hyper-parameters; :mod:`zoo_vision.models.eca_resnet` builds
from the same dict. The five ``eca-resnet-<depth>`` models are the authors' (BangguWu/ECANet:
torchvision ResNet layout, one ECA module after the last BN of every residual branch, the
released kernel sizes per stage). The three others are timm's ECA ResNets whose ImageNet
weights are pinned: ResNet-D style (average-pool shortcut), ``light`` with a 7x7 stem and
[1, 1, 11, 3] blocks, ``50t`` with a tiered deep stem, ``101d-pruned`` with the channel widths
of the pruned checkpoint (arXiv:2002.08258); their ECA kernels follow the paper's
``psi(C)`` of the unpruned widths (5, 5, 5, 7).
"""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper, TrainRecipe, WeightsSpec

PAPER = Paper(
    title="ECA-Net: Efficient Channel Attention for Deep Convolutional Neural Networks",
    arxiv="1910.03151", venue="CVPR 2020", code="https://github.com/BangguWu/ECANet",
)

_BASIC = {"block": "basic", "stem": "7x7", "stem_width": 64, "avg_down": False}
_BOTTLENECK = {"block": "bottleneck", "stem": "7x7", "stem_width": 64, "avg_down": False}
_TIMM_KERNELS = [5, 5, 5, 7]

# The 101-D pruned checkpoint's widths: [conv1, conv2] outputs of every bottleneck, and each
# stage's output width (conv3, shortcut) - read from the shapes of timm's pruned model.
_PRUNED_101D = {
    "mid_widths": [
        [[45, 25], [53, 20], [60, 27]],
        [[81, 24], [93, 49], [102, 54], [122, 78]],
        [[101, 25], [239, 160], [234, 156], [250, 176], [253, 191], [251, 175], [230, 128], [244, 154],
         [244, 159], [238, 97], [244, 149], [253, 181], [245, 119], [255, 216], [256, 201], [253, 149],
         [254, 141], [256, 190], [256, 217], [255, 156], [256, 155], [256, 232], [256, 214]],
        [[499, 289], [512, 512], [512, 502]],
    ],
    "out_widths": [26, 142, 278, 2042],
}

# num_params: 1000 classes. The authors' five: torchvision's ResNet plus one k-weight per ECA
# module (ECA-R50 = 25,557,032 + 80 = 25,557,112); timm's three: timm's own counts.
VARIANTS = {
    "18": {**_BASIC, "layers": [2, 2, 2, 2], "kernel_sizes": [3, 5, 7, 7], "num_params": 11_689_556,
           "top1": 70.92},
    "34": {**_BASIC, "layers": [3, 4, 6, 3], "kernel_sizes": [3, 3, 5, 7], "num_params": 21_797_744,
           "top1": 74.21},
    "50": {**_BOTTLENECK, "layers": [3, 4, 6, 3], "kernel_sizes": [3, 5, 5, 7], "num_params": 25_557_112,
           "top1": 77.42},
    "101": {**_BOTTLENECK, "layers": [3, 4, 23, 3], "kernel_sizes": [3, 3, 5, 7], "num_params": 44_549_317,
            "top1": 78.65},
    "152": {**_BOTTLENECK, "layers": [3, 8, 36, 3], "kernel_sizes": [3, 3, 5, 7], "num_params": 60_193_042,
            "top1": 78.92},
    "light": {"block": "bottleneck", "stem": "7x7", "stem_width": 64, "avg_down": True, "layers": [1, 1, 11, 3],
              "kernel_sizes": _TIMM_KERNELS, "num_params": 30_162_046},
    "50t": {"block": "bottleneck", "stem": "deep-tiered", "stem_width": 32, "avg_down": True,
            "layers": [3, 4, 6, 3], "kernel_sizes": _TIMM_KERNELS, "num_params": 25_573_814},
    "101d-pruned": {"block": "bottleneck", "stem": "deep", "stem_width": 32, "avg_down": True,
                    "layers": [3, 4, 23, 3], "kernel_sizes": _TIMM_KERNELS, "num_params": 24_876_040,
                    **_PRUNED_101D},
}

_MODULE = "zoo_vision.models.eca_resnet"
_IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
_CONVERTER = f"{_MODULE}:from_timm"

# timm's ImageNet checkpoints (weights-pins.md): key names are timm's, so ``from_timm`` renames
# the ECA modules (timm ``se``, ours ``eca`` as in the authors' code). Top-1 as on the model
# card's comparison table, measured at the test size (``test_input_size``, ``test_crop_pct``).
# timm/ecaresnet101d_pruned.miil_in1k is not pinned: only a short commit id was seen.
WEIGHTS = {
    "light": (
        WeightsSpec(
            tag="miil-in1k", repo_id="timm/ecaresnetlight.miil_in1k",
            revision="d57559ec821fa2f1430105aa7ad995bd898bd5fd",
            sha256="92f800972b771f6f39623c6144bb70f9b3189d1f21ca605bc605b4dc078b4fa0",
            dataset="imagenet-1k", metrics={"top1": 81.4}, license="apache-2.0", converter=_CONVERTER,
            preprocessing={"input_size": 224, "crop_pct": 0.875, "interpolation": "bicubic", **_IMAGENET,
                           "test_input_size": 288, "test_crop_pct": 0.95},
            description="timm's ecaresnetlight (Alibaba MIIL ImageNet-1k training).",
        ),
    ),
    "50t": (
        WeightsSpec(
            tag="a3-in1k", repo_id="timm/ecaresnet50t.a3_in1k",
            revision="798f353fcdef6796db1cf058f78e488332e5ef54",
            sha256="af23a9b312e1c99460fd25d3d7551d7e07344a5b9691a9a772754fefcefde178",
            dataset="imagenet-1k", metrics={"top1": 79.56}, license="apache-2.0", converter=_CONVERTER,
            preprocessing={"input_size": 160, "crop_pct": 0.95, "interpolation": "bicubic", **_IMAGENET,
                           "test_input_size": 224, "test_crop_pct": 0.95},
            description="timm's ecaresnet50t, 'ResNet strikes back' A3 recipe (trained at 160 x 160).",
        ),
    ),
}


# ECA-Net's ImageNet recipe (the authors' train script, the torchvision ImageNet example's defaults): SGD lr 0.1,
# momentum 0.9, weight decay 1e-4, batch 256, 100 epochs, lr x0.1 every 30 epochs, RandomResizedCrop + flip.
RECIPES = (TrainRecipe(
    name="imagenet", optimiser="sgd", lr=0.1, momentum=0.9, weight_decay=1e-4, epochs=100, batch_size=256,
    schedule="step", step_epochs=30, gamma=0.1, augmentation="resized-crop-flip", source=PAPER,
),)
_AUTHORS = ("18", "34", "50", "101", "152")
# timm's three were trained with timm's own recipes, which their model cards do not state; they get the paper's
TIMM_RECIPES = (RECIPES[0].replace(notes="the paper's recipe; timm trained this checkpoint with its own, unpublished "
                                         "one"),)
def _features(hp: dict) -> tuple[FeatureLevel, ...]:
    """layer1-4 at strides 4-32 (mmdet's ResNet out_indices 0-3)."""
    expansion = 4 if hp["block"] == "bottleneck" else 1
    widths = hp.get("out_widths") or [64 * 2**i * expansion for i in range(4)]
    return tuple(FeatureLevel(f"layer{i + 1}", width, 4 * 2**i) for i, width in enumerate(widths))


def _spec(variant: str, hp: dict) -> ModelSpec:
    authors = variant.isdigit()
    return ModelSpec(
        name=f"eca-resnet-{variant}", domain="vision", task="classification", paper=PAPER,
        recipes=RECIPES if variant in _AUTHORS else TIMM_RECIPES,
        builder=f"{_MODULE}:build_eca_resnet", example_input=f"{_MODULE}:example_input",
        num_params=hp["num_params"],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 3, "drop_rate": 0.0},
        weights=WEIGHTS.get(variant, ()),
        features=_features(hp),
        explain_layer="layer4",  # the last stage: 7 x 7 at 224, the usual Grad-CAM target of a ResNet
        tags=("cnn", "resnet", "channel-attention", "eca", "imagenet"),
        license="MIT" if authors else "apache-2.0",  # the authors' code; timm's weights
        description=(f"ECA-ResNet-{variant} as released by the authors (ECA kernel sizes "
                     f"{''.join(map(str, hp['kernel_sizes']))} per stage; reported ImageNet top-1 {hp['top1']}%)."
                     if authors else f"timm's ecaresnet{variant.replace('-', '_')}: a ResNet-D style ECA-ResNet."),
    )


MODELS = tuple(_spec(variant, hp) for variant, hp in VARIANTS.items())
