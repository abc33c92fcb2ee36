"""BiPer binary ResNets: 1-bit weights (periodic binarisation) and 1-bit activations.

Vargas, Correa, Hinojosa & Arguello, "BiPer: Binary Neural Networks using a Periodic Function",
CVPR 2024, arXiv:2404.01278; code github.com/edmav4/BiPer. The binary convolution is
:class:`zoo_vision.blocks.BiPerConv2d`; the layouts are in :mod:`zoo_vision.models.biper_resnet_specs`.

* ImageNet ResNet-18/34 (Bi-Real style): full-precision 7x7 stem conv + BN + Hardtanh + max-pool;
  every 3x3 conv binary with a shortcut around *each* conv (``hardtanh(BN(conv(x)) + x)``), the
  first shortcut of a stage a full-precision strided 1x1 conv + BN; global average pool,
  ``BatchNorm1d`` and a full-precision classifier. BN weights start at 1e-8 (each block starts as
  its shortcut).
* CIFAR-10 ResNet-20: 16-32-64 widths, a shortcut around each conv as above, option-A shortcuts
  (2x2 average pool, zero channel padding) when the shape changes, Hardtanh after the stem.
* CIFAR-10 ResNet-18: 64-...-512 widths, the usual two-conv block (``hardtanh(BN(conv1))``,
  ``BN(conv2)``, one shortcut, Hardtanh), option-A shortcuts, no activation after the stem.

Input ``[B, 3, H, W]`` (ImageNet-normalised); output logits ``[B, num_classes]``. The authors'
fixed-size final pools (7x7 at 224 px, 4x4 at 32 px) are global average pools here: the same at
those sizes, and other sizes work. Module names are the authors' (``layer1.0.conv1.alpha``, ...),
without their unused ``tau`` buffers and the CIFAR convs' frozen unused ``beta``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.blocks.biper import BiPerConv2d
from zoo_vision.models.biper_resnet_specs import VARIANTS


class ZeroPadShortcut(nn.Module):
    """Option-A shortcut of the authors' CIFAR nets: 2x2 average pool, then ``pad`` zero channels
    on each side (``C -> C + 2·pad``)."""

    def __init__(self, pad: int):
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(F.avg_pool2d(x, 2), (0, 0, 0, 0, self.pad, self.pad))


class BiRealBlock(nn.Module):
    """Two binary 3x3 convs, each wrapped by its own shortcut and followed by Hardtanh."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int, downsample: nn.Module | None, conv):
        super().__init__()
        self.conv1 = conv(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.nonlinear1 = nn.Hardtanh()
        self.conv2 = conv(planes, planes, 1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.nonlinear2 = nn.Hardtanh()
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.nonlinear1(self.bn1(self.conv1(x)) + shortcut)
        return self.nonlinear2(self.bn2(self.conv2(out)) + out)


class BasicBlock(nn.Module):
    """The CIFAR ResNet-18 block: ``hardtanh(BN(conv2(hardtanh(BN(conv1(x))))) + shortcut(x))``."""

    def __init__(self, cin: int, planes: int, stride: int, downsample: nn.Module | None, conv):
        super().__init__()
        self.conv1 = conv(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv(planes, planes, 1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = downsample if downsample is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.hardtanh(self.bn1(self.conv1(x)))
        return F.hardtanh(self.bn2(self.conv2(out)) + self.shortcut(x))


class BiPerResNet(nn.Module):
    """A BiPer binary ResNet; see the module docstring for the layouts and shapes."""

    def __init__(self, *, layout: str, layers: list[int], widths: list[int], num_classes: int, freq: float = 20.0,
                 stage: int = 2, name: str = "biper-resnet"):
        super().__init__()
        if num_classes < 1:
            raise ConfigError(f"{name}: num_classes must be positive, got {num_classes}")
        self.layout, self.name = layout, name

        def conv(cin: int, cout: int, stride: int) -> BiPerConv2d:
            return BiPerConv2d(cin, cout, 3, stride, 1, freq=freq, stage=stage)

        if layout == "imagenet":
            self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.nonlinear = nn.Hardtanh()
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.min_size, self.divisor = 32, 1
        else:
            self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            # the ResNet-18 of the authors' resnet2.py has no activation after its stem
            self.nonlinear = nn.Hardtanh() if layout == "cifar-bireal" else nn.Identity()
            self.maxpool = nn.Identity()
            # the option-A shortcut's 2x2 pool floors odd sizes where the strided conv rounds up
            self.min_size = self.divisor = 2 ** (len(layers) - 1)
        block = BasicBlock if layout == "cifar-basic" else BiRealBlock
        cin = widths[0]
        for index, (planes, depth) in enumerate(zip(widths, layers)):
            stride = 1 if index == 0 else 2
            down = None
            if stride != 1 or cin != planes:
                if layout == "imagenet":
                    down = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
                else:
                    down = ZeroPadShortcut((planes - cin) // 2)
            blocks = [block(cin, planes, stride, down, conv)]
            blocks += [block(planes, planes, 1, None, conv) for _ in range(1, depth)]
            self.add_module(f"layer{index + 1}", nn.Sequential(*blocks))
            cin = planes
        self.num_stages = len(layers)
        self.num_features = cin
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.bn2 = nn.BatchNorm1d(cin)
        # the authors' classifier is `fc` on ImageNet and `linear` on CIFAR
        self.add_module("fc" if layout == "imagenet" else "linear", nn.Linear(cin, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif layout == "imagenet" and isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1e-8)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W] -> [B, num_features, H/s, W/s]`` (s = 32 ImageNet, 4 ResNet-20, 8 ResNet-18 CIFAR)."""
        x = self.maxpool(self.nonlinear(self.bn1(self.conv1(x))))
        for index in range(self.num_stages):
            x = getattr(self, f"layer{index + 1}")(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zoo.expect_shape(x, "B 3 H W", dtype="float", model=self.name,
                         divisible_by={"H": self.divisor, "W": self.divisor})
        if min(x.shape[-2:]) < self.min_size:
            raise InputShapeError(f"{self.name}: input must be at least {self.min_size} x {self.min_size}, "
                                  f"got {list(x.shape[-2:])}")
        x = self.bn2(self.avgpool(self.forward_features(x)).flatten(1))
        return (self.fc if self.layout == "imagenet" else self.linear)(x)


def build_biper_resnet(variant: str = "18", num_classes: int | None = None, freq: float = 20.0,
                       stage: int = 2) -> BiPerResNet:
    """A BiPer ResNet: ``variant`` "18", "34" (ImageNet), "20-cifar10" or "18-cifar10"; ``stage`` 2 for
    binary weights, 1 for the first training stage's real ``sin(freq · w)`` weights."""
    if variant not in VARIANTS:
        raise ConfigError(f"biper-resnet: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    hp = VARIANTS[variant]
    return BiPerResNet(layout=hp["layout"], layers=hp["layers"], widths=hp["widths"],
                       num_classes=hp["num_classes"] if num_classes is None else num_classes, freq=freq,
                       stage=stage, name=f"biper-resnet-{variant}")


def example_input(config: Mapping) -> torch.Tensor:
    """``[2, 3, 64, 64]`` for the ImageNet networks, ``[2, 3, 32, 32]`` for the CIFAR ones."""
    size = 64 if VARIANTS[config.get("variant", "18")]["layout"] == "imagenet" else 32
    return torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
