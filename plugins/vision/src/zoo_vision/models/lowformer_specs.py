"""LowFormer B0 / B1 / B1.5 / B3: what the family is, without torch.

``VARIANTS`` holds each size; :mod:`zoo_vision.models.lowformer` builds from it. The sizes are the
released ones (altair199797/LowFormer ``lowformer_model.py`` and ``configs/cls/imagenet/b*.yaml``):
``fastit`` on (the fused form, our ``fused=True``), ``bb_convattention`` and ``bb_convin2`` on (the
lower-resolution attention followed by an MLP), ``bigit`` (an expansion of 6 in the downsampling
blocks of stages 1-4) on B1, B1.5 and B3, ``huge_model`` (expansion 4 in the stem's local block) on B3,
``bighead`` (a 2304-2560 classifier head instead of 1536-1600) on B1.5.
"""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="LowFormer: Hardware Efficient Design for Convolutional Transformer Backbones",
    arxiv="2409.03460", venue="WACV 2025", code="https://github.com/altair199797/LowFormer",
)

# widths / depths of the stem and the four stages (a depth counts the stem's local blocks, the MBConvs of
# stages 1-2, and the LowFormer blocks of stages 3-4 after their downsampling MBConv); head: the 1x1 conv
# and hidden linear widths. num_params: 1000 classes, fused, from the authors' constructors (run on the meta
# device); the README rounds them to 14.1 / 17.9 / 33.9 (sic: 33.98) / 57.1 M. top1 and macs: README.
VARIANTS = {
    "b0": {"widths": [16, 32, 64, 128, 256], "depths": [0, 1, 1, 3, 4], "down_expand": 4, "stem_expand": 2,
           "head": [1536, 1600], "num_params": 14_100_472, "top1": 78.4, "macs": "944M"},
    "b1": {"widths": [16, 32, 64, 128, 256], "depths": [0, 1, 1, 5, 5], "down_expand": 6, "stem_expand": 2,
           "head": [1536, 1600], "num_params": 17_936_312, "top1": 79.9, "macs": "1.41G"},
    "b15": {"widths": [20, 40, 80, 160, 320], "depths": [0, 1, 1, 6, 6], "down_expand": 6, "stem_expand": 2,
            "head": [2304, 2560], "num_params": 33_982_028, "top1": 81.2, "macs": "2.57G"},
    "b3": {"widths": [32, 64, 128, 256, 512], "depths": [1, 2, 3, 6, 6], "down_expand": 6, "stem_expand": 4,
           "head": [1536, 1600], "num_params": 57_086_920, "top1": 83.6, "macs": "6.10G"},
}
DISPLAY = {"b0": "B0", "b1": "B1", "b15": "B1.5", "b3": "B3"}

# The authors' ImageNet recipe (configs/cls/imagenet/default.yaml + b*.yaml, train_cls_model.py): AdamW
# (betas 0.9/0.999, eps 1e-8), weight decay 0.1 (none on norms and biases), 300 epochs, 20 warm-up epochs
# from 0, cosine, label smoothing 0.1, gradient clipping 2.0, EMA 0.9998, random-resized crops at a random
# resolution of 128-224 px. The config's lr and batch are per GPU (the trainer multiplies the lr by the
# number of GPUs) and bsizemult accumulates gradients (multiplying both): the values below are one GPU's.
_COMMON = ("AdamW without weight decay on norms/biases, BCE on mixup/cutmix-smoothed targets, random input "
           "resolution 128-224 px, RandAugment; with N GPUs the authors scale lr and batch by N")
_RUN = {  # lr, batch, micro-batch, what the variant adds
    "b0": (0.000332, 170, None, "mixup/cutmix 0.1, RandAugment n1 m3, drop path 0.05"),
    "b1": (0.00025, 128, None, "mixup/cutmix 0.1, RandAugment n1 m3, drop path 0.05"),
    "b15": (0.000166, 170, None, "mixup/cutmix 0.3, RandAugment n2 m6, drop path 0.1"),
    "b3": (0.000094 * 4, 75 * 4, 75, "bsizemult 4, mixup/cutmix 0.2, RandAugment n2 m5, random erasing 0.2, "
                                       "MESA 0.25, drop path 0.1"),
}


def _recipe(variant: str) -> TrainRecipe:
    lr, batch, micro, extra = _RUN[variant]
    return TrainRecipe(name="imagenet", optimiser="adamw", lr=lr, epochs=300, batch_size=batch, micro_batch=micro,
                       weight_decay=0.1, momentum=0.9, beta2=0.999, schedule="cosine", warmup_epochs=20,
                       label_smoothing=0.1, augmentation="resized-crop-flip", grad_clip=2.0, ema_decay=0.9998,
                       source=PAPER, notes=f"{_COMMON}; {extra}")


_MODULE = "zoo_vision.models.lowformer"


def _spec(variant: str, hp: dict) -> ModelSpec:
    return ModelSpec(
        name=f"lowformer-{variant}", domain="vision", task="classification", paper=PAPER,
        builder=f"{_MODULE}:build_lowformer", example_input=f"{_MODULE}:example_input",
        num_params=hp["num_params"],
        default_config={"variant": variant, "num_classes": 1000, "fused": True},
        features=tuple(FeatureLevel(f"backbone.stages.{i}", width, 4 * 2**i)
                       for i, width in enumerate(hp["widths"][1:])),
        explain_layer="backbone.stages.3",
        input_shape="[B, 3, H, W] float, ImageNet-normalised; H, W >= 32 (224 for the reported figures)",
        tags=("hybrid", "attention", "efficient", "imagenet"),
        license="Apache-2.0",
        recipes=(_recipe(variant),),
        description=(f"LowFormer-{DISPLAY[variant]}: (fused) MBConv stages, then attention at a lower "
                     f"resolution (strided depthwise conv in, transposed conv out); {hp['macs']} MACs at 224 px, "
                     f"reported ImageNet top-1 {hp['top1']}%."),
    )


MODELS = tuple(_spec(variant, hp) for variant, hp in VARIANTS.items())
