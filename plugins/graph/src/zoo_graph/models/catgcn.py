"""CatGCN: graph convolution for nodes described by categorical features.

Chen, Feng, Wang, He, Song, Ling, Zhang, "CatGCN: Graph Convolutional Networks with Categorical
Node Features", IEEE TKDE 35(4), 2023 (arXiv:2009.05303); authors' code: github.com/TachiChan/CatGCN.

Every node carries F categorical feature ids embedded by one shared table (d = ``field_dim``).

- **Global interaction** (artificial feature graph, "agc"): the F embeddings of a node form a
  complete graph with self-loop weight p (``diag_probe``), normalised P = (J + pI)/(F + p); one
  layer H = P·E·W + b, ReLU, dropout, mean over fields, then an MLP (``grn_units``) to C logits.
- **Local interaction** (NFM bi-interaction): ½[(Σ_f e_f)² − Σ_f e_f²], then an MLP
  (``nfm_units``) to C logits.
- **Fusion** in logit space: α·global + (1 − α)·local (α = ``balance_ratio``).
- **Propagation** ("pna" in the authors' code, not PyG's PNAConv): K hops of parameter-free
  GCN-normalised propagation with self-loops, then log-softmax. The authors normalise with the
  old ``GCNConv.norm`` — degrees counted at the *source* of each edge (out-degrees) — and then
  propagate from source to target: z'_i = Σ_{j→i} z_j / √(d_out(j)·d_out(i)) (``degree="out"``,
  the default). ``degree="in"`` is torch_geometric's GCN / ``APPNP(K, alpha=0)`` convention
  (in-degrees); the two agree on undirected graphs.

P·E is computed as (Σ_f e_f + p·e)/(F + p) instead of materialising the N·F² field adjacency.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from zoo.errors import ConfigError
from zoo.shapes import expect_shape
from zoo_graph.models.catgcn_specs import DEFAULT, VARIANTS


def _mlp(widths: list[int]) -> nn.ModuleList:
    return nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))


class CatGCN(nn.Module):
    """``forward(fields [N, F] int64, edge_index [2, E])`` → log-probabilities [N, num_classes]."""

    def __init__(self, num_features: int, num_classes: int, field_dim: int, diag_probe: float,
                 grn_units: tuple[int, ...], nfm_units: tuple[int, ...], hops: int, balance_ratio: float,
                 dropout: float, degree: str = "out"):
        super().__init__()
        self.num_features, self.diag_probe = num_features, diag_probe
        self.balance_ratio, self.dropout = balance_ratio, dropout
        self.field_embedding = nn.Embedding(num_features, field_dim)
        self.agc_weight = nn.Parameter(torch.empty(field_dim, field_dim))
        self.agc_bias = nn.Parameter(torch.zeros(field_dim))
        nn.init.xavier_uniform_(self.agc_weight)
        self.global_mlp = _mlp([field_dim, *grn_units, num_classes])
        self.local_mlp = _mlp([field_dim, *nfm_units, num_classes])
        if degree not in ("out", "in"):
            raise ConfigError(f"CatGCN degree must be 'out' (the authors') or 'in', got {degree!r}")
        self.hops, self.degree = hops, degree

    def _run(self, mlp: nn.ModuleList, h: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(mlp):
            h = layer(h)
            if i + 1 < len(mlp):
                h = F.dropout(F.relu(h), self.dropout, self.training)
        return h

    def forward(self, fields: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        num_nodes = expect_shape(fields, "N F", name="fields", model="CatGCN", dtype=("int64", "int32"), min_value=0,
                                 max_value=self.num_features - 1)["N"]
        expect_shape(edge_index, "2 E", name="edge_index", model="CatGCN", dtype=("int64", "int32"), min_value=0,
                     max_value=num_nodes - 1)
        e = self.field_embedding(fields)  # [N, F, d]
        num_fields = e.shape[1]
        summed = e.sum(dim=1, keepdim=True)

        # global: P·E·W + b with P = (J + pI)/(F + p), P·E written without the F x F matrix
        mixed = (summed + self.diag_probe * e) / (num_fields + self.diag_probe)
        g = F.dropout(F.relu(mixed @ self.agc_weight + self.agc_bias), self.dropout, self.training)
        global_logits = self._run(self.global_mlp, g.mean(dim=1))

        # local: NFM bi-interaction pooling of all field pairs
        bi = 0.5 * (summed.squeeze(1).pow(2) - e.pow(2).sum(dim=1))
        local_logits = self._run(self.local_mlp, bi)

        z = self.balance_ratio * global_logits + (1 - self.balance_ratio) * local_logits
        return F.log_softmax(self.propagate(z, edge_index), dim=1)

    def propagate(self, z: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """``hops`` steps of z ← Â z from source to target, Â normalised by out- or in-degrees."""
        # gcn_norm's "target_to_source" counts degrees at edge_index[0], the source
        flow = "target_to_source" if self.degree == "out" else "source_to_target"
        index, weight = gcn_norm(edge_index, None, z.shape[0], add_self_loops=True, flow=flow, dtype=z.dtype)
        for _ in range(self.hops):
            z = torch.zeros_like(z).index_add_(0, index[1], z[index[0]] * weight.unsqueeze(1))
        return z


def build_catgcn(**config) -> CatGCN:
    """Builder with the authors' Tencent-age settings (p = 1, K = 6, α = 0.4, dropout 0.3, no hidden MLP layers).

    ``num_features`` (the categorical vocabulary) and ``num_classes`` depend on the data; the
    Tencent data is not public, so the default vocabulary of 10,000 ids and 5 classes are
    placeholders (644,810 parameters), not the paper's sizes.
    """
    settings = {**VARIANTS[DEFAULT], **config}
    settings["grn_units"], settings["nfm_units"] = tuple(settings["grn_units"]), tuple(settings["nfm_units"])
    return CatGCN(**settings)


def example_input(config: dict):
    """Ten nodes with 6 categorical fields each and a ring graph: ``(fields, edge_index)``."""
    generator = torch.Generator().manual_seed(0)
    fields = torch.randint(0, config["num_features"], (10, 6), generator=generator)
    ring = torch.arange(10)
    edge_index = torch.stack([torch.cat([ring, (ring + 1) % 10]), torch.cat([(ring + 1) % 10, ring])])
    return fields, edge_index


def bad_input(config: dict):
    """Feature ids past the end of the vocabulary."""
    fields, edge_index = example_input(config)
    return fields + config["num_features"], edge_index
