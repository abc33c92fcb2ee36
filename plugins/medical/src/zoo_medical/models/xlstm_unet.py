"""xLSTM-UNet: a residual nnU-Net-style U-Net with Vision-LSTM (mLSTM) blocks, 2-D and 3-D.

Chen et al., "xLSTM-UNet can be an Effective 2D & 3D Medical Image Segmentation Backbone with
Vision-LSTM (ViL) better than its Mamba Counterpart", arXiv:2407.01530 (IEEE BHI 2024); authors'
code: github.com/tianrun-chen/xLSTM-UNet-PyTorch (an nnU-Net v2 fork).

Two variants, as in the paper:

* ``bot`` (U-xLSTM-Bot): one ViL block on the deepest encoder output, voxels as tokens.
* ``enc`` (U-xLSTM-Enc): a ViL block after each deep encoder stage (3-D: stages 3+, the others get
  an extra residual block; 2-D: every other stage from 2 so that the last has one, stage 1 gets
  an extra residual block). A stage whose map has no more positions than channels uses the
  channels as tokens, so the network is built for one ``patch_size``.

The nnU-Net hyper-parameters are kept: instance norm (affine, eps 1e-5), LeakyReLU(0.01), conv
bias, He init, stride-2 residual downsampling, nearest-neighbour upsampling + 1x1 conv, one 1x1
segmentation head per decoder level (deep supervision). Deeper encoder stages have a single
block and deeper decoder stages a single conv, and in 2-D the top decoder level takes no skip -
all as in the authors' networks, so parameter counts match theirs minus one unused LayerNorm per
ViL that their wrapper builds and never calls (2 x dim parameters).

Input ``[B, in_channels, *spatial]`` with spatial sizes divisible by the total stride (``enc``
with channel tokens: exactly ``patch_size``). Output logits ``[B, out_channels, *spatial]``; with
``deep_supervision=True`` a list of logits per decoder level, highest resolution first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from monai.networks.layers.factories import Conv, Norm
from torch import nn
from torch.nn import functional as F

from zoo import expect_shape
from zoo.errors import ConfigError
from zoo_medical.blocks.mlstm import ViLSpatial
from zoo_medical.models.geometry import SPATIAL_AXES, divisible_by, input_pattern, total_stride
from zoo_medical.models.xlstm_unet_specs import PLAN_3D, VARIANTS


def _conv(dims: int, cin: int, cout: int, kernel: Sequence[int], stride: Sequence[int] | int = 1) -> nn.Module:
    return Conv[Conv.CONV, dims](cin, cout, kernel, stride=stride, padding=[k // 2 for k in kernel], bias=True)


def _norm(dims: int, channels: int) -> nn.Module:
    return Norm[Norm.INSTANCE, dims](channels, eps=1e-5, affine=True)


class ResProjBlock(nn.Module):
    """Two convs (conv-IN-LReLU, conv-IN) plus a 1x1 (strided) projection shortcut, then LReLU.

    nnU-Net's "BasicResBlock" as the xLSTM-UNet authors use it at the entry of every stage.
    ``[B, cin, *S] -> [B, cout, *S / stride]``.
    """

    def __init__(self, dims: int, cin: int, cout: int, kernel: Sequence[int], stride: Sequence[int] | int = 1):
        super().__init__()
        self.conv1, self.norm1 = _conv(dims, cin, cout, kernel, stride), _norm(dims, cout)
        self.conv2, self.norm2 = _conv(dims, cout, cout, kernel), _norm(dims, cout)
        self.conv3 = Conv[Conv.CONV, dims](cin, cout, 1, stride=stride, bias=True)
        self.act = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.norm1(self.conv1(x)))
        return self.act(self.norm2(self.conv2(y)) + self.conv3(x))


class ResBlock(nn.Module):
    """Identity-shortcut residual block (nnU-Net's "BasicBlockD" at stride 1). ``[B, C, *S] -> same``."""

    def __init__(self, dims: int, channels: int, kernel: Sequence[int]):
        super().__init__()
        self.conv1, self.norm1 = _conv(dims, channels, channels, kernel), _norm(dims, channels)
        self.conv2, self.norm2 = _conv(dims, channels, channels, kernel), _norm(dims, channels)
        self.act = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.norm1(self.conv1(x)))
        return self.act(self.norm2(self.conv2(y)) + x)


def _stage(dims: int, cin: int, cout: int, kernel: Sequence[int], stride, blocks: int) -> nn.Sequential:
    return nn.Sequential(ResProjBlock(dims, cin, cout, kernel, stride),
                         *[ResBlock(dims, cout, kernel) for _ in range(blocks - 1)])


class UpsampleConv(nn.Module):
    """Nearest-neighbour upsampling by the encoder stride, then a 1x1 conv to the skip's width."""

    def __init__(self, dims: int, cin: int, cout: int, scale: Sequence[int]):
        super().__init__()
        self.scale = [float(s) for s in scale]
        self.conv = Conv[Conv.CONV, dims](cin, cout, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=self.scale, mode="nearest"))


class XLSTMUNet(nn.Module):
    """U-xLSTM-Bot / U-xLSTM-Enc (see the module docstring for shapes and structure)."""

    def __init__(self, *, variant: str, spatial_dims: int, in_channels: int, out_channels: int,
                 features: Sequence[int], strides: Sequence, kernel_sizes: Sequence | int = 3,
                 n_blocks_per_stage: Sequence[int] | int = 2, n_conv_per_stage_decoder: Sequence[int] | int = 2,
                 patch_size: Sequence[int] | None = None, deep_supervision: bool = False):
        super().__init__()
        name = f"xlstm-unet-{variant}-{spatial_dims}d"
        n = len(features)
        if variant not in VARIANTS:
            raise ConfigError(f"xlstm-unet: variant must be one of {VARIANTS}, got {variant!r}")
        if spatial_dims not in (2, 3):
            raise ConfigError(f"{name}: spatial_dims must be 2 or 3, got {spatial_dims!r}")
        if len(strides) != n:
            raise ConfigError(f"{name}: need one stride per stage ({n}), got {len(strides)}")
        if variant == "enc" and (patch_size is None or len(patch_size) != spatial_dims):
            raise ConfigError(f"{name}: the enc variant needs patch_size with {spatial_dims} sizes")
        kernels = [kernel_sizes] * n if isinstance(kernel_sizes, int) else list(kernel_sizes)
        kernels = [[k] * spatial_dims if isinstance(k, int) else list(k) for k in kernels]
        strides = [[s] * spatial_dims if isinstance(s, int) else list(s) for s in strides]
        blocks = [n_blocks_per_stage] * n if isinstance(n_blocks_per_stage, int) else list(n_blocks_per_stage)
        dec_convs = ([n_conv_per_stage_decoder] * (n - 1) if isinstance(n_conv_per_stage_decoder, int)
                     else list(n_conv_per_stage_decoder))
        # The authors thin out the deep half of the network: one block per deep encoder stage and
        # one conv per deep decoder stage, whatever the plan says.
        for s in range(math.ceil(n / 2), n):
            blocks[s] = 1
        for s in range(math.ceil((n - 1) / 2 + 0.5), n - 1):
            dec_convs[s] = 1

        self.name, self.variant, self.spatial_dims, self.in_channels = name, variant, spatial_dims, in_channels
        self.deep_supervision = deep_supervision
        self._divisible_by = divisible_by(strides, spatial_dims)
        self._exact: dict[str, int] = {}

        self.stem = _stage(spatial_dims, in_channels, features[0], kernels[0], 1, blocks[0])
        self.stages = nn.ModuleList(
            _stage(spatial_dims, features[max(s - 1, 0)], features[s], kernels[s], strides[s], blocks[s])
            for s in range(n)
        )
        if variant == "enc":
            sizes, size = [], list(patch_size)
            for stride in strides:
                size = [a // b for a, b in zip(size, stride)]
                sizes.append(size)
            channel_token = [math.prod(sizes[s]) <= features[s] for s in range(n)]
            if any(channel_token):
                # its layer widths were derived from the patch size: only that size fits
                self._exact = dict(zip(SPATIAL_AXES[spatial_dims], patch_size))
            self.xlstm_layers = nn.ModuleList(
                self._enc_extra(s, n, spatial_dims, features[s], kernels[s], sizes[s], channel_token[s])
                for s in range(n)
            )
        else:
            self.xlstm = ViLSpatial(features[-1])

        self.upsample_layers = nn.ModuleList()
        self.decoder_stages = nn.ModuleList()
        self.seg_layers = nn.ModuleList()
        for s in range(1, n):
            below, skip = features[-s], features[-(s + 1)]
            self.upsample_layers.append(UpsampleConv(spatial_dims, below, skip, strides[-s]))
            # 2-D: the top level gets no skip connection (the authors' choice for 2-D inputs).
            takes_skip = spatial_dims == 3 or s < n - 1
            self.decoder_stages.append(_stage(spatial_dims, 2 * skip if takes_skip else skip, skip,
                                              kernels[-(s + 1)], 1, dec_convs[s - 1]))
            self.seg_layers.append(Conv[Conv.CONV, spatial_dims](skip, out_channels, 1, bias=True))
        self._init_he()

    @staticmethod
    def _enc_extra(s: int, n: int, dims: int, channels: int, kernel, size, channel_token: bool) -> nn.Module:
        if dims == 3:
            use_vil, use_block = s >= 3, s < 3
        else:
            use_vil, use_block = s > 1 and (s % 2 == 1) != (n % 2 == 1), s == 1
        if use_vil:
            return ViLSpatial(math.prod(size) if channel_token else channels, channel_token=channel_token)
        return ResBlock(dims, channels, kernel) if use_block else nn.Identity()

    def _init_he(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(module.weight, a=1e-2)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        expect_shape(x, input_pattern(self.spatial_dims), model=self.name, C=self.in_channels, dtype="float",
                     divisible_by=self._divisible_by, **self._exact)
        x = self.stem(x)
        skips = []
        for s, stage in enumerate(self.stages):
            x = stage(x)
            if self.variant == "enc":
                x = self.xlstm_layers[s](x)
            skips.append(x)
        if self.variant == "bot":
            skips[-1] = self.xlstm(skips[-1])
        x, outputs, last = skips[-1], [], len(self.decoder_stages) - 1
        for s, (up, stage) in enumerate(zip(self.upsample_layers, self.decoder_stages)):
            x = up(x)
            if self.spatial_dims == 3 or s < last:
                x = torch.cat([x, skips[-(s + 2)]], dim=1)
            x = stage(x)
            if self.deep_supervision or s == last:
                outputs.append(self.seg_layers[s](x))
        return outputs[::-1] if self.deep_supervision else outputs[-1]


def build_xlstm_unet(variant: str = "bot", spatial_dims: int = 3, in_channels: int = 1, out_channels: int = 14,
                     features: Sequence[int] = PLAN_3D["features"], strides: Sequence = PLAN_3D["strides"],
                     kernel_sizes: Sequence | int = 3, n_blocks_per_stage: Sequence[int] | int = 2,
                     n_conv_per_stage_decoder: Sequence[int] | int = 2, patch_size: Sequence[int] | None = None,
                     deep_supervision: bool = False) -> XLSTMUNet:
    """Build ``xlstm-unet-{bot,enc}-{2d,3d}`` from an nnU-Net-style plan."""
    return XLSTMUNet(variant=variant, spatial_dims=spatial_dims, in_channels=in_channels,
                     out_channels=out_channels, features=list(features), strides=list(strides),
                     kernel_sizes=kernel_sizes, n_blocks_per_stage=n_blocks_per_stage,
                     n_conv_per_stage_decoder=n_conv_per_stage_decoder, patch_size=patch_size,
                     deep_supervision=deep_supervision)


def example_input(config: dict) -> torch.Tensor:
    """The enc patch size, or the total stride with the last axis doubled.

    Two voxels at the bottom, not one: instance norm refuses a single spatial element in training.
    """
    if config.get("patch_size"):
        return torch.randn(1, config["in_channels"], *config["patch_size"])
    size = total_stride(config["strides"], config["spatial_dims"])
    return torch.randn(1, config["in_channels"], *size[:-1], 2 * size[-1])


def bad_input(config: dict) -> torch.Tensor:
    """Right rank, one spatial axis off by a few voxels: must be refused before any layer runs."""
    x = example_input(config)
    return x[..., :-2]
