"""Meta-SpikeFormer, what the family is (torch-free): the paper, the sizes and the registered models.

Yao et al., "Spike-driven Transformer V2: Meta Spiking Neural Network Architecture Inspiring the
Design of Next-generation Neuromorphic Chips", ICLR 2024, arXiv:2404.03663. The architecture is
:mod:`zoo_spiking.models.spikeformer`, which reads the same ``VARIANTS``.
"""

from __future__ import annotations

from zoo.specs import ModelSpec, Paper
from zoo.training.recipe import TrainRecipe

PAPER = Paper(
    "Spike-driven Transformer V2: Meta Spiking Neural Network Architecture Inspiring the Design of "
    "Next-generation Neuromorphic Chips",
    arxiv="2404.03663", venue="ICLR 2024", code="https://github.com/BICLab/Spike-Driven-Transformer-V2",
)

# The four stage widths of each size, and its parameter count (1000 classes) from the authors' class.
VARIANTS: dict[str, dict] = {
    "15m": dict(embed_dim=[64, 128, 256, 360]),
    "31m": dict(embed_dim=[96, 192, 384, 480]),
    "55m": dict(embed_dim=[128, 256, 512, 640]),
}
_PARAMS = {"15m": 15_112_208, "31m": 31_333_864, "55m": 55_350_248}

_MODULE = "zoo_spiking.models.spikeformer"

# Stage 1 of the authors' ImageNet training (main_finetune.py and train.sh of BICLab/Spike-Driven-Transformer-V2):
# T = 1, timm's LAMB with weight decay 0.05, base lr 6e-4 x batch / 256 = 2.4e-3 at 128 x 8 GPUs = 1024, 10 warm-up
# epochs then half-cosine to 1e-6, 200 epochs, label smoothing 0.1, AMP.
IMAGENET_RECIPE = TrainRecipe(
    name="imagenet", optimiser="lamb", lr=2.4e-3, momentum=0.9, beta2=0.999, weight_decay=0.05, epochs=200,
    batch_size=1024, schedule="cosine", warmup_epochs=10, min_lr=1e-6, label_smoothing=0.1,
    augmentation="resized-crop-flip", precision="fp16", source=PAPER,
    notes="RandAugment m9 and random erasing 0.25 are left out; stage 2 (T = 4, hard distillation from "
          "CAFormer-B36, 20 epochs at 1e-5) needs knowledge distillation, which is not a recipe field",
)

MODELS: tuple[ModelSpec, ...] = tuple(
    ModelSpec(
        name=f"meta-spikeformer-{variant}", domain="spiking", task="image-classification", paper=PAPER,
        builder=f"{_MODULE}:build_spikeformer", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=_PARAMS[variant],
        # spiking_head: head(lif(x)), the authors' code since their commit d95ad13 (see the model's docstring)
        default_config=dict(variant=variant, num_heads=8, in_channels=3, num_classes=1000, T=1, spiking_head=True),
        explain_layer="block4.1", explain_reshape="zoo.explainers.reshapes:time_major",
        tags=("snn", "transformer", "imagenet"), recipes=(IMAGENET_RECIPE,),
        description=f"Meta-SpikeFormer ({_PARAMS[variant] / 1e6:.2f}M, 6+2 spike-driven transformer blocks): "
                    "[B, 3, H, W] images (or [B, T, C, H, W] frames) -> [B, 1000]; T time steps in the config.",
    )
    for variant in VARIANTS
)
