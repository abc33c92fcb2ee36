"""The recurrent blocks of EvolveGCN that evolve a GCN weight matrix over time.

Pareja et al., "EvolveGCN: Evolving Graph Convolutional Networks for Dynamic Graphs", AAAI 2020
(arXiv:1902.10191). :class:`MatrixGRU` is a GRU whose input and hidden state are matrices
[rows, cols]; :class:`TopKSummary` summarises node embeddings [N, rows] into such a matrix
[rows, k] (EvolveGCN-H's GRU input).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class MatrixGate(nn.Module):
    """act(W·x + U·h + B) for matrices x, h [rows, cols]."""

    def __init__(self, rows: int, cols: int, activation: nn.Module):
        super().__init__()
        self.activation = activation
        self.W = nn.Parameter(torch.empty(rows, rows))
        self.U = nn.Parameter(torch.empty(rows, rows))
        self.bias = nn.Parameter(torch.zeros(rows, cols))
        bound = 1.0 / math.sqrt(rows)
        nn.init.uniform_(self.W, -bound, bound)
        nn.init.uniform_(self.U, -bound, bound)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.activation(self.W @ x + self.U @ h + self.bias)


class MatrixGRU(nn.Module):
    """A GRU whose input and hidden state are matrices [rows, cols] (the weights being evolved)."""

    def __init__(self, rows: int, cols: int):
        super().__init__()
        self.update = MatrixGate(rows, cols, nn.Sigmoid())
        self.reset = MatrixGate(rows, cols, nn.Sigmoid())
        self.candidate = MatrixGate(rows, cols, nn.Tanh())

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        z = self.update(x, h)
        r = self.reset(x, h)
        return (1 - z) * h + z * self.candidate(x, r * h)


class TopKSummary(nn.Module):
    """EvolveGCN-H's summary of node embeddings H [N, in] into a matrix [in, k].

    Nodes are scored by y = H p / ‖p‖; only nodes flagged in ``valid`` [N] (in the authors' code:
    the nodes with an edge at this step) compete for the k rows, and when fewer than k are
    valid the last chosen one is repeated, as the authors do. Output: (H ∘ tanh y)[top-k]ᵀ.
    """

    def __init__(self, in_channels: int, k: int):
        super().__init__()
        self.k = k
        self.scorer = nn.Parameter(torch.empty(in_channels, 1))
        nn.init.uniform_(self.scorer, -1.0 / math.sqrt(in_channels), 1.0 / math.sqrt(in_channels))

    def forward(self, h: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        scores = (h @ self.scorer).squeeze(1) / self.scorer.norm()
        candidates = torch.arange(h.shape[0], device=h.device)
        if valid is not None and bool(valid.any()):  # no node with an edge: every node competes
            candidates = candidates[valid]
        index = candidates[torch.topk(scores[candidates], min(self.k, candidates.numel())).indices]
        if index.numel() < self.k:
            index = torch.cat([index, index[-1:].expand(self.k - index.numel())])
        return (h[index] * torch.tanh(scores[index]).unsqueeze(1)).t()
