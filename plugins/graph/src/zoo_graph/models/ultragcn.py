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
from zoo.shapes import expect_shape
from zoo_graph.models.ultragcn_specs import DEFAULT, PAPER_CONFIGS, VARIANTS

__all__ = ["PAPER_CONFIGS", "UltraGCN", "bad_input", "build_ultragcn", "example_input"]

class UltraGCN(nn.Module):
    """User and item embedding tables scored by dot product.

    ``forward(users [B], items [B] or [B, K])`` returns scores with the shape of ``items``
    (one item per user, or K candidate items per user). ``user_embedding`` / ``item_embedding``
    are [num_users, d] / [num_items, d].
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int, init_std: float):
        super().__init__()
        self.num_users, self.num_items, self.init_std = num_users, num_items, init_std
        self.user_embedding = nn.Embedding(num_users, embedding_dim)
        self.item_embedding = nn.Embedding(num_items, embedding_dim)
        nn.init.normal_(self.user_embedding.weight, std=init_std)
        nn.init.normal_(self.item_embedding.weight, std=init_std)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        ids = {"model": "UltraGCN", "dtype": ("int64", "int32"), "min_value": 0}
        batch = expect_shape(users, "B", name="users", max_value=self.num_users - 1, **ids)["B"]
        pattern = "B" if items.dim() == 1 else "B K"
        expect_shape(items, pattern, name="items", max_value=self.num_items - 1, **ids)
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


def build_ultragcn(**config) -> UltraGCN:
    """Builder; the defaults are the paper's Amazon-CDs setting ((43,169 + 35,648) x 64 = 5,044,288 parameters)."""
    return UltraGCN(**{**VARIANTS[DEFAULT], **config})


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
