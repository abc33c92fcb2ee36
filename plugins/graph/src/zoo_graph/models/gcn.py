"""The two-layer graph convolutional network of Kipf & Welling.

"Semi-Supervised Classification with Graph Convolutional Networks", ICLR 2017
(arXiv:1609.02907). Built from torch_geometric's ``GCNConv`` (symmetric normalisation with
self-loops). This is the baseline LA-GCN is measured against and the GCN of Weber et al. on
Elliptic; Skip-GCN adds a linear skip from the input features to the output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GCNConv

from zoo.errors import InputShapeError
from zoo.shapes import expect_shape
from zoo_graph.models.gcn_specs import DEFAULT, VARIANTS


class GCN(nn.Module):
    """Two GCN layers: dropout → GCNConv → ReLU → dropout → GCNConv.

    Input: ``x`` [N, in_channels] float and ``edge_index`` [2, E]; output: class logits
    [N, out_channels]. ``act1`` (a module, output [N, hidden_channels]) is the default
    explainer target, so Grad-CAM gives one importance value per node.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, dropout: float = 0.5,
                 skip: bool = False):
        super().__init__()
        self.in_channels = in_channels
        self.dropout = dropout
        self.conv1 = GCNConv(in_channels, hidden_channels)
        self.act1 = nn.ReLU()
        self.conv2 = GCNConv(hidden_channels, out_channels)
        # Skip-GCN (Weber et al.): output = Â·H1·W2 + X·W_skip, no extra bias.
        self.skip = nn.Linear(in_channels, out_channels, bias=False) if skip else None

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor | None = None) -> torch.Tensor:
        name = type(self).__name__ if self.skip is None else "SkipGCN"
        if edge_index is None:  # e.g. `zoo explain gcn features.npy`: a graph model needs the graph too
            raise InputShapeError(f"{name} takes (x [N, {self.in_channels}], edge_index [2, E]); got no edge_index")
        num_nodes = expect_shape(x, "N F", name="x", model=name, F=self.in_channels, dtype="float")["N"]
        expect_shape(edge_index, "2 E", name="edge_index", model=name, dtype=("int64", "int32"), min_value=0,
                     max_value=num_nodes - 1)
        h = F.dropout(x, self.dropout, self.training)
        h = self.act1(self.conv1(h, edge_index))
        h = F.dropout(h, self.dropout, self.training)
        out = self.conv2(h, edge_index)
        if self.skip is not None:
            out = out + self.skip(x)
        return out


def build_gcn(**config) -> GCN:
    """Builder: the Kipf & Welling GCN; the defaults are the paper's Cora setting (23,063 parameters)."""
    return GCN(**{**VARIANTS[DEFAULT], **config})


def example_input(config: dict):
    """A small random graph (12 nodes) with the configured feature width: ``(x, edge_index)``."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(12, config["in_channels"], generator=generator)
    ring = torch.arange(12)
    edge_index = torch.stack([torch.cat([ring, (ring + 1) % 12]), torch.cat([(ring + 1) % 12, ring])])
    return x, edge_index


def bad_input(config: dict):
    """Features one column too wide: the model must reject them with InputShapeError."""
    x, edge_index = example_input(config)
    return torch.cat([x, x[:, :1]], dim=1), edge_index
