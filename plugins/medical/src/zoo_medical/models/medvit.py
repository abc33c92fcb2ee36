"""MedViTV2: a hybrid CNN-transformer with KAN feed-forward layers and dilated neighbourhood attention.

Manzari et al., "Medical Image Classification with KAN-Integrated Transformers and Dilated
Neighborhood Attention", arXiv:2502.13693 (Applied Soft Computing 2025); authors' code:
github.com/Omid-Nejati/MedViTV2. Widths, depths, block pattern, head size, spatial-reduction
ratios, the locality feed-forward, the E-MHSA/MHCA mix and the FasterKAN follow that code.

Where we deliberately differ from the released code (its weights therefore do not load here):

* The local block hands neighbourhood attention a ``reshape`` of the NCHW tensor to
  ``(B, H, W, C)`` without a permute, so its "neighbourhoods" are not spatial; we permute.
* The global block's KAN likewise reshapes NCHW to ``(-1, C)``, mixing chunks of spatial
  positions instead of each position's channel vector (and assumes square maps); we permute.
* The released attention is never dilated (dilation None). We dilate as the title says, with
  the DiNAT schedule: alternate local blocks of a stage use dilation 1 and the stage's
  ``dilations[i]`` (8, 4, 2, 1 = map size / kernel at 224 x 224). ``dilations=[1, 1, 1, 1]``
  gives the released behaviour.
* Each global block builds a locality feed-forward it never calls (about 8% of the authors'
  parameter counts) and FasterKAN keeps its constant grid as a frozen parameter; we build
  neither, so our counts are the authors' minus those (see ``AUTHORS_NUM_PARAMS``).

Input ``[B, in_chans, H, W]`` with H and W divisible by 32 (224 x 224 in the paper);
output logits ``[B, num_classes]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.layers import DropPath
from torch import nn

from zoo import expect_shape
from zoo.errors import ConfigError
from zoo_medical.blocks.kan import FasterKAN
from zoo_medical.blocks.neighborhood_attention import NeighborhoodAttention2D
from zoo_medical.models.medvit_specs import VARIANTS

NORM_EPS = 1e-5

def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=NORM_EPS)


def make_divisible(value: float, divisor: int) -> int:
    """Round to a multiple of ``divisor`` without losing more than 10% (MobileNet's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), _bn(cout), nn.ReLU(inplace=True))


class PatchEmbed(nn.Module):
    """Downsample (2x2 average pool) and/or change width (1x1 conv + BN); identity otherwise."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.avgpool = (nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False) if stride == 2
                        else nn.Identity())
        if stride == 2 or cin != cout:
            self.conv, self.norm = nn.Conv2d(cin, cout, 1, bias=False), _bn(cout)
        else:
            self.conv, self.norm = nn.Identity(), nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(self.avgpool(x)))


class HSigmoid(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.relu6(x + 3) / 6


class HSwish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * nn.functional.relu6(x + 3) / 6


class SqueezeExcite(nn.Module):
    """Channel SE with an h-sigmoid gate (the locality feed-forward's attention)."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        hidden = channels // reduction
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels),
                                HSigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean((2, 3)))[:, :, None, None]


class LocalityFeedForward(nn.Module):
    """1x1 expand, depthwise k x k, SE, 1x1 project (LocalViT), with its own inner residual.

    ``[B, C, H, W] -> [B, C, H, W]``; the SE reduction equals C, so it has ``expand`` hidden units.
    """

    def __init__(self, channels: int, expand: int = 3, kernel_size: int = 3):
        super().__init__()
        hidden = channels * expand
        self.conv = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), HSwish(),
            nn.Conv2d(hidden, hidden, kernel_size, 1, kernel_size // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), HSwish(),
            SqueezeExcite(hidden, reduction=channels),
            nn.Conv2d(hidden, channels, 1, bias=False), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class MHCA(nn.Module):
    """Multi-head convolutional attention: grouped 3x3 (one group per head), BN, ReLU, 1x1."""

    def __init__(self, channels: int, head_dim: int):
        super().__init__()
        self.group_conv3x3 = nn.Conv2d(channels, channels, 3, 1, 1, groups=channels // head_dim, bias=False)
        self.norm = _bn(channels)
        self.act = nn.ReLU(inplace=True)
        self.projection = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.act(self.norm(self.group_conv3x3(x))))


class EfficientMHSA(nn.Module):
    """Multi-head self-attention whose keys/values are average-pooled over ``sr_ratio^2`` tokens.

    ``[B, N, C] -> [B, N, C]``; heads of ``head_dim`` channels.
    """

    def __init__(self, dim: int, head_dim: int, sr_ratio: int):
        super().__init__()
        self.heads, self.scale = dim // head_dim, head_dim ** -0.5
        self.q, self.k, self.v = (nn.Linear(dim, dim) for _ in range(3))
        self.proj = nn.Linear(dim, dim)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.AvgPool1d(sr_ratio ** 2, sr_ratio ** 2)
            self.norm = nn.BatchNorm1d(dim, eps=NORM_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        kv = x
        if self.sr_ratio > 1:
            kv = self.norm(self.sr(x.transpose(1, 2))).transpose(1, 2)
        q = self.q(x).view(batch, tokens, self.heads, -1).transpose(1, 2)
        k = self.k(kv).view(batch, kv.shape[1], self.heads, -1).transpose(1, 2)
        v = self.v(kv).view(batch, kv.shape[1], self.heads, -1).transpose(1, 2)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(batch, tokens, dim))


class LocalFeaturePerception(nn.Module):
    """LFP: ``x + DropPath(NA(BN(x)))`` then ``x + LFF(BN(x))``. ``[B, cin, H, W] -> [B, cout, H/s, W/s]``."""

    def __init__(self, cin: int, cout: int, stride: int, drop_path: float, head_dim: int, kernel_size: int,
                 dilation: int, ffn_kernel: int):
        super().__init__()
        self.patch_embed = PatchEmbed(cin, cout, stride)
        self.norm1 = _bn(cout)
        self.attn = NeighborhoodAttention2D(cout, cout // head_dim, kernel_size=kernel_size, dilation=dilation)
        self.drop_path = DropPath(drop_path)
        self.norm2 = _bn(cout)
        self.conv = LocalityFeedForward(cout, expand=3, kernel_size=ffn_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        attn = self.attn(self.norm1(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = x + self.drop_path(attn)
        return x + self.conv(self.norm2(x))


class GlobalFeaturePerception(nn.Module):
    """GFP: E-MHSA on 75% of the channels, MHCA on the rest, concatenated, then a KAN per position.

    ``[B, cin, H, W] -> [B, cout, H/s, W/s]``.
    """

    def __init__(self, cin: int, cout: int, stride: int, drop_path: float, head_dim: int, sr_ratio: int,
                 mix_block_ratio: float = 0.75):
        super().__init__()
        mhsa = make_divisible(int(cout * mix_block_ratio), 32)
        self.patch_embed = PatchEmbed(cin, mhsa, stride)
        self.norm1 = _bn(mhsa)
        self.e_mhsa = EfficientMHSA(mhsa, head_dim, sr_ratio)
        self.mhsa_drop_path = DropPath(drop_path * mix_block_ratio)
        self.projection = PatchEmbed(mhsa, cout - mhsa)
        self.mhca = MHCA(cout - mhsa, head_dim)
        self.mhca_drop_path = DropPath(drop_path * (1 - mix_block_ratio))
        self.norm2 = _bn(cout)
        self.kan = FasterKAN([cout, 2 * cout, cout])
        self.kan_drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        batch, _, height, width = x.shape
        tokens = self.norm1(x).flatten(2).transpose(1, 2)
        x = x + self.mhsa_drop_path(self.e_mhsa(tokens)).transpose(1, 2).reshape(x.shape)
        local = self.projection(x)
        x = torch.cat([x, local + self.mhca_drop_path(self.mhca(local))], dim=1)
        channels_last = self.norm2(x).permute(0, 2, 3, 1)  # a KAN per position, over its channels
        return x + self.kan_drop_path(self.kan(channels_last).permute(0, 3, 1, 2))


class MedViTV2(nn.Module):
    """MedViTV2 classifier (see the module docstring). ``[B, in_chans, H, W] -> [B, num_classes]``."""

    def __init__(self, depths: Sequence[int], dims: Sequence[int], drop_path: float = 0.1, num_classes: int = 1000,
                 in_chans: int = 3, stem_chs: Sequence[int] = (64, 32, 64), strides: Sequence[int] = (1, 2, 2, 2),
                 sr_ratios: Sequence[int] = (8, 4, 2, 1), head_dim: int = 32, kernel_size: int = 7,
                 dilations: Sequence[int] = (8, 4, 2, 1), name: str = "medvit-v2"):
        super().__init__()
        if len(depths) != 4 or len(dims) != 4:
            raise ConfigError(f"{name}: depths and dims need 4 stages, got {list(depths)} and {list(dims)}")
        if any(d % head_dim for d in dims):
            raise ConfigError(f"{name}: every width in dims {list(dims)} must be a multiple of head_dim={head_dim}")
        if depths[2] % 3:
            raise ConfigError(f"{name}: stage 3 repeats [LFP, LFP, GFP], so depths[2] must be a multiple of 3")
        self.name, self.in_chans = name, in_chans
        self.stem = nn.Sequential(ConvBNReLU(in_chans, stem_chs[0], 2), ConvBNReLU(stem_chs[0], stem_chs[1], 1),
                                  ConvBNReLU(stem_chs[1], stem_chs[2], 1), ConvBNReLU(stem_chs[2], stem_chs[2], 2))
        patterns = [["L"] * depths[0], ["L"] * (depths[1] - 1) + ["G"], ["L", "L", "G"] * (depths[2] // 3),
                    ["G"] * depths[3]]
        rates = torch.linspace(0, drop_path, sum(depths), device="cpu").tolist()
        blocks, cin, index = [], stem_chs[2], 0
        for stage, pattern in enumerate(patterns):
            local_count = 0
            for position, kind in enumerate(pattern):
                stride = strides[stage] if position == 0 else 1
                if kind == "L":
                    # DiNAT schedule: every second local block of a stage looks further away.
                    dilation = dilations[stage] if local_count % 2 else 1
                    # The authors widen the feed-forward's depthwise conv to 7x7 in the first stage.
                    blocks.append(LocalFeaturePerception(cin, dims[stage], stride, rates[index], head_dim,
                                                         kernel_size, dilation, 7 if stage == 0 else 3))
                    local_count += 1
                else:
                    blocks.append(GlobalFeaturePerception(cin, dims[stage], stride, rates[index], head_dim,
                                                          sr_ratios[stage]))
                cin, index = dims[stage], index + 1
        self.features = nn.Sequential(*blocks)
        self.norm = _bn(dims[-1])
        self.proj_head = nn.Linear(dims[-1], num_classes)
        self._initialize_weights()

    def _initialize_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                # The authors' trunc_normal_(std=0.02) truncates at +-2 (absolute), i.e. at 100
                # standard deviations: the same distribution as normal_, which is 4x faster.
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d, nn.LayerNorm)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, in_chans, H, W] -> [B, dims[-1], H/32, W/32]``."""
        expect_shape(x, "B C H W", model=self.name, C=self.in_chans, dtype="float", divisible_by={"H": 32, "W": 32})
        return self.norm(self.features(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj_head(self.forward_features(x).mean((2, 3)))


def build_medvit(variant: str = "tiny", num_classes: int = 1000, in_chans: int = 3, drop_path: float | None = None,
                 kernel_size: int = 7, dilations: Sequence[int] = (8, 4, 2, 1)) -> MedViTV2:
    """Build ``medvit-v2-{tiny,small,base,large}``."""
    if variant not in VARIANTS:
        raise ConfigError(f"medvit-v2: variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    spec = VARIANTS[variant]
    return MedViTV2(spec["depths"], spec["dims"], spec["drop_path"] if drop_path is None else drop_path,
                    num_classes=num_classes, in_chans=in_chans, kernel_size=kernel_size, dilations=list(dilations),
                    name=f"medvit-v2-{variant}")


def example_input(config: dict) -> torch.Tensor:
    return torch.randn(1, config.get("in_chans", 3), 64, 64)


def bad_input(config: dict) -> torch.Tensor:
    # 3 channels expected; a single-channel scan is the classic mistake (MedMNIST is grey-scale).
    return torch.randn(1, 1 if config.get("in_chans", 3) != 1 else 3, 64, 64)
