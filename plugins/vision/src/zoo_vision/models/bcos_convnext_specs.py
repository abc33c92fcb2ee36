"""B-cos ConvNeXts (B-cos v2): what the family is, without torch.

``VARIANTS`` holds each size's stages; :mod:`zoo_vision.models.bcos_convnext` builds from the same
dict. torchvision's ConvNeXt layout as the authors' ``bcos/models/convnext.py`` with their default
("pn") norm — the configuration of the released ``convnext_tiny`` / ``convnext_base``
(``experiments/ImageNet/bcos_final_long``, ``convnext_<size>_pn``): B-cos convs (B = 2, the 7x7
depthwise one grouped), bias-free channel LayerNorms (eps 1e-6) whose variance is detached in
explanation mode, no GELU, layer scale 1e-6, the classifier (norm + 1x1 B-cos conv) before global
average pooling, logit bias ``-log(C - 1)``, a 6-channel input in [0, 1].
"""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec
from zoo_vision.models.bcos_resnet_specs import PAPER, RECIPES  # one ImageNet recipe for every B-cos CNN

# widths/depths per stage; drop_path: the authors' default stochastic-depth rate per size.
# num_params: 1000 classes, 6 input channels, as the authors' constructors count them (meta device);
# their README: 28.54M and 88.47M. top1: the README's ImageNet top-1 (the "_pn" checkpoints).
VARIANTS = {
    "tiny": {"widths": [96, 192, 384, 768], "depths": [3, 3, 9, 3], "drop_path": 0.1, "num_params": 28_543_392,
             "top1": 77.488},
    "base": {"widths": [128, 256, 512, 1024], "depths": [3, 3, 27, 3], "drop_path": 0.5, "num_params": 88_466_304,
             "top1": 79.650},
}

_MODULE = "zoo_vision.models.bcos_convnext"




def _spec(variant: str, hp: dict) -> ModelSpec:
    return ModelSpec(
        name=f"bcos-convnext-{variant}", domain="vision", task="classification", paper=PAPER, recipes=RECIPES,
        builder=f"{_MODULE}:build_bcos_convnext", example_input=f"{_MODULE}:example_input",
        num_params=hp["num_params"],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 6, "b": 2.0, "max_out": 1,
                        "drop_path": hp["drop_path"]},
        # features.0/1 are the stem's conv and norm, then each stage's blocks, then its downsampling.
        features=tuple(FeatureLevel(f"features.{2 + 2 * i}", width, 4 * 2**i) for i, width in enumerate(hp["widths"])),
        explain_layer="features.8",  # the last stage
        tags=("cnn", "convnext", "b-cos", "interpretable", "imagenet"),
        license="Apache-2.0",
        description=(f"B-cos ConvNeXt-{variant}: B = 2 alignment convolutions and detachable channel "
                     f"LayerNorms, explained by 'bcos-contributions'; input [r,g,b,1-r,1-g,1-b] in [0, 1] "
                     f"(reported ImageNet top-1 {hp['top1']}%)."),
    )


MODELS = tuple(_spec(variant, hp) for variant, hp in VARIANTS.items())
