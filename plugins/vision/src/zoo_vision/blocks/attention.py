"""Attention layers on tokens ``[B, N, C]``.

``MultiHeadSelfAttention``: the transformer's scaled dot-product self-attention (Vaswani et al.,
"Attention Is All You Need", arXiv:1706.03762, §3.2) as ViT and DeiT use it (Dosovitskiy et al.,
arXiv:2010.11929; Touvron et al., arXiv:2012.12877).

``SpatialReductionAttention``: the attention of the Pyramid Vision Transformers (Wang et al.,
"Pyramid Vision Transformer: A Versatile Backbone for Dense Prediction without Convolutions",
arXiv:2102.12122 (ICCV 2021), §3.3, and "PVT v2", arXiv:2106.13797 (linear SRA)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ConfigError


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


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention with one fused ``qkv`` projection, ``[B, N, C] -> [B, N, C]``.

    ``qkv`` maps each token to queries, keys and values (laid out ``(3, heads, C / heads)`` along
    the output, as in ViT/DeiT and timm, so their checkpoints load unchanged); each head attends with
    ``softmax(q·kᵀ / sqrt(C / heads))``; ``proj`` mixes the concatenated heads.
    """

    def __init__(self, dim: int, heads: int, qkv_bias: bool = True):
        super().__init__()
        if dim % heads:
            raise ConfigError(f"MultiHeadSelfAttention: dim {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))
