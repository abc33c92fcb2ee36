"""Spatial-reduction attention, the attention of the Pyramid Vision Transformers.

Wang et al., "Pyramid Vision Transformer: A Versatile Backbone for Dense Prediction without
Convolutions", arXiv:2102.12122 (ICCV 2021), §3.3, and "PVT v2", arXiv:2106.13797 (linear SRA).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SpatialReductionAttention(nn.Module):
    """Multi-head attention whose keys and values come from a reduced token grid.

    Queries are all ``N = H·W`` tokens; keys/values come from the grid shrunk by an ``R x R``
    stride-``R`` conv + LayerNorm (``sr_ratio = R``; none for R = 1), or, with ``linear=True``,
    from a 7 x 7 average pool + 1 x 1 conv + LayerNorm + GELU (49 keys whatever the input size).
    Input tokens ``[B, N, C]`` and the grid size ``(H, W)``; output ``[B, N, C]``.
    """

    def __init__(self, dim: int, heads: int, sr_ratio: int = 1, linear: bool = False, qkv_bias: bool = True):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.linear = linear
        if linear:
            self.pool = nn.AdaptiveAvgPool2d(7)
            self.sr = nn.Conv2d(dim, dim, 1)
            self.norm = nn.LayerNorm(dim)
            self.act = nn.GELU()
        elif sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)
        else:
            self.sr = None

    def _reduced(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        if self.sr is None:
            return x
        b, n, c = x.shape
        grid = x.transpose(1, 2).reshape(b, c, *hw)
        if self.linear:
            return self.act(self.norm(self.sr(self.pool(grid)).flatten(2).transpose(1, 2)))
        return self.norm(self.sr(grid).flatten(2).transpose(1, 2))

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        b, n, c = x.shape
        q = self.q(x).reshape(b, n, self.heads, -1).transpose(1, 2)
        k, v = self.kv(self._reduced(x, hw)).reshape(b, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))
