"""TD3Net for word-level lipreading (Lee et al., arXiv:2506.16073): the 3x7x7-stem ResNet-18
front-end, a TD3Net back-end, mean over time, a linear classifier.

Input ``[B, 1, T, H, W]`` (LRW: T=29, H=W=88) and, for ``use_boundary``, ``boundaries [B, T]``;
output ``[B, num_classes]``. The class count is a config (LRW 500, LRW-1000 1000): the authors'
code fixes it at 500.
"""

from __future__ import annotations

import torch

from zoo.errors import ConfigError
from zoo_lipreading.blocks import Lipreader, TD3Backend, VisualFrontend
from zoo_lipreading.models.frontend_specs import FEATURES, FRONTENDS
from zoo_lipreading.models.td3net_specs import VARIANTS


def build_td3net(variant: str = "base", num_classes: int = 500, use_boundary: bool = False,
                 dropout: float | None = None) -> Lipreader:
    """``dropout`` overrides the variant's (the authors' LRW-1000 "best" config uses 0.1)."""
    if variant not in VARIANTS:
        raise ConfigError(f"TD3Net variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    size = dict(VARIANTS[variant])
    if dropout is not None:
        size["dropout"] = dropout
    frontend = VisualFrontend(**FRONTENDS["td3net"])
    return Lipreader(frontend, TD3Backend(FEATURES + int(use_boundary), **size), num_classes, use_boundary)


def example_input(config: dict):
    x = torch.randn(1, 1, 4, 32, 32)
    if config.get("use_boundary"):
        return x, torch.tensor([[0.0, 1.0, 1.0, 0.0]])
    return x
