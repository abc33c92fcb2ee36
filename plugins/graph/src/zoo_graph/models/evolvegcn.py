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

from zoo.errors import ConfigError, InputShapeError
from zoo_graph.models._checks import check_edge_index, check_features


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
    """EvolveGCN-H's summary of node embeddings H [N, in] into a matrix [in, k]."""

    def __init__(self, in_channels: int, k: int):
        super().__init__()
        self.k = k
        self.scorer = nn.Parameter(torch.empty(in_channels, 1))
        nn.init.uniform_(self.scorer, -1.0 / math.sqrt(in_channels), 1.0 / math.sqrt(in_channels))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        scores = (h @ self.scorer).squeeze(1) / self.scorer.norm()
        index = torch.topk(scores, min(self.k, h.shape[0])).indices
        if index.numel() < self.k:  # fewer nodes than k: repeat the last one, as the authors do
            index = torch.cat([index, index[-1:].expand(self.k - index.numel())])
        return (h[index] * torch.tanh(scores[index]).unsqueeze(1)).t()


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

    def forward(self, xs: list[torch.Tensor], adjacencies: list[tuple[torch.Tensor, torch.Tensor]]
                ) -> list[torch.Tensor]:
        """``adjacencies``: per snapshot, the (edge_index, weight) of gcn_norm with self-loops."""
        weight = self.initial_weight
        outputs = []
        for x, adjacency in zip(xs, adjacencies):
            step_input = self.summary(x) if self.summary is not None else weight
            weight = self.evolve(step_input, weight)
            index, norm = adjacency
            h = x @ weight
            # Â·H: messages flow from index[0] (source) to index[1] (target), as gcn_norm orders them
            out = torch.zeros_like(h).index_add_(0, index[1], h[index[0]] * norm.unsqueeze(1))
            outputs.append(self.activation(out))
        return outputs


class EvolveGCN(nn.Module):
    """Two evolving GCN layers and an MLP node classifier on the last snapshot.

    Input: ``xs`` — a list of T node-feature tensors [N_t, in_channels] (N_t may differ) and
    ``edge_indices`` — a list of T edge indices [2, E_t] over each snapshot's own nodes.
    Output: class logits [N_T, num_classes] for the nodes of the last snapshot.
    """

    def __init__(self, variant: str, in_channels: int, hidden_channels: int, classifier_channels: int,
                 num_classes: int = 2):
        super().__init__()
        if variant not in ("h", "o"):
            raise ConfigError(f"EvolveGCN variant must be 'h' or 'o', got {variant!r}")
        self.variant, self.in_channels = variant, in_channels
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
        adjacencies = []
        for t, (x, edge_index) in enumerate(zip(xs, edge_indices)):
            num_nodes = check_features(x, name, self.in_channels, name=f"xs[{t}]")
            check_edge_index(edge_index, num_nodes, name, name=f"edge_indices[{t}]")
            adjacencies.append(gcn_norm(edge_index, None, num_nodes, add_self_loops=True))
        return self.layer2(self.layer1(list(xs), adjacencies), adjacencies)

    def forward(self, xs: list[torch.Tensor], edge_indices: list[torch.Tensor]) -> torch.Tensor:
        return self.classifier(self.node_embeddings(xs, edge_indices)[-1])


def evolvegcn_h(in_channels: int = 166, hidden_channels: int = 76, classifier_channels: int = 510,
                num_classes: int = 2) -> EvolveGCN:
    """Builder: EvolveGCN-H with the authors' Elliptic config (314,094 parameters)."""
    return EvolveGCN("h", in_channels, hidden_channels, classifier_channels, num_classes)


def evolvegcn_o(in_channels: int = 166, hidden_channels: int = 256, classifier_channels: int = 307,
                num_classes: int = 2) -> EvolveGCN:
    """Builder: EvolveGCN-O with the authors' Elliptic config (1,070,195 parameters; their unused scorers dropped)."""
    return EvolveGCN("o", in_channels, hidden_channels, classifier_channels, num_classes)


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
