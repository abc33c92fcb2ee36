"""Transformer feed-forward layers on tokens ``[B, N, C] -> [B, N, C_out]``."""

from __future__ import annotations

import torch
from torch import nn


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2``: the ViT feed-forward (ConViT, PVT v1)."""

    def __init__(self, dim: int, hidden: int, out: int | None = None):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, out or dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class ConvMlp(nn.Module):
    """PVT v2's feed-forward: ``fc1 -> (ReLU) -> 3x3 depthwise conv on the token grid -> GELU -> fc2``.

    The depthwise conv gives the tokens the positional information that PVT v2 no longer adds as an
    embedding (Wang et al., "PVT v2: Improved Baselines with Pyramid Vision Transformer",
    arXiv:2106.13797, §3.3). ``extra_relu`` is the linear-SRA variant's ReLU after ``fc1``.
    """

    def __init__(self, dim: int, hidden: int, extra_relu: bool = False):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.relu = nn.ReLU() if extra_relu else nn.Identity()
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        x = self.fc1(x)
        b, n, c = x.shape
        grid = self.relu(x.transpose(1, 2).reshape(b, c, *hw))
        x = self.dwconv(grid).flatten(2).transpose(1, 2)
        return self.fc2(self.act(x))
