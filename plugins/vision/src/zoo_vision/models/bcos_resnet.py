"""B-cos ResNets: ResNets of B-cos convolutions, with no non-linearity but the alignment scaling.

Böhle, Singh, Fritz & Schiele, "B-cos Alignment for Inherently Interpretable CNNs and Vision
Transformers", TPAMI 2024, arXiv:2306.10898; code github.com/B-cos/B-cos-v2 (``bcos/models/resnet.py``).
The depths are in :mod:`zoo_vision.models.bcos_resnet_specs`.

Input ``[B, in_chans, H, W]`` — by default the 6-channel encoding ``[r, g, b, 1-r, 1-g, 1-b]``
(:func:`zoo_vision.blocks.add_inverse`) of an image in [0, 1], no mean/std normalisation; at least
32 x 32. Output logits ``[B, num_classes]``. The network is a dynamic linear map plus the logit
bias: in :func:`zoo_vision.blocks.explanation_mode`, ``logits = Σ (∂logits/∂x) · x + logit_bias``.
Module names follow the authors' (torchvision's ResNet names, ``logit_layer``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.blocks.bcos import BatchNormUncentered2d, BcosConv2d, LogitLayer, add_inverse
from zoo_vision.models.bcos_resnet_specs import VARIANTS

MIN_SIZE = 32


class BasicBlock(nn.Module):
    """Two 3x3 B-cos conv + uncentred BN, residual addition; no activation."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int, downsample: nn.Module | None, conv):
        super().__init__()
        self.conv1 = conv(cin, planes, 3, stride, 1)
        self.bn1 = BatchNormUncentered2d(planes)
        self.conv2 = conv(planes, planes, 3, 1, 1)
        self.bn2 = BatchNormUncentered2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.bn2(self.conv2(self.bn1(self.conv1(x)))) + shortcut


class Bottleneck(nn.Module):
    """1x1, 3x3 (strided, ResNet v1.5), 1x1 B-cos conv + uncentred BN, residual addition."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int, downsample: nn.Module | None, conv):
        super().__init__()
        self.conv1 = conv(cin, planes, 1)
        self.bn1 = BatchNormUncentered2d(planes)
        self.conv2 = conv(planes, planes, 3, stride, 1)
        self.bn2 = BatchNormUncentered2d(planes)
        self.conv3 = conv(planes, planes * 4, 1)
        self.bn3 = BatchNormUncentered2d(planes * 4)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn1(self.conv1(x))
        out = self.bn2(self.conv2(out))
        return self.bn3(self.conv3(out)) + shortcut


_BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class BcosResNet(nn.Module):
    """A B-cos ResNet; see the module docstring for shapes."""

    def __init__(self, *, block: str, layers: list[int], num_classes: int = 1000, in_chans: int = 6,
                 b: float = 2.0, max_out: int = 1, logit_bias: float | None = None,
                 logit_temperature: float | None = None):
        super().__init__()
        if num_classes < 2:
            raise ConfigError(f"bcos-resnet: num_classes must be at least 2, got {num_classes}")
        block_cls = _BLOCKS[block]
        self.in_chans = in_chans

        def conv(cin: int, cout: int, kernel_size: int, stride: int = 1, padding: int = 0) -> BcosConv2d:
            return BcosConv2d(cin, cout, kernel_size, stride, padding, b=b, max_out=max_out)

        self.conv1 = conv(in_chans, 64, 7, 2, 3)
        self.pool = nn.AvgPool2d(3, 2, 1)  # the authors' stand-in for the max-pool, which is not linear
        self.bn1 = BatchNormUncentered2d(64)
        cin = 64
        for stage, depth in enumerate(layers):
            planes, stride = 64 * 2**stage, 1 if stage == 0 else 2
            cout = planes * block_cls.expansion
            down = None
            if stride != 1 or cin != cout:
                down = nn.Sequential(conv(cin, cout, 1, stride), BatchNormUncentered2d(cout))
            blocks = [block_cls(cin, planes, stride, down, conv)]
            blocks += [block_cls(cout, planes, 1, None, conv) for _ in range(1, depth)]
            self.add_module(f"layer{stage + 1}", nn.Sequential(*blocks))
            cin = cout
        self.num_features = cin
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = conv(cin, num_classes, 1)  # applied per position, before pooling: pooling is linear
        self.logit_layer = LogitLayer(logit_temperature,
                                      -math.log(num_classes - 1) if logit_bias is None else logit_bias)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, in_chans, H, W] -> [B, num_features, H/32, W/32]``."""
        x = self.pool(self.bn1(self.conv1(x)))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = getattr(self, "zoo_name", "bcos-resnet")
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=name)
        if min(x.shape[-2:]) < MIN_SIZE:
            raise InputShapeError(f"{name}: input must be at least {MIN_SIZE} x {MIN_SIZE}, got {list(x.shape[-2:])}")
        x = self.fc(self.forward_features(x))
        return self.logit_layer(self.avgpool(x).flatten(1))


def build_bcos_resnet(variant: str = "50", num_classes: int = 1000, in_chans: int = 6, b: float = 2.0,
                      max_out: int = 1, logit_bias: float | None = None) -> BcosResNet:
    """A B-cos ResNet of depth ``variant`` ("18", "34", "50", "101" or "152"); ``logit_bias`` None:
    ``-log(num_classes - 1)`` as the authors'."""
    if variant not in VARIANTS:
        raise ConfigError(f"bcos-resnet: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    hp = VARIANTS[variant]
    return BcosResNet(block=hp["block"], layers=hp["layers"], num_classes=num_classes, in_chans=in_chans, b=b,
                      max_out=max_out, logit_bias=logit_bias)


def example_input(config: Mapping) -> torch.Tensor:
    """A [0, 1] image encoded as ``[x, 1 - x]``: ``[1, 6, 32, 32]``."""
    channels = config.get("in_chans", 6)
    image = torch.rand(1, channels // 2 if channels % 2 == 0 else channels, 32, 32)
    return add_inverse(image) if channels % 2 == 0 else image
