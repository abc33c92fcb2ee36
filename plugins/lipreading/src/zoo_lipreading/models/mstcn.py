"""MS-TCN lipreader (Martinez et al., arXiv:2001.08702, as configured in mpc001's code): the
5x7x7-stem ResNet-18 front-end, the multi-scale multi-branch TCN, mean over time, a classifier.

Input ``[B, 1, T, H, W]`` (and ``boundaries [B, T]`` with ``use_boundary``); output ``[B, num_classes]``.
"""

from __future__ import annotations

from zoo.errors import ConfigError
from zoo_lipreading.blocks import Lipreader, MSTCNBackend, VisualFrontend
from zoo_lipreading.models.frontend_specs import FEATURES, FRONTENDS
from zoo_lipreading.models.mstcn_specs import VARIANTS
from zoo_lipreading.models.td3net import example_input

__all__ = ["build_mstcn", "example_input"]


def build_mstcn(variant: str = "lrw", num_classes: int = 500, use_boundary: bool = False) -> Lipreader:
    if variant not in VARIANTS:
        raise ConfigError(f"MS-TCN variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    size = VARIANTS[variant]
    frontend = VisualFrontend(**FRONTENDS["mpc001"])
    width = size["hidden"] * len(size["kernels"]) * size["width_mult"]
    backend = MSTCNBackend(FEATURES + int(use_boundary), width, size["num_layers"], size["kernels"], size["dropout"],
                           FRONTENDS["mpc001"]["act"])
    return Lipreader(frontend, backend, num_classes, use_boundary)
