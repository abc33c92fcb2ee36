"""Meta-SpikeFormer, what the family is (torch-free): the paper, the sizes and the registered models.

Yao et al., "Spike-driven Transformer V2: Meta Spiking Neural Network Architecture Inspiring the
Design of Next-generation Neuromorphic Chips", ICLR 2024, arXiv:2404.03663. The architecture is
:mod:`zoo_spiking.models.spikeformer`, which reads the same ``VARIANTS``.
"""

from __future__ import annotations

from zoo.specs import ModelSpec, Paper

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

MODELS: tuple[ModelSpec, ...] = tuple(
    ModelSpec(
        name=f"meta-spikeformer-{variant}", domain="spiking", task="image-classification", paper=PAPER,
        builder=f"{_MODULE}:build_spikeformer", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=_PARAMS[variant],
        # spiking_head: head(lif(x)), the authors' code since their commit d95ad13 (see the model's docstring)
        default_config=dict(variant=variant, num_heads=8, in_channels=3, num_classes=1000, T=1, spiking_head=True),
        explain_layer="block4.1", explain_reshape="zoo.explainers.reshapes:time_major",
        tags=("snn", "transformer", "imagenet"),
        description=f"Meta-SpikeFormer ({_PARAMS[variant] / 1e6:.2f}M, 6+2 spike-driven transformer blocks): "
                    "[B, 3, H, W] images (or [B, T, C, H, W] frames) -> [B, 1000]; T time steps in the config.",
    )
    for variant in VARIANTS
)
