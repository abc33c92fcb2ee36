"""Inception-v4.

Szegedy et al., "Inception-v4, Inception-ResNet and the Impact of Residual Connections on
Learning", AAAI 2017, arXiv:1602.07261: the stem of Figure 3, then 4 x Inception-A (Fig. 4),
Reduction-A (Fig. 7, k=192, l=224, m=256, n=384), 7 x Inception-B (Fig. 5), Reduction-B
(Fig. 8), 3 x Inception-C (Fig. 6), global average pooling, dropout and a linear classifier.
Every convolution is conv (no bias) + BN (eps 1e-3, as the TF-Slim checkpoint) + ReLU;
convolutions marked "V" in the paper are unpadded.

Module names are those of the TF-Slim port that timm and Cadene's pretrainedmodels publish
(``features.<i>``, ``branch<j>``, ``last_linear``), so those checkpoints load with no renaming.

Input ``[B, in_chans, H, W]``: 299 x 299 in the paper, at least 75 x 75, normalised with mean
and std 0.5; output logits ``[B, num_classes]``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

import zoo
from zoo.errors import InputShapeError
from zoo_vision.models.inception_v4_specs import VARIANTS

MIN_SIZE = 75  # the stem's and the reductions' unpadded 3x3 convolutions need it to keep a 1 x 1 map


class ConvBNReLU(nn.Module):
    def __init__(self, cin: int, cout: int, kernel_size, stride: int = 1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu_(self.bn(self.conv(x)))


def _seq(*layers) -> nn.Sequential:
    return nn.Sequential(*layers)


def _pool_proj(cin: int, cout: int) -> nn.Sequential:
    """The average-pool branch of the Inception blocks (3x3, stride 1, padding not counted)."""
    return _seq(nn.AvgPool2d(3, 1, 1, count_include_pad=False), ConvBNReLU(cin, cout, 1))


class _Concat(nn.Module):
    """Runs the ``branch*`` children on the same input and concatenates them along channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], 1)


class Mixed3a(nn.Module):
    def __init__(self):
        super().__init__()
        self.maxpool = nn.MaxPool2d(3, 2)
        self.conv = ConvBNReLU(64, 96, 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.maxpool(x), self.conv(x)), 1)


class Mixed4a(_Concat):
    def __init__(self):
        super().__init__()
        self.branch0 = _seq(ConvBNReLU(160, 64, 1), ConvBNReLU(64, 96, 3))
        self.branch1 = _seq(ConvBNReLU(160, 64, 1), ConvBNReLU(64, 64, (1, 7), padding=(0, 3)),
                            ConvBNReLU(64, 64, (7, 1), padding=(3, 0)), ConvBNReLU(64, 96, 3))


class Mixed5a(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = ConvBNReLU(192, 192, 3, 2)
        self.maxpool = nn.MaxPool2d(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.conv(x), self.maxpool(x)), 1)


class InceptionA(_Concat):
    """35 x 35 grid, 384 -> 384 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = ConvBNReLU(384, 96, 1)
        self.branch1 = _seq(ConvBNReLU(384, 64, 1), ConvBNReLU(64, 96, 3, padding=1))
        self.branch2 = _seq(ConvBNReLU(384, 64, 1), ConvBNReLU(64, 96, 3, padding=1), ConvBNReLU(96, 96, 3, padding=1))
        self.branch3 = _pool_proj(384, 96)


class ReductionA(_Concat):
    """35 -> 17 grid, 384 -> 1024 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = ConvBNReLU(384, 384, 3, 2)
        self.branch1 = _seq(ConvBNReLU(384, 192, 1), ConvBNReLU(192, 224, 3, padding=1), ConvBNReLU(224, 256, 3, 2))
        self.branch2 = nn.MaxPool2d(3, 2)


class InceptionB(_Concat):
    """17 x 17 grid, 1024 -> 1024 channels, 7x7 factorised into 1x7 and 7x1."""

    def __init__(self):
        super().__init__()
        row, col = dict(kernel_size=(1, 7), padding=(0, 3)), dict(kernel_size=(7, 1), padding=(3, 0))
        self.branch0 = ConvBNReLU(1024, 384, 1)
        self.branch1 = _seq(ConvBNReLU(1024, 192, 1), ConvBNReLU(192, 224, **row), ConvBNReLU(224, 256, **col))
        self.branch2 = _seq(ConvBNReLU(1024, 192, 1), ConvBNReLU(192, 192, **col), ConvBNReLU(192, 224, **row),
                            ConvBNReLU(224, 224, **col), ConvBNReLU(224, 256, **row))
        self.branch3 = _pool_proj(1024, 128)


class ReductionB(_Concat):
    """17 -> 8 grid, 1024 -> 1536 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = _seq(ConvBNReLU(1024, 192, 1), ConvBNReLU(192, 192, 3, 2))
        self.branch1 = _seq(ConvBNReLU(1024, 256, 1), ConvBNReLU(256, 256, (1, 7), padding=(0, 3)),
                            ConvBNReLU(256, 320, (7, 1), padding=(3, 0)), ConvBNReLU(320, 320, 3, 2))
        self.branch2 = nn.MaxPool2d(3, 2)


class InceptionC(nn.Module):
    """8 x 8 grid, 1536 -> 1536 channels; two branches split into parallel 1x3 and 3x1 convolutions."""

    def __init__(self):
        super().__init__()
        row, col = dict(kernel_size=(1, 3), padding=(0, 1)), dict(kernel_size=(3, 1), padding=(1, 0))
        self.branch0 = ConvBNReLU(1536, 256, 1)
        self.branch1_0 = ConvBNReLU(1536, 384, 1)
        self.branch1_1a = ConvBNReLU(384, 256, **row)
        self.branch1_1b = ConvBNReLU(384, 256, **col)
        self.branch2_0 = ConvBNReLU(1536, 384, 1)
        self.branch2_1 = ConvBNReLU(384, 448, **col)
        self.branch2_2 = ConvBNReLU(448, 512, **row)
        self.branch2_3a = ConvBNReLU(512, 256, **row)
        self.branch2_3b = ConvBNReLU(512, 256, **col)
        self.branch3 = _pool_proj(1536, 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.branch1_0(x)
        x2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        return torch.cat((self.branch0(x), self.branch1_1a(x1), self.branch1_1b(x1),
                          self.branch2_3a(x2), self.branch2_3b(x2), self.branch3(x)), 1)


class InceptionV4(nn.Module):
    """Inception-v4; see the module docstring for shapes."""

    def __init__(self, *, inception_a: int, inception_b: int, inception_c: int, num_features: int,
                 num_classes: int = 1000, in_chans: int = 3, drop_rate: float = 0.0):
        super().__init__()
        self.in_chans = in_chans
        self.features = nn.Sequential(
            ConvBNReLU(in_chans, 32, 3, 2), ConvBNReLU(32, 32, 3), ConvBNReLU(32, 64, 3, padding=1),
            Mixed3a(), Mixed4a(), Mixed5a(),
            *(InceptionA() for _ in range(inception_a)), ReductionA(),
            *(InceptionB() for _ in range(inception_b)), ReductionB(),
            *(InceptionC() for _ in range(inception_c)),
        )
        self.num_features = num_features
        self.head_drop = nn.Dropout(drop_rate)
        self.last_linear = nn.Linear(num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = getattr(self, "zoo_name", "inception-v4")
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=name)
        if min(x.shape[-2:]) < MIN_SIZE:
            raise InputShapeError(f"{name}: input must be at least {MIN_SIZE} x {MIN_SIZE} (299 x 299 in the "
                                  f"paper), got {list(x.shape[-2:])}")
        x = self.features(x).mean((2, 3))
        return self.last_linear(self.head_drop(x))


def build_inception_v4(num_classes: int = 1000, in_chans: int = 3, drop_rate: float = 0.0) -> InceptionV4:
    hp = {k: v for k, v in VARIANTS["v4"].items() if k not in ("input_size", "num_params")}
    return InceptionV4(**hp, num_classes=num_classes, in_chans=in_chans, drop_rate=drop_rate)


def example_input(config: Mapping) -> torch.Tensor:
    return torch.randn(1, config.get("in_chans", 3), MIN_SIZE, MIN_SIZE)
