"""Stochastic depth (Huang et al., "Deep Networks with Stochastic Depth", arXiv:1603.09382)."""

from __future__ import annotations

import torch
from torch import nn


class DropPath(nn.Module):
    """Drops the residual branch of whole samples with probability ``p`` while training and rescales
    the kept ones by ``1 / (1 - p)``; the identity in eval mode. Any shape ``[B, ...]``."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"
