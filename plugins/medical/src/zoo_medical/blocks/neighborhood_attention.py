"""2-D (dilated) neighbourhood attention with relative positional bias, in plain torch.

Hassani et al., "Neighborhood Attention Transformer", arXiv:2204.07143, and Hassani & Shi,
"Dilated Neighborhood Attention Transformer", arXiv:2209.15001. Used by MedViTV2 (Manzari et al.,
arXiv:2502.13693) through the NATTEN library; NATTEN's CPU path needs a compiled extension and
its current API has no relative positional bias, so this is a gather-based re-implementation.

Semantics follow NATTEN: every query attends to a ``kernel x kernel`` window of keys; at borders
the window shifts inside the map instead of shrinking; with dilation ``d`` the positions form ``d``
interleaved sub-grids per axis and a window takes every ``d``-th position of its own sub-grid. The
bias table has ``(2k-1)^2`` entries per head, indexed by the key's offset from the query.

Two generalisations where NATTEN would refuse the input: on an axis shorter than ``kernel *
dilation`` the dilation drops to the largest that fits, and on an axis shorter than ``kernel``
the window covers the whole axis. Memory is ``O(H * W * kernel^2 * C)``, fine for MedViT's maps
(at most 56 x 56).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["NeighborhoodAttention2D", "neighborhood_indices"]


def neighborhood_indices(length: int, kernel: int, dilation: int,
                         device=None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Key indices and bias-table indices of every query position along one axis.

    Returns ``(keys [length, w], bias [length, w], dilation_used)`` with ``w = min(kernel, length)``;
    ``bias`` indexes a table of ``2 * kernel - 1`` offsets centred at ``kernel - 1``.
    """
    dilation = max(1, min(dilation, length // kernel)) if length >= kernel else 1
    window = min(kernel, length)
    pos = torch.arange(length, device=device)
    group, rank = pos % dilation, pos // dilation
    group_size = (length - group + dilation - 1) // dilation  # positions in this query's sub-grid
    start = (rank - window // 2).clamp(min=0)
    start = torch.minimum(start, group_size - window)
    offsets = torch.arange(window, device=device)
    key_rank = start[:, None] + offsets[None, :]
    keys = group[:, None] + dilation * key_rank
    bias = key_rank - rank[:, None] + kernel - 1
    return keys, bias, dilation


class NeighborhoodAttention2D(nn.Module):
    """Multi-head (dilated) neighbourhood self-attention on a channels-last map.

    Input and output ``[B, H, W, dim]``. ``qkv`` and ``proj`` are linear layers with bias, as in
    NATTEN's ``NeighborhoodAttention2D(dim, num_heads, kernel_size, dilation, qkv_bias=True,
    rel_pos_bias=True)``, so parameter counts and state-dict shapes match it.
    """

    def __init__(self, dim: int, num_heads: int, kernel_size: int = 7, dilation: int = 1,
                 attn_drop: float = 0.0, proj_drop: float = 0.0):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.num_heads, self.kernel_size, self.dilation = num_heads, kernel_size, dilation
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.rpb = nn.Parameter(torch.zeros(num_heads, 2 * kernel_size - 1, 2 * kernel_size - 1))
        nn.init.trunc_normal_(self.rpb, std=0.02, a=-2.0, b=2.0)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, dim = x.shape
        heads = self.num_heads
        qkv = self.qkv(x).view(batch, height, width, 3, heads, dim // heads).permute(3, 0, 4, 1, 2, 5)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]  # [B, heads, H, W, dh]
        rows, row_bias, _ = neighborhood_indices(height, self.kernel_size, self.dilation, x.device)
        cols, col_bias, _ = neighborhood_indices(width, self.kernel_size, self.dilation, x.device)
        # Gather each query's window: [B, heads, H, W, wh, ww, dh].
        r, c = rows[:, None, :, None], cols[None, :, None, :]
        k_win, v_win = k[:, :, r, c], v[:, :, r, c]
        logits = torch.einsum("bnhwd,bnhwijd->bnhwij", q, k_win)
        logits = logits + self.rpb[:, row_bias[:, None, :, None], col_bias[None, :, None, :]]
        shape = logits.shape
        attn = self.attn_drop(F.softmax(logits.flatten(-2), dim=-1).view(shape))
        out = torch.einsum("bnhwij,bnhwijd->bnhwd", attn, v_win)
        out = out.permute(0, 2, 3, 1, 4).reshape(batch, height, width, dim)
        return self.proj_drop(self.proj(out))

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, kernel_size={self.kernel_size}, dilation={self.dilation}"
