"""FasterKAN: a Kolmogorov-Arnold network layer with reflectional-switch (RSWAF) basis functions.

The KAN of MedViTV2 (Manzari et al., "Medical Image Classification with KAN-Integrated
Transformers and Dilated Neighborhood Attention", arXiv:2502.13693), which uses Athanasios
Delis's FasterKAN; KANs after Liu et al., "KAN: Kolmogorov-Arnold Networks", arXiv:2404.19756.

Each layer normalises its input, expands every feature ``x`` into ``G`` basis values
``1 - tanh^2((x - g_k) / h)`` on a fixed uniform grid ``g_1..g_G`` in ``[grid_min, grid_max]``,
and mixes the ``in * G`` values with one bias-free linear map. As in the authors' configuration
there is no SiLU "base" branch. The grid is a constant, rebuilt in ``forward`` rather than stored
(the authors keep it as a frozen parameter: 8 values per layer that our counts leave out).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["FasterKAN", "FasterKANLayer"]


class FasterKANLayer(nn.Module):
    """``[..., in_features] -> [..., out_features]``; ``2 * in + in * G * out`` parameters."""

    def __init__(self, in_features: int, out_features: int, num_grids: int = 8, grid_min: float = -2.0,
                 grid_max: float = 2.0, denominator: float = 0.33):
        super().__init__()
        self.num_grids, self.grid_min, self.grid_max = num_grids, grid_min, grid_max
        self.inv_denominator = 1.0 / denominator
        self.layernorm = nn.LayerNorm(in_features)
        self.spline_linear = nn.Linear(in_features * num_grids, out_features, bias=False)
        nn.init.xavier_uniform_(self.spline_linear.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = torch.linspace(self.grid_min, self.grid_max, self.num_grids, device=x.device, dtype=x.dtype)
        basis = 1 - torch.tanh((self.layernorm(x)[..., None] - grid) * self.inv_denominator) ** 2
        return self.spline_linear(basis.flatten(-2))


class FasterKAN(nn.Sequential):
    """A stack of :class:`FasterKANLayer` with widths ``layers`` (MedViTV2: ``[C, 2C, C]``)."""

    def __init__(self, layers: Sequence[int], num_grids: int = 8):
        super().__init__(*[FasterKANLayer(a, b, num_grids=num_grids) for a, b in zip(layers[:-1], layers[1:])])
