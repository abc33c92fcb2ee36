"""B-cos Simple ViTs (B-cos v2): what the family is, without torch.

``VARIANTS`` holds each size; :mod:`zoo_vision.models.bcos_vit` builds from the same dict. The
authors' ``vit_final`` configuration (B-cos/B-cos-v2, ``bcos/models/vit.py``): lucidrains' Simple
ViT (patch 16 linear embedding of ``(p1 p2 c)`` pixels, fixed 2-D sin-cos positional embedding,
pre-norm blocks, mean pooling), every linear layer a B-cos linear (B = 2) except ``to_qkv`` (plain,
bias-free; q and k are detached in explanation mode), no activation in the MLP, bias-free
detachable LayerNorms, logit bias ``log(1 / (C - 1))``, a 6-channel input in [0, 1].
"""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, TrainRecipe
from zoo_vision.models.bcos_resnet_specs import PAPER

# num_params: 1000 classes, 6 input channels, as the authors' constructors count them (meta device);
# README: 5.80M, 22.28M (sic: 22.22M here), 86.90M, 178.79M; ViT-C 5.32M, 20.88M, 81.37M (sic: 81.33M
# here), 167.44M. top1: the README's ImageNet top-1.
_STEM_SMALL = [64, 128, 128, 256, 256, 512]
VARIANTS = {
    "simple-vit-ti": {"dim": 192, "depth": 12, "heads": 3, "mlp_dim": 768, "patch_size": 16,
                      "num_params": 5_800_128, "top1": 59.96},
    "simple-vit-s": {"dim": 384, "depth": 12, "heads": 6, "mlp_dim": 1536, "patch_size": 16,
                     "num_params": 22_217_088, "top1": 69.25},
    "simple-vit-b": {"dim": 768, "depth": 12, "heads": 12, "mlp_dim": 3072, "patch_size": 16,
                     "num_params": 86_901_504, "top1": 74.41},
    "simple-vit-l": {"dim": 1024, "depth": 14, "heads": 16, "mlp_dim": 4096, "patch_size": 16,
                     "num_params": 178_787_328, "top1": 75.06},
    # ViT-C: a conv stem (3x3 B-cos convs, stride 2 where the width grows: 16x down) and 1x1 patches;
    # one block fewer for the stem, as the authors (Xiao et al., arXiv:2106.14881)
    "vitc-ti": {"dim": 192, "depth": 11, "heads": 3, "mlp_dim": 768, "patch_size": 1, "conv_stem": [24, 48, 96, 192],
                "num_params": 5_318_712, "top1": 67.26},
    "vitc-s": {"dim": 384, "depth": 11, "heads": 6, "mlp_dim": 1536, "patch_size": 1, "conv_stem": [48, 96, 192, 384],
               "num_params": 20_878_704, "top1": 74.50},
    "vitc-b": {"dim": 768, "depth": 11, "heads": 12, "mlp_dim": 3072, "patch_size": 1, "conv_stem": _STEM_SMALL,
               "num_params": 81_326_016, "top1": 77.15},
    "vitc-l": {"dim": 1024, "depth": 13, "heads": 16, "mlp_dim": 4096, "patch_size": 1, "conv_stem": _STEM_SMALL,
               "num_params": 167_444_160, "top1": 77.78},
}

_MODULE = "zoo_vision.models.bcos_vit"


def _recipe(variant: str) -> TrainRecipe:
    """B-cos v2's ViT configuration (``experiments/ImageNet/vit_final``, arXiv:2306.10898): Adam lr 1e-3, 90 epochs
    cosine, the uniform-off-label BCE; batch 128 x 8 GPUs with a 10k-step warm-up, halved batch and 50k steps
    for the big ones (B, L). Warm-up steps are given as epochs of ImageNet's 1,281,167 images."""
    big = variant.endswith(("-b", "-l"))
    batch = 512 if big else 1024
    return TrainRecipe(
        name="imagenet", optimiser="adam", lr=1e-3, momentum=0.9, beta2=0.999, epochs=90, batch_size=batch,
        schedule="cosine", warmup_epochs=round((50_000 if big else 10_000) * batch / 1_281_167, 2),
        loss="zoo_vision.training:uniform_off_label_bce", augmentation="resized-crop-flip",
        prepare="zoo_vision.training:add_inverse", source=PAPER,
        notes="RandAugment m10 and mixup 0.2 are left out",
    )


def _spec(variant: str, hp: dict) -> ModelSpec:
    return ModelSpec(
        name=f"bcos-{variant}", domain="vision", task="classification", paper=PAPER, recipes=(_recipe(variant),),
        builder=f"{_MODULE}:build_bcos_vit", example_input=f"{_MODULE}:example_input",
        num_params=hp["num_params"],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 6, "b": 2.0},
        # Encoders a quarter of the depth apart, all at stride 16 (patch 16, or the ViT-C stem's 16x).
        features=tuple(FeatureLevel(f"0.transformer.encoder_{hp['depth'] * k // 4 - 1}", hp["dim"], 16, prefix_tokens=0)
                       for k in range(1, 5)),
        explain_layer="0.transformer",
        explain_reshape="zoo.explainers.reshapes:patch_tokens",
        tags=("vit", "transformer", "b-cos", "interpretable", "imagenet"),
        license="Apache-2.0",
        description=(f"B-cos {variant}: B-cos linear layers, detached q/k attention, "
                     f"explained by 'bcos-contributions' (the positional embedding's share is not in the map); "
                     f"input [r,g,b,1-r,1-g,1-b] in [0, 1] (reported ImageNet top-1 {hp['top1']}%)."),
    )


MODELS = tuple(_spec(variant, hp) for variant, hp in VARIANTS.items())
