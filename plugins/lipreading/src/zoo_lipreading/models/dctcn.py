"""DC-TCN lipreader (Ma et al., arXiv:2009.14233, as configured in mpc001's code): the 5x7x7-stem
ResNet-18 front-end, the densely connected TCN, mean over time, a classifier.

Input ``[B, 1, T, H, W]`` (and ``boundaries [B, T]`` with ``use_boundary``); output ``[B, num_classes]``.
"""

from __future__ import annotations

from zoo.errors import ConfigError
from zoo_lipreading.blocks import DCTCNBackend, Lipreader, VisualFrontend
from zoo_lipreading.models.dctcn_specs import VARIANTS
from zoo_lipreading.models.frontend_specs import FEATURES, FRONTENDS
from zoo_lipreading.models.td3net import example_input

__all__ = ["build_dctcn", "example_input"]


def build_dctcn(variant: str = "lrw", num_classes: int = 500, use_boundary: bool = False) -> Lipreader:
    if variant not in VARIANTS:
        raise ConfigError(f"DC-TCN variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    frontend = VisualFrontend(**FRONTENDS["mpc001"])
    backend = DCTCNBackend(FEATURES + int(use_boundary), act=FRONTENDS["mpc001"]["act"], **VARIANTS[variant])
    return Lipreader(frontend, backend, num_classes, use_boundary)
