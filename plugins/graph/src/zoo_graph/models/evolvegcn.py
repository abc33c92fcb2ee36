"""EvolveGCN-H and EvolveGCN-O: GCNs whose weights are evolved over time by a recurrent cell.

Pareja, Domeniconi, Chen, Ma, Suzumura, Kanezashi, Kaler, Schardl, Leiserson, "EvolveGCN:
Evolving Graph Convolutional Networks for Dynamic Graphs", AAAI 2020 (arXiv:1902.10191);
authors' code: github.com/IBM/EvolveGCN.

Each layer keeps a weight matrix W [in, out]. At every snapshot t it is evolved by a matrix GRU
(gates act(W_g·X + U_g·H + B_g) with W_g, U_g [in, in] and B_g [in, out]) and then used in a GCN
step σ(Â_t H_t W_t):

- **-H**: the GRU input is a summary of the node embeddings: the ``out`` top-scoring nodes by
  the learnable projection y = H p / ‖p‖, rows scaled by tanh(y), transposed to [in, out];
- **-O**: the GRU input is the previous weight itself. The paper describes an LSTM here; the
  authors' code (whose numbers the paper reports) uses the same matrix GRU, and so do we, without
  their unused top-k scorer.

The adjacency is the authors' (``taskers_utils.normalize_adj``): duplicate edges counted once,
Â = D^-1/2 (A + I) D^-1/2 with D the row sums (out-degrees) of A + I, and Â·H aggregates each
node's out-neighbours (``flow="target_to_source"`` in torch_geometric's terms). torch_geometric's
own GCN convention — in-degrees, messages from source to target — is ``flow="source_to_target"``;
the two agree on undirected graphs. In -H, only nodes with an edge at the step compete for the
top-k summary, as in the authors' code (their node mask).

Written on plain PyG utilities (``gcn_norm``) so that every snapshot may have a different number
of nodes — Elliptic's do — which torch_geometric_temporal's ``EvolveGCNH`` cannot handle.
The evolved weights live only inside one forward call, so consecutive calls never share
autograd graphs. Activation: RReLU, as in the authors' code (the paper writes σ).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import coalesce

from zoo.errors import ConfigError, InputShapeError
from zoo.shapes import expect_shape
from zoo_graph.blocks import MatrixGRU, TopKSummary
from zoo_graph.models.evolvegcn_specs import VARIANTS

FLOWS = ("target_to_source", "source_to_target")


def normalized_adjacency(edge_index: torch.Tensor, num_nodes: int, flow: str = "target_to_source"
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(receiver, sender, weight) of Â = D^-1/2 (A + I) D^-1/2 over the distinct edges of ``edge_index``.

    ``flow="target_to_source"`` (the authors'): A[i, j] = 1 for an edge i → j, D its row sums, and
    node i receives from j. ``"source_to_target"`` (torch_geometric's GCN): D counts in-edges and
    the target receives from the source.
    """
    edge_index = coalesce(edge_index.long(), num_nodes=num_nodes)  # the authors' coalesce: duplicates count once
    index, norm = gcn_norm(edge_index, None, num_nodes, add_self_loops=True, flow=flow)
    receiver, sender = (index[0], index[1]) if flow == "target_to_source" else (index[1], index[0])
    return receiver, sender, norm


class EvolvingGCNLayer(nn.Module):
    """One EvolveGCN layer applied to a sequence of snapshots."""

    def __init__(self, in_channels: int, out_channels: int, variant: str):
        super().__init__()
        self.variant = variant
        self.initial_weight = nn.Parameter(torch.empty(in_channels, out_channels))
        nn.init.uniform_(self.initial_weight, -1.0 / math.sqrt(out_channels), 1.0 / math.sqrt(out_channels))
        self.evolve = MatrixGRU(in_channels, out_channels)
        self.summary = TopKSummary(in_channels, out_channels) if variant == "h" else None
        self.activation = nn.RReLU()

    def forward(self, xs: list[torch.Tensor], adjacencies: list[tuple[torch.Tensor, torch.Tensor]],
                valid: list[torch.Tensor]) -> list[torch.Tensor]:
        """``adjacencies``: per snapshot, (receiver, sender, weight) of Â; ``valid``: nodes with an edge."""
        weight = self.initial_weight
        outputs = []
        for x, (receiver, sender, norm), has_edge in zip(xs, adjacencies, valid):
            step_input = self.summary(x, has_edge) if self.summary is not None else weight
            weight = self.evolve(step_input, weight)
            h = x @ weight
            out = torch.zeros_like(h).index_add_(0, receiver, h[sender] * norm.unsqueeze(1))
            outputs.append(self.activation(out))
        return outputs


class EvolveGCN(nn.Module):
    """Two evolving GCN layers and an MLP node classifier on the last snapshot.

    Input: ``xs`` — a list of T node-feature tensors [N_t, in_channels] (N_t may differ) and
    ``edge_indices`` — a list of T edge indices [2, E_t] over each snapshot's own nodes.
    Output: class logits [N_T, num_classes] for the nodes of the last snapshot.
    """

    def __init__(self, variant: str, in_channels: int, hidden_channels: int, classifier_channels: int,
                 num_classes: int = 2, flow: str = "target_to_source"):
        super().__init__()
        if variant not in ("h", "o"):
            raise ConfigError(f"EvolveGCN variant must be 'h' or 'o', got {variant!r}")
        if flow not in FLOWS:
            raise ConfigError(f"EvolveGCN flow must be one of {FLOWS}, got {flow!r}")
        self.variant, self.in_channels, self.flow = variant, in_channels, flow
        self.layer1 = EvolvingGCNLayer(in_channels, hidden_channels, variant)
        self.layer2 = EvolvingGCNLayer(hidden_channels, hidden_channels, variant)
        self.classifier = nn.Sequential(
            nn.Linear(hidden_channels, classifier_channels), nn.ReLU(), nn.Linear(classifier_channels, num_classes)
        )

    def node_embeddings(self, xs: list[torch.Tensor], edge_indices: list[torch.Tensor]) -> list[torch.Tensor]:
        """Embeddings [N_t, hidden] of every snapshot."""
        name = f"EvolveGCN-{self.variant.upper()}"
        if not isinstance(xs, (list, tuple)) or not isinstance(edge_indices, (list, tuple)):
            raise InputShapeError(f"{name}: expects a list of feature tensors and a list of edge indices, "
                                  "one per snapshot")
        if len(xs) != len(edge_indices) or not xs:
            raise InputShapeError(f"{name}: got {len(xs)} feature tensors and {len(edge_indices)} edge indices; "
                                  "need the same non-zero number of snapshots")
        adjacencies, valid = [], []
        for t, (x, edge_index) in enumerate(zip(xs, edge_indices)):
            num_nodes = expect_shape(x, "N F", name=f"xs[{t}]", model=name, F=self.in_channels, dtype="float")["N"]
            expect_shape(edge_index, "2 E", name=f"edge_indices[{t}]", model=name, dtype=("int64", "int32"),
                         min_value=0, max_value=num_nodes - 1)
            adjacencies.append(normalized_adjacency(edge_index, num_nodes, self.flow))
            valid.append(torch.zeros(num_nodes, dtype=torch.bool, device=x.device).index_fill_(0, edge_index.flatten(),
                                                                                                 True))
        return self.layer2(self.layer1(list(xs), adjacencies, valid), adjacencies, valid)

    def forward(self, xs: list[torch.Tensor], edge_indices: list[torch.Tensor]) -> torch.Tensor:
        return self.classifier(self.node_embeddings(xs, edge_indices)[-1])


def build_evolvegcn(variant: str = "h", **config) -> EvolveGCN:
    """Builder: EvolveGCN-``variant`` ('h' or 'o') with the authors' Elliptic config, overridden by ``config``.

    314,094 parameters for -H, 1,070,195 for -O (their unused top-k scorers dropped).
    """
    if variant not in VARIANTS:
        raise ConfigError(f"EvolveGCN variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    return EvolveGCN(variant, **{**VARIANTS[variant], **config})


def example_input(config: dict):
    """Three snapshots of 9, 14 and 6 nodes (ring graphs): ``(xs, edge_indices)``."""
    generator = torch.Generator().manual_seed(0)
    xs, edges = [], []
    for n in (9, 14, 6):
        xs.append(torch.rand(n, config["in_channels"], generator=generator))
        ring = torch.arange(n)
        edges.append(torch.stack([torch.cat([ring, (ring + 1) % n]), torch.cat([(ring + 1) % n, ring])]))
    return xs, edges


def bad_input(config: dict):
    """One snapshot's features one column short."""
    xs, edges = example_input(config)
    xs[1] = xs[1][:, :-1]
    return xs, edges
