"""LA-GNN: local augmentation of node features with a conditional VAE, and LA-GCN / LA-GAT.

Liu, Ying, Dong, Li, Xu, Rong, Zhao, Huang, Wu, "Local Augmentation for Graph Neural Networks",
ICML 2022 (arXiv:2109.03856); authors' code: github.com/SongtaoLiu0823/LAGNN.

- :class:`CVAE` learns p(x_neighbour | x_centre): encoder MLP on [x, c] (2F → 256, ReLU) to a
  10-d Gaussian, decoder MLP on [z, c] ((10 + F) → 256 → F, sigmoid). Sampling z ~ N(0, I) and
  decoding with a node's own features as condition generates a plausible neighbour feature
  vector for that node.
- :class:`LAGCN` runs ``concat`` + 1 parallel first-layer GCNs — one on each generated feature
  matrix and one on the original features — concatenates them and classifies with a second GCN.
  :class:`LAGAT` does the same with GAT layers.

The generated features are an *input* of LA-GCN / LA-GAT (``x_aug`` [concat, N, F]); see
:mod:`zoo_graph.train.lagnn` for generating them, pre-training the CVAE and training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GATConv, GCNConv

from zoo.errors import ConfigError
from zoo.shapes import expect_shape
from zoo_graph.models.lagnn_specs import VARIANTS


class CVAE(nn.Module):
    """Conditional VAE over feature vectors.

    ``forward(x [B, F], c [B, F])`` → ``(reconstruction [B, F], mean [B, latent], log_var [B, latent])``;
    z is sampled in training and is the mean in eval mode, so evaluation is deterministic.
    :meth:`generate` decodes fresh z ~ N(0, I) for conditions c [N, F] → [N, F].
    """

    def __init__(self, feature_dim: int, hidden_dim: int, latent_dim: int):
        super().__init__()
        self.feature_dim, self.latent_dim = feature_dim, latent_dim
        self.encoder = nn.Sequential(nn.Linear(2 * feature_dim, hidden_dim), nn.ReLU())
        self.mean = nn.Linear(hidden_dim, latent_dim)
        self.log_var = nn.Linear(hidden_dim, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim + feature_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, feature_dim), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch = expect_shape(x, "B F", name="x", model="CVAE", F=self.feature_dim, dtype="float")["B"]
        expect_shape(c, "B F", name="c", model="CVAE", B=batch, F=self.feature_dim)
        h = self.encoder(torch.cat([x, c], dim=-1))
        mean, log_var = self.mean(h), self.log_var(h)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var) if self.training else mean
        return self.decode(z, c), mean, log_var

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, c], dim=-1))

    @torch.no_grad()
    def generate(self, c: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One generated neighbour feature vector per row of ``c`` [N, F] → [N, F] in (0, 1)."""
        expect_shape(c, "N F", name="c", model="CVAE", F=self.feature_dim, dtype="float")
        z = torch.randn(c.shape[0], self.latent_dim, generator=generator, device=c.device)
        return self.decode(z, c)


def _expect_inputs(model: str, x: torch.Tensor, edge_index: torch.Tensor, x_aug: torch.Tensor, in_channels: int,
                   concat: int) -> None:
    num_nodes = expect_shape(x, "N F", name="x", model=model, F=in_channels, dtype="float")["N"]
    expect_shape(edge_index, "2 E", name="edge_index", model=model, dtype=("int64", "int32"), min_value=0,
                 max_value=num_nodes - 1)
    expect_shape(x_aug, "A N F", name="x_aug", model=model, A=concat, N=num_nodes, F=in_channels, dtype="float")


class LAGCN(nn.Module):
    """``forward(x [N, F], edge_index [2, E], x_aug [concat, N, F])`` → class logits [N, C].

    Branch k < concat reads ``x_aug[k]`` and the last branch the original ``x``, in the order of
    the authors' code; each branch is dropout → GCNConv → ReLU, then concat → dropout → GCNConv.
    ``hidden`` (output [N, (concat + 1)·hidden]) is the default explainer target.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, concat: int, dropout: float):
        super().__init__()
        self.in_channels, self.concat, self.dropout = in_channels, concat, dropout
        self.branches = nn.ModuleList(GCNConv(in_channels, hidden_channels) for _ in range(concat + 1))
        self.hidden = nn.Identity()
        self.out = GCNConv((concat + 1) * hidden_channels, out_channels)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, x_aug: torch.Tensor) -> torch.Tensor:
        _expect_inputs("LA-GCN", x, edge_index, x_aug, self.in_channels, self.concat)
        inputs = [*x_aug.unbind(0), x]
        h = torch.cat([F.relu(conv(F.dropout(xi, self.dropout, self.training), edge_index))
                       for conv, xi in zip(self.branches, inputs)], dim=-1)
        h = self.hidden(h)
        return self.out(F.dropout(h, self.dropout, self.training), edge_index)


class LAGAT(nn.Module):
    """LA-GAT: the LA-GCN layout with GATConv layers.

    Branches: dropout → GATConv(F, hidden, heads) → ELU; concat → dropout → GATConv(·, C,
    ``out_heads``, averaged). ``forward(x, edge_index, x_aug)`` → logits [N, C]. The authors pass
    GAT's LeakyReLU slope (0.2) to ELU as alpha; we use the standard ELU (alpha 1), as GAT does.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, concat: int, heads: int,
                 out_heads: int, dropout: float):
        super().__init__()
        self.in_channels, self.concat, self.dropout = in_channels, concat, dropout
        self.branches = nn.ModuleList(
            GATConv(in_channels, hidden_channels, heads=heads, dropout=dropout) for _ in range(concat + 1)
        )
        self.hidden = nn.Identity()
        self.out = GATConv((concat + 1) * hidden_channels * heads, out_channels, heads=out_heads, concat=False,
                           dropout=dropout)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, x_aug: torch.Tensor) -> torch.Tensor:
        _expect_inputs("LA-GAT", x, edge_index, x_aug, self.in_channels, self.concat)
        inputs = [*x_aug.unbind(0), x]
        h = torch.cat([F.elu(conv(F.dropout(xi, self.dropout, self.training), edge_index))
                       for conv, xi in zip(self.branches, inputs)], dim=-1)
        h = self.hidden(h)
        return self.out(F.dropout(h, self.dropout, self.training), edge_index)


_CLASSES = {"gcn": LAGCN, "gat": LAGAT, "cvae": CVAE}


def build_lagnn(variant: str = "gcn", **config) -> nn.Module:
    """Builder with the authors' Cora settings, overridden by ``config``.

    ``variant``: ``"gcn"`` — LA-GCN (hidden 8, concat 1; 23,063 parameters), ``"gat"`` — LA-GAT
    (hidden 8 x 4 heads, concat 1, 1 output head; 92,373), ``"cvae"`` — the generator (1,477,037).
    """
    if variant not in _CLASSES:
        raise ConfigError(f"LA-GNN variant must be one of {sorted(_CLASSES)}, got {variant!r}")
    return _CLASSES[variant](**{**VARIANTS[variant], **config})


def _graph(config: dict, width: int):
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(12, width, generator=generator)
    ring = torch.arange(12)
    edge_index = torch.stack([torch.cat([ring, (ring + 1) % 12]), torch.cat([(ring + 1) % 12, ring])])
    return x, edge_index, generator


def example_input(config: dict):
    """A 12-node ring with features and ``concat`` generated feature matrices: ``(x, edge_index, x_aug)``."""
    x, edge_index, generator = _graph(config, config["in_channels"])
    return x, edge_index, torch.rand(config["concat"], *x.shape, generator=generator)


def bad_input(config: dict):
    """One generated feature matrix too many."""
    x, edge_index, x_aug = example_input(config)
    return x, edge_index, torch.cat([x_aug, x_aug[:1]])


def cvae_example_input(config: dict):
    """Four (neighbour, centre) feature pairs: ``(x [4, F], c [4, F])``."""
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(4, config["feature_dim"], generator=generator) < 0.05).float()
    c = (torch.rand(4, config["feature_dim"], generator=generator) < 0.05).float()
    return x, c


def cvae_bad_input(config: dict):
    """Conditions with a different batch size than x."""
    x, c = cvae_example_input(config)
    return x, c[:2]
