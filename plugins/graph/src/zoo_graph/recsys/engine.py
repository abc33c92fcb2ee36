"""The recommenders on ``zoo train``: training pairs with sampled negatives, the models' own losses, and
Recall@K / NDCG@K over all items as the validation metric.

A recipe of ``lightgcn`` or ``ultragcn`` names a prepare hook (:func:`zoo_graph.recsys.lightgcn.prepare`,
:func:`zoo_graph.recsys.ultragcn.prepare`) that turns the dataset's ``train`` and ``test`` splits
(``Data`` with a (user, item) ``edge_index``) into an :class:`InteractionPairs` training set and a
:class:`RankingValidation`. A batch of pairs is collated into the model's input and the target its loss
reads; negatives are drawn from torch's global RNG, which ``zoo train`` saves for ``--resume``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from zoo.errors import ConfigError
from zoo_graph.recsys.metrics import contains, evaluate_topk


class InteractionPairs:
    """Training (user, item) pairs ``[2, P]`` as a map-style dataset (item ``i``: pair ``i``).

    ``collate(items) -> (input, target)`` is the model's; ``loss(output, target, model)`` is its loss
    (the recipe's ``loss="data"``); ``model_config`` gives the model the data's user and item counts.
    """

    def __init__(self, pairs: torch.Tensor, num_users: int, num_items: int,
                 collate: Callable, loss: Callable, model_config: dict | None = None):
        self.pairs, self.num_users, self.num_items = pairs, num_users, num_items
        self.train_keys = torch.sort(pairs[0] * num_items + pairs[1]).values
        self._collate, self.loss = collate, loss
        self.model_config = {"num_users": num_users, "num_items": num_items, **(model_config or {})}

    def __len__(self) -> int:
        return self.pairs.shape[1]

    def __getitem__(self, index: int) -> int:
        return index

    def collate(self, indices: list[int]):
        chosen = self.pairs[:, torch.as_tensor(indices)]
        return self._collate(self, chosen[0], chosen[1])

    def negatives(self, users: torch.Tensor, num: int, sift: bool = True) -> torch.Tensor:
        """``num`` uniform negatives per user ``[B, num]``; ``sift`` redraws the user's training items."""
        negatives = torch.randint(0, self.num_items, (len(users), num))
        if sift:
            rows, cols = contains(self.train_keys, users[:, None] * self.num_items + negatives).nonzero(as_tuple=True)
            for _ in range(100):  # redraw only the clashing entries, and re-check only those
                if rows.numel() == 0:
                    break
                drawn = torch.randint(0, self.num_items, (rows.numel(),))
                negatives[rows, cols] = drawn
                clash = contains(self.train_keys, users[rows] * self.num_items + drawn)
                rows, cols = rows[clash], cols[clash]
        return negatives


class RankingValidation:
    """Recall@K and NDCG@K of the model's embeddings over all items, training items masked
    (:func:`zoo_graph.recsys.metrics.evaluate_topk`); ``embed(model) -> (users [U, d], items [I, d])``."""

    def __init__(self, train: torch.Tensor, test: torch.Tensor, embed: Callable, k: int = 20):
        self.train, self.test, self.embed, self.k = train, test, embed, k

    def __len__(self) -> int:
        return int(torch.unique(self.test[0]).numel())

    @torch.no_grad()
    def evaluate(self, model) -> dict[str, float]:
        users, items = self.embed(model)
        scores = evaluate_topk(users.detach().float().cpu(), items.detach().float().cpu(), self.train, self.test,
                               k=self.k)
        return {f"recall@{self.k}": scores[f"recall@{self.k}"], f"ndcg@{self.k}": scores[f"ndcg@{self.k}"]}


def splits(train, validation) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """(train edges, test edges, users, items) of the reader's ``train`` and ``test`` ``Data``."""
    for data in (train, validation):
        if not hasattr(data, "edge_index") or not hasattr(data, "num_users"):
            raise ConfigError("the recommenders train on a user-item dataset (amazon-cds, amazon-electronics, "
                              "gowalla, yelp2018, amazon-book): Data with a (user, item) edge_index, num_users, "
                              "num_items")
    return train.edge_index, validation.edge_index, int(train.num_users), int(train.num_items)
