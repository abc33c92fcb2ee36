"""LightGCN on a user–item bipartite graph, using torch_geometric's ``LightGCN``.

He, Deng, Wang, Li, Zhang, Wang, "LightGCN: Simplifying and Powering Graph Convolution Network
for Recommendation", SIGIR 2020 (arXiv:2002.02126). The baseline UltraGCN is measured against.
Nodes are users ``0..U-1`` followed by items ``U..U+I-1``; the final representation is the mean
of the K+1 layer outputs (α = 1/(K+1)), the paper's setting with K = 3 and d = 64.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch_geometric.nn import LightGCN as PyGLightGCN
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import to_torch_csr_tensor

from zoo.errors import InputShapeError
from zoo.shapes import expect_shape
from zoo_graph.models.lightgcn_specs import DEFAULT, VARIANTS


class LightGCNRecommender(nn.Module):
    """``forward(edge_index [2, E], users [B], items [B])`` → scores [B].

    ``edge_index`` is the bipartite training graph over U + I nodes in both directions (see
    :func:`bipartite_edge_index`), or its :meth:`normalized_adjacency` (a sparse CSR tensor, computed
    once per graph by a training loop); ``users`` and ``items`` are 0-based ids in their own ranges.
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int, num_layers: int):
        super().__init__()
        self.num_users, self.num_items = num_users, num_items
        # normalize=False: the adjacency is normalised once per graph (normalized_adjacency),
        # not once per layer per batch as LGConv would, which dominates LightGCN's training time.
        self.lightgcn = PyGLightGCN(num_users + num_items, embedding_dim, num_layers, normalize=False)

    def forward(self, edge_index: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        ids = {"model": "LightGCN", "dtype": ("int64", "int32"), "min_value": 0}
        num_nodes = self.num_users + self.num_items
        if edge_index.layout == torch.sparse_csr:
            if tuple(edge_index.shape) != (num_nodes, num_nodes):
                raise InputShapeError(f"LightGCN: the normalised adjacency must be [{num_nodes}, {num_nodes}], "
                                      f"got {list(edge_index.shape)}")
            adjacency = edge_index
        else:
            expect_shape(edge_index, "2 E", name="edge_index", max_value=num_nodes - 1, **ids)
            adjacency = None
        batch = expect_shape(users, "B", name="users", max_value=self.num_users - 1, **ids)["B"]
        expect_shape(items, "B", name="items", max_value=self.num_items - 1, **ids)
        if items.shape[0] != batch:
            raise InputShapeError(f"LightGCN: items must be [B={batch}] like users, got {list(items.shape)}")
        pairs = torch.stack([users, items + self.num_users])
        return self.lightgcn(self.normalized_adjacency(edge_index) if adjacency is None else adjacency, pairs)

    def normalized_adjacency(self, edge_index: torch.Tensor) -> torch.Tensor:
        """D^-1/2 A D^-1/2 (no self-loops, as in LightGCN) as a sparse CSR tensor [U+I, U+I]."""
        return normalized_adjacency(edge_index, self.num_users + self.num_items)

    def embeddings(self, adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Propagated user [U, d] and item [I, d] representations given :meth:`normalized_adjacency`."""
        out = self.lightgcn.get_embedding(adjacency)
        return out[: self.num_users], out[self.num_users:]


def normalized_adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """D^-1/2 A D^-1/2 of a graph over ``num_nodes`` nodes (no self-loops) as a sparse CSR tensor."""
    edge_index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=False)
    with warnings.catch_warnings():  # torch's "sparse CSR is beta" notice, once per graph
        warnings.simplefilter("ignore", UserWarning)
        return to_torch_csr_tensor(edge_index, weight, size=(num_nodes, num_nodes))


def bipartite_edge_index(train: torch.Tensor, num_users: int) -> torch.Tensor:
    """(user, item) pairs [2, E] → the undirected LightGCN graph [2, 2E] over users then items."""
    users, items = train[0], train[1] + num_users
    return torch.stack([torch.cat([users, items]), torch.cat([items, users])])


def build_lightgcn(**config) -> LightGCNRecommender:
    """Builder; the defaults are Amazon-CDs with the paper's d = 64, K = 3 (5,044,288 parameters)."""
    return LightGCNRecommender(**{**VARIANTS[DEFAULT], **config})


def example_input(config: dict):
    """A 16-interaction graph and 4 (user, item) pairs: ``(edge_index, users, items)``."""
    generator = torch.Generator().manual_seed(0)
    train = torch.stack([torch.randint(0, config["num_users"], (16,), generator=generator),
                         torch.randint(0, config["num_items"], (16,), generator=generator)])
    return bipartite_edge_index(train, config["num_users"]), train[0, :4], train[1, :4]


def bad_input(config: dict):
    """Users and items of different batch sizes."""
    edge_index, users, items = example_input(config)
    return edge_index, users, items[:2]
