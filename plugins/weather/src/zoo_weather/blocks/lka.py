"""Large Kernel Attention and the VAN block, on a latitude-longitude grid.

Guo et al., "Visual Attention Network", arXiv:2202.09741: LKA(u) = u ⊙ Conv1×1(DWConv7×7,d=3(DWConv5×5(u))),
a 21×21 receptive field for the price of two depthwise convolutions. PuYun (arXiv:2409.02123) builds
its forecast network from such blocks. On the globe the longitude axis is periodic, so every spatial
convolution here pads longitude circularly and latitude by replicating the polar rows, instead of
the zero padding of the image model. Shapes: ``[B, C, H, W]`` in and out.
"""

from __future__ import annotations

import torch
from torch import nn


def sphere_pad(x: torch.Tensor, pad_rows: int, pad_cols: int) -> torch.Tensor:
    """Pad ``[B, C, H, W]``: longitude (W) wraps around, latitude (H) repeats the edge rows.

    Done by indexing rather than ``F.pad``, which refuses a halo wider than the grid (the dilated
    7×7 kernel reaches 9 cells, more than the 8 columns of the 5.625° latent).
    """
    rows, cols = x.shape[-2:]
    if pad_cols:
        x = x[..., torch.arange(-pad_cols, cols + pad_cols, device=x.device) % cols]
    if pad_rows:
        x = x[..., torch.arange(-pad_rows, rows + pad_rows, device=x.device).clamp(0, rows - 1), :]
    return x


class SphereConv2d(nn.Conv2d):
    """``nn.Conv2d`` with 'same' output size under :func:`sphere_pad` (odd kernels)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, dilation: int = 1,
                 groups: int = 1, stride: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, dilation=dilation,
                         groups=groups, padding=0)
        self.halo = dilation * (kernel_size - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(sphere_pad(x, self.halo, self.halo))


class LargeKernelAttention(nn.Module):
    """LKA: DW 5×5 → DW 7×7 dilation 3 → 1×1, used as a multiplicative gate on the input."""

    def __init__(self, dim: int):
        super().__init__()
        self.local = SphereConv2d(dim, dim, 5, groups=dim)
        self.wide = SphereConv2d(dim, dim, 7, dilation=3, groups=dim)
        self.mix = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mix(self.wide(self.local(x)))


class SpatialAttention(nn.Module):
    """VAN's attention branch: 1×1 → GELU → LKA → 1×1, with the inner shortcut."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj_in = nn.Conv2d(dim, dim, 1)
        self.act = nn.GELU()
        self.lka = LargeKernelAttention(dim)
        self.proj_out = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj_out(self.lka(self.act(self.proj_in(x))))


class ConvMlp(nn.Module):
    """VAN's feed-forward: 1×1 → DW 3×3 → GELU → 1×1."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.dw = SphereConv2d(hidden, hidden, 3, groups=hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.dw(self.fc1(x))))


class VANBlock(nn.Module):
    """``x + γ₁·Attn(BN(x))`` then ``x + γ₂·MLP(BN(x))`` (VAN, arXiv:2202.09741, without drop-path)."""

    def __init__(self, dim: int, mlp_ratio: float = 4.0, layer_scale: float = 1e-2):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(dim)
        self.attn = SpatialAttention(dim)
        self.norm2 = nn.BatchNorm2d(dim)
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio))
        self.gamma1 = nn.Parameter(torch.full((dim, 1, 1), float(layer_scale)))
        self.gamma2 = nn.Parameter(torch.full((dim, 1, 1), float(layer_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.gamma1 * self.attn(self.norm1(x))
        return x + self.gamma2 * self.mlp(self.norm2(x))
