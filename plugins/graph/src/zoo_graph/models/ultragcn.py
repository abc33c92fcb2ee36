"""UltraGCN: two embedding tables trained with graph-derived constraint losses.

Mao, Zhu, Xiao, Lu, Wang, He, "UltraGCN: Ultra Simplification of Graph Convolutional Networks for
Recommendation", CIKM 2021 (arXiv:2110.15114); authors' code: github.com/xue-pai/UltraGCN.

UltraGCN skips message passing entirely: the score of (user, item) is the dot product of their
embeddings, and the graph enters only through the loss (the β-weighted user–item constraint and
the item–item top-K constraint), see :mod:`zoo_graph.recsys.ultragcn`. The graph-derived weights
are computed from the training interactions at training time, so the module holds nothing but
the two tables and can be built on the meta device.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.errors import InputShapeError
from zoo_graph.models._checks import check_ids

# Per-dataset settings of the paper / authors' configs: model part (dim, init std) and training part.
PAPER_CONFIGS: dict[str, dict] = {
    "amazon-book": dict(embedding_dim=64, init_std=1e-4, lr=1e-3, batch_size=1024, w1=1e-8, w2=1.0, w3=1.0, w4=1e-8,
                        negative_num=500, negative_weight=500.0, gamma=1e-4, lambda_=2.75, ii_neighbor_num=10,
                        early_stop=15, sift_pos=False),
    "yelp2018": dict(embedding_dim=64, init_std=1e-4, lr=1e-3, batch_size=1024, w1=1e-8, w2=1.0, w3=1e-8, w4=1.0,
                     negative_num=800, negative_weight=300.0, gamma=1e-4, lambda_=5e-4, ii_neighbor_num=10,
                     early_stop=15, sift_pos=False),
    "gowalla": dict(embedding_dim=64, init_std=1e-4, lr=1e-4, batch_size=512, w1=1e-6, w2=1.0, w3=1e-6, w4=1.0,
                    negative_num=1500, negative_weight=300.0, gamma=1e-4, lambda_=5e-4, ii_neighbor_num=10,
                    early_stop=150, sift_pos=False),
    "ml-1m": dict(embedding_dim=128, init_std=1e-3, lr=1e-3, batch_size=1024, w1=1e-7, w2=1.0, w3=1e-7, w4=1.0,
                  negative_num=200, negative_weight=200.0, gamma=1e-4, lambda_=1e-3, ii_neighbor_num=10,
                  early_stop=50, sift_pos=False),
    "amazon-cds": dict(embedding_dim=64, init_std=1e-4, lr=1e-3, batch_size=1024, w1=1e-7, w2=1.0, w3=1e-7, w4=1.0,
                       negative_num=1000, negative_weight=1000.0, gamma=1e-4, lambda_=1.0, ii_neighbor_num=10,
                       early_stop=15, sift_pos=False),
    "amazon-electronics": dict(embedding_dim=64, init_std=1e-3, lr=1e-3, batch_size=2048, w1=1e-7, w2=1.0, w3=1e-7,
                               w4=1.0, negative_num=75, negative_weight=75.0, gamma=5e-5, lambda_=1e-7,
                               ii_neighbor_num=10, early_stop=250, sift_pos=True),
}


class UltraGCN(nn.Module):
    """User and item embedding tables scored by dot product.

    ``forward(users [B], items [B] or [B, K])`` returns scores with the shape of ``items``
    (one item per user, or K candidate items per user). ``user_embedding`` / ``item_embedding``
    are [num_users, d] / [num_items, d].
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64, init_std: float = 1e-4):
        super().__init__()
        self.num_users, self.num_items, self.init_std = num_users, num_items, init_std
        self.user_embedding = nn.Embedding(num_users, embedding_dim)
        self.item_embedding = nn.Embedding(num_items, embedding_dim)
        nn.init.normal_(self.user_embedding.weight, std=init_std)
        nn.init.normal_(self.item_embedding.weight, std=init_std)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        batch = check_ids(users, self.num_users, "UltraGCN", "users")["B"]
        pattern = "B" if items.dim() == 1 else "B K"
        check_ids(items, self.num_items, "UltraGCN", "items", pattern)
        if items.shape[0] != batch:
            raise InputShapeError(f"UltraGCN: items must have one row per user ([B={batch}] or [B={batch}, K]), "
                                  f"got {list(items.shape)}")
        user = self.user_embedding(users)
        item = self.item_embedding(items)
        if items.dim() == 2:
            user = user.unsqueeze(1)
        return (user * item).sum(-1)

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The final user [U, d] and item [I, d] representations used for ranking."""
        return self.user_embedding.weight, self.item_embedding.weight


def ultragcn(num_users: int = 43169, num_items: int = 35648, embedding_dim: int = 64,
             init_std: float = 1e-4) -> UltraGCN:
    """Builder; the default config is the paper's Amazon-CDs setting ((43,169 + 35,648) x 64 = 5,044,288 parameters)."""
    return UltraGCN(num_users, num_items, embedding_dim, init_std)


def example_input(config: dict):
    """Eight users, each with one candidate item: ``(users [8], items [8])``."""
    generator = torch.Generator().manual_seed(0)
    users = torch.randint(0, config["num_users"], (8,), generator=generator)
    items = torch.randint(0, config["num_items"], (8,), generator=generator)
    return users, items


def bad_input(config: dict):
    """Item ids past the end of the item table."""
    users, items = example_input(config)
    return users, items + config["num_items"]
