"""B-cos DenseNets: DenseNet-BC of B-cos convolutions and uncentred norms, with no ReLU.

Böhle, Singh, Fritz & Schiele, "B-cos Alignment for Inherently Interpretable CNNs and Vision
Transformers", TPAMI 2024, arXiv:2306.10898; code github.com/B-cos/B-cos-v2
(``bcos/models/densenet.py``); DenseNet: Huang et al., arXiv:1608.06993. Sizes in
:mod:`zoo_vision.models.bcos_densenet_specs`.

Input ``[B, in_chans, H, W]``, by default ``[r, g, b, 1-r, 1-g, 1-b]`` in [0, 1], at least 32 x 32;
output logits ``[B, num_classes]``. Module names are the authors' (torchvision's ``features.*``,
``classifier``, ``logit_layer``), so their checkpoints' keys fit.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.blocks.bcos import BatchNormUncentered2d, BcosConv2d, LogitLayer
from zoo_vision.models.bcos_densenet_specs import VARIANTS
from zoo_vision.models.bcos_resnet import MIN_SIZE
from zoo_vision.models.bcos_resnet import example_input as example_input  # the same 6-channel image


class DenseLayer(nn.Module):
    """norm -> 1x1 B-cos conv (``bn_size · k``) -> norm -> 3x3 B-cos conv (``k`` new channels)."""

    def __init__(self, cin: int, growth_rate: int, bn_size: int, conv):
        super().__init__()
        self.norm1 = BatchNormUncentered2d(cin)
        self.conv1 = conv(cin, bn_size * growth_rate, 1)
        self.norm2 = BatchNormUncentered2d(bn_size * growth_rate)
        self.conv2 = conv(bn_size * growth_rate, growth_rate, 3, 1, 1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        out = self.conv1(self.norm1(torch.cat(features, 1)))
        return self.conv2(self.norm2(out))


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers, each reading the concatenation of all earlier outputs."""

    def __init__(self, num_layers: int, cin: int, growth_rate: int, bn_size: int, conv):
        super().__init__({f"denselayer{i + 1}": DenseLayer(cin + i * growth_rate, growth_rate, bn_size, conv)
                          for i in range(num_layers)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class BcosDenseNet(nn.Module):
    """A B-cos DenseNet-BC; see the module docstring for shapes."""

    def __init__(self, *, growth_rate: int, block_config: list[int], num_init_features: int, bn_size: int = 4,
                 num_classes: int = 1000, in_chans: int = 6, b: float = 2.0, max_out: int = 1,
                 logit_bias: float | None = None):
        super().__init__()
        if num_classes < 2:
            raise ConfigError(f"bcos-densenet: num_classes must be at least 2, got {num_classes}")
        self.in_chans = in_chans

        def conv(cin: int, cout: int, kernel_size: int, stride: int = 1, padding: int = 0) -> BcosConv2d:
            return BcosConv2d(cin, cout, kernel_size, stride, padding, b=b, max_out=max_out)

        self.features = nn.Sequential()
        self.features.add_module("conv0", conv(in_chans, num_init_features, 7, 2, 3))
        self.features.add_module("norm0", BatchNormUncentered2d(num_init_features))
        self.features.add_module("pool0", nn.AvgPool2d(3, 2, 1))
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", DenseBlock(num_layers, channels, growth_rate, bn_size, conv))
            channels += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", nn.Sequential(OrderedDict(
                    norm=BatchNormUncentered2d(channels), conv=conv(channels, channels // 2, 1),
                         pool=nn.AvgPool2d(2, 2))))
                channels //= 2
        self.features.add_module("norm5", BatchNormUncentered2d(channels))
        self.num_features = channels
        self.classifier = conv(channels, num_classes, 1)  # before pooling: pooling is linear
        self.logit_layer = LogitLayer(None, -math.log(num_classes - 1) if logit_bias is None else logit_bias)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = getattr(self, "zoo_name", "bcos-densenet")
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=name)
        if min(x.shape[-2:]) < MIN_SIZE:
            raise InputShapeError(f"{name}: input must be at least {MIN_SIZE} x {MIN_SIZE}, got {list(x.shape[-2:])}")
        out = self.classifier(self.features(x))
        return self.logit_layer(out.mean((2, 3)))


def build_bcos_densenet(variant: str = "121", num_classes: int = 1000, in_chans: int = 6, b: float = 2.0,
                        max_out: int = 1, logit_bias: float | None = None) -> BcosDenseNet:
    """A B-cos DenseNet of depth ``variant`` ("121", "169", "201" or "161")."""
    if variant not in VARIANTS:
        raise ConfigError(f"bcos-densenet: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    hp = {k: v for k, v in VARIANTS[variant].items() if k not in ("num_params", "top1")}
    return BcosDenseNet(**hp, num_classes=num_classes, in_chans=in_chans, b=b, max_out=max_out,
                        logit_bias=logit_bias)
