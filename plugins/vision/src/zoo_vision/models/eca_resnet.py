"""ECA-ResNets: ResNets with an Efficient Channel Attention module in every residual branch.

Wang et al., "ECA-Net: Efficient Channel Attention for Deep Convolutional Neural Networks",
CVPR 2020, arXiv:1910.03151; authors' code github.com/BangguWu/ECANet. The sizes are in
:mod:`zoo_vision.models.eca_resnet_specs` (the authors' ECA-ResNet-18/34/50/101/152 and timm's
ResNet-D style ``light``, ``50t`` and ``101d-pruned``).

Input ``[B, in_chans, H, W]`` (224 x 224 in the paper, at least 32 x 32), ImageNet-normalised;
output logits ``[B, num_classes]``. Module names follow the authors' and timm's ResNets
(``conv1``, ``layer1..4``, ``fc``), with the attention named ``eca`` as in the authors' code;
:func:`from_timm` renames timm's ``se``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.blocks.eca import EfficientChannelAttention
from zoo_vision.models.eca_resnet_specs import VARIANTS

MIN_SIZE = 32


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels)


class ECABasicBlock(nn.Module):
    """Two 3x3 conv-BN layers, ECA, residual addition, ReLU (ResNet-18/34)."""

    def __init__(self, cin: int, mid: Sequence[int], cout: int, stride: int, kernel_size: int,
                 downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, mid[0], 3, stride, 1, bias=False)
        self.bn1 = _bn(mid[0])
        self.conv2 = nn.Conv2d(mid[0], cout, 3, 1, 1, bias=False)
        self.bn2 = _bn(cout)
        self.eca = EfficientChannelAttention(cout, kernel_size)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.eca(self.bn2(self.conv2(out)))
        out += shortcut  # in place: the gated branch is a fresh tensor no backward needs
        return self.relu(out)


class ECABottleneck(nn.Module):
    """1x1, 3x3 (strided, as ResNet v1.5), 1x1 conv-BN layers, ECA, residual addition, ReLU."""

    def __init__(self, cin: int, mid: Sequence[int], cout: int, stride: int, kernel_size: int,
                 downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, mid[0], 1, bias=False)
        self.bn1 = _bn(mid[0])
        self.conv2 = nn.Conv2d(mid[0], mid[1], 3, stride, 1, bias=False)
        self.bn2 = _bn(mid[1])
        self.conv3 = nn.Conv2d(mid[1], cout, 1, bias=False)
        self.bn3 = _bn(cout)
        self.eca = EfficientChannelAttention(cout, kernel_size)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.eca(self.bn3(self.conv3(out)))
        out += shortcut  # in place: the gated branch is a fresh tensor no backward needs
        return self.relu(out)


_BLOCKS = {"basic": (ECABasicBlock, 1), "bottleneck": (ECABottleneck, 4)}


def _stem(kind: str, in_chans: int, width: int) -> tuple[nn.Module, int]:
    """The stem convolution(s) before ``bn1``: a 7x7 (ResNet) or three 3x3 (ResNet-C/D/T)."""
    if kind == "7x7":
        return nn.Conv2d(in_chans, 64, 7, 2, 3, bias=False), 64
    first = 3 * (width // 4) if kind == "deep-tiered" else width
    out = 2 * width
    return nn.Sequential(
        nn.Conv2d(in_chans, first, 3, 2, 1, bias=False), _bn(first), nn.ReLU(inplace=True),
        nn.Conv2d(first, width, 3, 1, 1, bias=False), _bn(width), nn.ReLU(inplace=True),
        nn.Conv2d(width, out, 3, 1, 1, bias=False),
    ), out


def _shortcut(cin: int, cout: int, stride: int, avg_down: bool) -> nn.Module:
    if not avg_down:
        return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _bn(cout))
    # ResNet-D: average-pool first, so the 1x1 conv sees every input pixel
    pool = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()
    return nn.Sequential(pool, nn.Conv2d(cin, cout, 1, bias=False), _bn(cout))


class ECAResNet(nn.Module):
    """An ECA-ResNet; see the module docstring for shapes."""

    def __init__(self, *, block: str, layers: Sequence[int], kernel_sizes: Sequence[int], stem: str = "7x7",
                 stem_width: int = 64, avg_down: bool = False, mid_widths: Sequence | None = None,
                 out_widths: Sequence[int] | None = None, num_classes: int = 1000, in_chans: int = 3,
                 drop_rate: float = 0.0):
        super().__init__()
        block_cls, expansion = _BLOCKS[block]
        self.in_chans = in_chans
        self.conv1, cin = _stem(stem, in_chans, stem_width)
        self.bn1 = _bn(cin)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        for stage, (depth, k) in enumerate(zip(layers, kernel_sizes)):
            planes = 64 * 2 ** stage
            cout = out_widths[stage] if out_widths else planes * expansion
            stride = 1 if stage == 0 else 2
            blocks = []
            for index in range(depth):
                mid = mid_widths[stage][index] if mid_widths else (planes, planes)
                s = stride if index == 0 else 1
                down = _shortcut(cin, cout, s, avg_down) if index == 0 and (s != 1 or cin != cout) else None
                blocks.append(block_cls(cin, mid, cout, s, k, down))
                cin = cout
            self.add_module(f"layer{stage + 1}", nn.Sequential(*blocks))
        self.num_features = cin
        self.drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W] -> [B, num_features, H/32, W/32]``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=getattr(self, "zoo_name", "eca-resnet"))
        if min(x.shape[-2:]) < MIN_SIZE:
            raise InputShapeError(
                f"{getattr(self, 'zoo_name', 'eca-resnet')}: input must be at least {MIN_SIZE} x {MIN_SIZE}, "
                f"got {list(x.shape[-2:])}")
        x = self.forward_features(x).mean((2, 3))
        return self.fc(self.drop(x))


def build_eca_resnet(variant: str = "50", num_classes: int = 1000, in_chans: int = 3,
                     drop_rate: float = 0.0) -> ECAResNet:
    """An ECA-ResNet of size ``variant`` (a key of ``VARIANTS``: "18" ... "152", "light", "50t", "101d-pruned")."""
    if variant not in VARIANTS:
        raise ConfigError(f"eca-resnet: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    hp = {k: v for k, v in VARIANTS[variant].items() if k not in ("num_params", "top1")}
    return ECAResNet(**hp, num_classes=num_classes, in_chans=in_chans, drop_rate=drop_rate)


def example_input(config: Mapping) -> torch.Tensor:
    return torch.randn(1, config.get("in_chans", 3), 64, 64)


def from_timm(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A timm ECA-ResNet state dict with our names: timm calls the ECA module ``se``."""
    return {key.replace(".se.conv.", ".eca.conv."): value for key, value in state_dict.items()}
