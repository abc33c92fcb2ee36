"""U-Nets recalibrated with concurrent spatial and channel squeeze & excitation (scSE).

Roy, Navab, Wachinger, "Recalibrating Fully Convolutional Networks with Spatial and Channel
'Squeeze & Excitation' Blocks", IEEE TMI 2019, arXiv:1808.08127.

The host network is MONAI's residual :class:`monai.networks.nets.UNet`; an SE block (one per
block, never shared - MONAI's ``Quicknat`` shares a single instance across all blocks) follows
every encoder block, the bottleneck and every decoder block except the last one, whose output
is the class logits. The placement follows the authors' QuickNAT code (block -> SE, and the
skip connection carries the recalibrated map).

Input ``[B, in_channels, *spatial]`` (2-D or 3-D), every spatial size divisible by the product of
``strides`` and large enough that the deepest level keeps more than one voxel (instance norm cannot
normalise one: for the default strides, 32 on at least one axis); output logits
``[B, out_channels, *spatial]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from monai.networks.nets import UNet
from torch import nn

from zoo import expect_shape
from zoo.errors import ConfigError, InputShapeError
from zoo_medical.blocks.scse import make_se
from zoo_medical.models.geometry import divisible_by, input_pattern

SE_KINDS = ("scse", "scse-add", "cse", "sse", "none")


class SEUNet(UNet):
    """MONAI's ``UNet`` with a squeeze & excitation block after each encoder/bottleneck/decoder block.

    ``se`` is ``"scse"`` (max-out, TMI 2019 and the released code), ``"scse-add"`` (MICCAI 2018),
    ``"cse"``, ``"sse"`` or ``"none"`` (exactly MONAI's ``UNet``, for ablations and benchmarks).
    Every other argument is MONAI's.
    """

    def __init__(self, spatial_dims: int, in_channels: int, out_channels: int, channels: Sequence[int],
                 strides: Sequence[int], *, se: str = "scse", r: int = 2, num_res_units: int = 2,
                 norm: str = "INSTANCE", dropout: float = 0.0, name: str = "scse-unet"):
        if se not in SE_KINDS:
            raise ConfigError(f"{name}: se must be one of {SE_KINDS}, got {se!r}")
        if len(channels) != len(strides) + 1:
            raise ConfigError(f"{name}: need len(channels) == len(strides) + 1, "
                              f"got {list(channels)} and {list(strides)}")
        # The UNet constructor calls the _get_*_layer hooks below, so these must exist first.
        self._se_kind, self._se_r = se, r
        super().__init__(spatial_dims, in_channels, out_channels, channels, strides,
                         num_res_units=num_res_units, norm=norm, dropout=dropout)
        self.name = name
        self._divisible_by = divisible_by(list(strides), spatial_dims)

    def _recalibrated(self, layer: nn.Module, channels: int) -> nn.Module:
        if self._se_kind == "none":
            return layer
        return nn.Sequential(layer, make_se(self._se_kind, self.dimensions, channels, r=self._se_r))

    # UNet builds its bottleneck through _get_down_layer too, so the bottleneck is recalibrated here.
    def _get_down_layer(self, in_channels: int, out_channels: int, strides: int, is_top: bool) -> nn.Module:
        return self._recalibrated(super()._get_down_layer(in_channels, out_channels, strides, is_top), out_channels)

    def _get_up_layer(self, in_channels: int, out_channels: int, strides: int, is_top: bool) -> nn.Module:
        layer = super()._get_up_layer(in_channels, out_channels, strides, is_top)
        return layer if is_top else self._recalibrated(layer, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = expect_shape(x, input_pattern(self.dimensions), model=self.name, C=self.in_channels, dtype="float",
                             divisible_by=self._divisible_by)
        deepest = [sizes[axis] // step for axis, step in self._divisible_by.items()]
        if math.prod(deepest) < 2:
            raise InputShapeError(
                f"{self.name}: input spatial size {[int(s) for s in x.shape[2:]]} is too small: at the total "
                f"stride {list(self._divisible_by.values())} the deepest level would hold a single voxel, which "
                f"its normalisation cannot use; make at least one axis "
                f"{[2 * step for step in self._divisible_by.values()]} or larger"
            )
        return super().forward(x)


def build_scse_unet(spatial_dims: int = 3, in_channels: int = 1, out_channels: int = 2,
                    channels: Sequence[int] = (16, 32, 64, 128, 256), strides: Sequence[int] = (2, 2, 2, 2),
                    num_res_units: int = 2, norm: str = "INSTANCE", dropout: float = 0.0,
                    se: str = "scse", r: int = 2) -> SEUNet:
    """Build ``scse-unet-2d`` / ``scse-unet-3d`` (or an ablation with ``se="none"|"cse"|"sse"``)."""
    if spatial_dims not in (2, 3):
        raise ConfigError(f"scse-unet: spatial_dims must be 2 or 3, got {spatial_dims!r}")
    return SEUNet(spatial_dims, in_channels, out_channels, list(channels), list(strides), se=se, r=r,
                  num_res_units=num_res_units, norm=norm, dropout=dropout, name=f"scse-unet-{spatial_dims}d")


def example_input(config: dict) -> torch.Tensor:
    size = (32, 32, 32) if config["spatial_dims"] == 3 else (64, 64)
    return torch.randn(1, config.get("in_channels", 1), *size)


def bad_input(config: dict) -> torch.Tensor:
    # Right rank, one spatial size not divisible by the total stride of 16: the skips would not line up.
    x = example_input(config)
    return x[..., 2:, :] if config["spatial_dims"] == 2 else x[:, :, 2:]
