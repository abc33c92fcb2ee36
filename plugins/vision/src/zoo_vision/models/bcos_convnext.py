"""B-cos ConvNeXts: ConvNeXt blocks of B-cos convolutions and detachable channel LayerNorms.

Böhle, Singh, Fritz & Schiele, "B-cos Alignment for Inherently Interpretable CNNs and Vision
Transformers", TPAMI 2024, arXiv:2306.10898; code github.com/B-cos/B-cos-v2
(``bcos/models/convnext.py``); ConvNeXt: Liu et al., arXiv:2201.03545. Sizes in
:mod:`zoo_vision.models.bcos_convnext_specs`.

Input ``[B, in_chans, H, W]``, by default ``[r, g, b, 1-r, 1-g, 1-b]`` in [0, 1], at least 32 x 32
and a multiple of 32 (the 4x4 stem and three 2x2 downsamplings); output logits ``[B, num_classes]``.
Module names are the authors' (torchvision's ``features.<i>``, ``block.<j>``, ``layer_scale``,
``classifier``, ``logit_layer``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

import zoo
from zoo.errors import ConfigError
from zoo_vision.blocks.bcos import BcosConv2d, DetachablePositionNorm2d, LogitLayer
from zoo_vision.blocks.drop_path import DropPath
from zoo_vision.models.bcos_convnext_specs import VARIANTS
from zoo_vision.models.bcos_resnet import MIN_SIZE
from zoo_vision.models.bcos_resnet import example_input as example_input  # the same 6-channel image

EPS = 1e-6


class CNBlock(nn.Module):
    """7x7 depthwise B-cos conv -> norm -> 1x1 up (4x) -> 1x1 down, layer scale, residual (no GELU)."""

    def __init__(self, dim: int, layer_scale: float, drop_path: float, conv):
        super().__init__()
        self.block = nn.Sequential(
            conv(dim, dim, 7, padding=3, groups=dim), DetachablePositionNorm2d(dim, EPS),
            conv(dim, 4 * dim, 1), conv(4 * dim, dim, 1),
        )
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.stochastic_depth = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stochastic_depth(self.layer_scale * self.block(x)) + x


class BcosConvNeXt(nn.Module):
    """A B-cos ConvNeXt; see the module docstring for shapes."""

    def __init__(self, *, widths: list[int], depths: list[int], drop_path: float = 0.0, layer_scale: float = 1e-6,
                 num_classes: int = 1000, in_chans: int = 6, b: float = 2.0, max_out: int = 1,
                 logit_bias: float | None = None):
        super().__init__()
        if num_classes < 2:
            raise ConfigError(f"bcos-convnext: num_classes must be at least 2, got {num_classes}")
        self.in_chans = in_chans

        def conv(cin: int, cout: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 groups: int = 1) -> BcosConv2d:
            return BcosConv2d(cin, cout, kernel_size, stride, padding, groups=groups, b=b, max_out=max_out)

        layers: list[nn.Module] = [conv(in_chans, widths[0], 4, 4), DetachablePositionNorm2d(widths[0], EPS)]
        total, index = sum(depths), 0
        for stage, (width, depth) in enumerate(zip(widths, depths)):
            blocks = []
            for _ in range(depth):  # the rate grows linearly from 0 at the first block to drop_path at the last
                blocks.append(CNBlock(width, layer_scale, drop_path * index / (total - 1.0), conv))
                index += 1
            layers.append(nn.Sequential(*blocks))
            if stage + 1 < len(widths):
                layers.append(nn.Sequential(DetachablePositionNorm2d(width, EPS), conv(width, widths[stage + 1], 2, 2)))
        self.features = nn.Sequential(*layers)
        self.num_features = widths[-1]
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(DetachablePositionNorm2d(widths[-1], EPS), conv(widths[-1], num_classes, 1))
        self.logit_layer = LogitLayer(None, -math.log(num_classes - 1) if logit_bias is None else logit_bias)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=getattr(self, "zoo_name", "bcos-convnext"),
                         divisible_by={"H": MIN_SIZE, "W": MIN_SIZE})
        out = self.classifier(self.features(x))
        return self.logit_layer(self.avgpool(out).flatten(1))


def build_bcos_convnext(variant: str = "tiny", num_classes: int = 1000, in_chans: int = 6, b: float = 2.0,
                        max_out: int = 1, drop_path: float | None = None,
                        logit_bias: float | None = None) -> BcosConvNeXt:
    """A B-cos ConvNeXt of size ``variant`` ("tiny" or "base"); ``drop_path`` None: the authors' rate."""
    if variant not in VARIANTS:
        raise ConfigError(f"bcos-convnext: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    hp = VARIANTS[variant]
    return BcosConvNeXt(widths=hp["widths"], depths=hp["depths"],
                        drop_path=hp["drop_path"] if drop_path is None else drop_path, num_classes=num_classes,
                        in_chans=in_chans, b=b, max_out=max_out, logit_bias=logit_bias)
