"""B-cos DenseNets (B-cos v2): what the family is, without torch.

``VARIANTS`` holds each depth's hyper-parameters; :mod:`zoo_vision.models.bcos_densenet` builds
from the same dict. torchvision's DenseNet-BC layout in the authors' ImageNet configuration
(B-cos/B-cos-v2, ``experiments/ImageNet/bcos_final``): B-cos convs (B = 2, no MaxOut), uncentred
bias-free batch norms, no ReLU, a 3x3 average pool in the stem, the classifier a 1x1 B-cos conv
before global average pooling, logit bias ``-log(C - 1)``, a 6-channel input in [0, 1].
"""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec
from zoo_vision.models.bcos_resnet_specs import PAPER, RECIPES  # one ImageNet recipe for every B-cos CNN

# num_params: 1000 classes, 6 input channels, as the authors' constructors count them (meta device);
# their README: 7.95M, 14.08M, 19.91M, 28.58M. top1: the README's ImageNet top-1.
VARIANTS = {
    "121": {"growth_rate": 32, "block_config": [6, 12, 24, 16], "num_init_features": 64,
            "num_params": 7_945_440, "top1": 73.612},
    "169": {"growth_rate": 32, "block_config": [6, 12, 32, 32], "num_init_features": 64,
            "num_params": 14_078_688, "top1": 75.186},
    "201": {"growth_rate": 32, "block_config": [6, 12, 48, 32], "num_init_features": 64,
            "num_params": 19_907_808, "top1": 75.480},
    "161": {"growth_rate": 48, "block_config": [6, 12, 36, 24], "num_init_features": 96,
            "num_params": 28_584_144, "top1": 76.622},
}

_MODULE = "zoo_vision.models.bcos_densenet"


def _features(hp: dict) -> tuple[FeatureLevel, ...]:
    """Dense blocks 1-3 (strides 4, 8, 16; each transition halves the channels) and the final norm
    after block 4 (stride 32), as timm's DenseNet taps them."""
    levels, channels = [], hp["num_init_features"]
    for i, layers in enumerate(hp["block_config"]):
        channels += layers * hp["growth_rate"]
        last = i == len(hp["block_config"]) - 1
        levels.append(FeatureLevel("features.norm5" if last else f"features.denseblock{i + 1}", channels, 4 * 2**i))
        channels //= 2
    return tuple(levels)


def _spec(variant: str, hp: dict) -> ModelSpec:
    return ModelSpec(
        name=f"bcos-densenet-{variant}", domain="vision", task="classification", paper=PAPER, recipes=RECIPES,
        builder=f"{_MODULE}:build_bcos_densenet", example_input=f"{_MODULE}:example_input",
        num_params=hp["num_params"],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 6, "b": 2.0, "max_out": 1},
        features=_features(hp),
        explain_layer="features.norm5",
        tags=("cnn", "densenet", "b-cos", "interpretable", "imagenet"),
        license="Apache-2.0",
        description=(f"B-cos DenseNet-{variant}: B = 2 alignment convolutions, no ReLU, explained by "
                     f"'bcos-contributions'; input [r,g,b,1-r,1-g,1-b] in [0, 1] "
                     f"(reported ImageNet top-1 {hp['top1']}%)."),
    )


MODELS = tuple(_spec(variant, hp) for variant, hp in VARIANTS.items())
