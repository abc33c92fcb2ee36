"""Full-ranking Recall@K / NDCG@K without a dense users x items mask.

The authors' UltraGCN evaluation masks training items through a dense float matrix of
users x items (19 GB on Amazon-Book). Here users are scored in batches: each batch builds a
[batch, num_items] score block, writes -inf at that batch's training items (taken from a CSR
index), takes the top K and checks hits against the sorted test keys. Peak memory is
O(batch x items + users + items + interactions) — linear in users + items for a fixed batch.

Definitions follow the UltraGCN code: Recall@K = hits / |test items of the user|, NDCG@K with
binary gains and the ideal DCG over min(|test|, K), both summed over every user and divided by
the number of users U (``average="all-users"``, the default; a user without a test item adds 0).
``average="test-users"`` divides by the users that have at least one test item instead; the
two agree whenever every user has a test item, as on the released splits.
"""

from __future__ import annotations

import math

import torch

from zoo.errors import ConfigError

AVERAGES = ("all-users", "test-users")


def csr(edge_index: torch.Tensor, num_users: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(indptr [U + 1], items sorted by user) of a (user, item) edge index [2, E]."""
    order = torch.argsort(edge_index[0], stable=True)
    items = edge_index[1, order]
    counts = torch.bincount(edge_index[0], minlength=num_users)
    indptr = torch.zeros(num_users + 1, dtype=torch.long)
    indptr[1:] = torch.cumsum(counts, 0)
    return indptr, items


def contains(sorted_keys: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Boolean mask of ``queries`` found in 1-D ``sorted_keys`` (binary search; torch.isin is far slower here)."""
    if len(sorted_keys) == 0:
        return torch.zeros_like(queries, dtype=torch.bool)
    position = torch.searchsorted(sorted_keys, queries).clamp_max(len(sorted_keys) - 1)
    return sorted_keys[position] == queries


@torch.no_grad()
def evaluate_topk(user_emb: torch.Tensor, item_emb: torch.Tensor, train: torch.Tensor, test: torch.Tensor,
                  k: int = 20, batch_size: int = 1024, average: str = "all-users") -> dict[str, float]:
    """Recall@k and NDCG@k of dot-product scores over all items, training items excluded.

    ``user_emb`` [U, d], ``item_emb`` [I, d]; ``train`` / ``test`` are (user, item) edge indices [2, E].
    ``average``: ``"all-users"`` (the UltraGCN authors': divide by U) or ``"test-users"``.
    ``users`` in the result is the divisor.
    """
    if average not in AVERAGES:
        raise ConfigError(f"average must be one of {AVERAGES}, got {average!r}")
    num_users, num_items = user_emb.shape[0], item_emb.shape[0]
    train_ptr, train_items = csr(train, num_users)
    test_keys = torch.sort(test[0] * num_items + test[1]).values
    test_count = torch.bincount(test[0], minlength=num_users)
    discount = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64))
    ideal = torch.cumsum(discount, 0)
    recall_sum = ndcg_sum = 0.0
    item_t = item_emb.t().contiguous()
    for start in range(0, num_users, batch_size):
        stop = min(start + batch_size, num_users)
        scores = user_emb[start:stop] @ item_t
        lo, hi = int(train_ptr[start]), int(train_ptr[stop])
        per_user = train_ptr[start + 1:stop + 1] - train_ptr[start:stop]
        rows = torch.repeat_interleave(torch.arange(stop - start), per_user)
        scores[rows, train_items[lo:hi]] = -math.inf
        top = torch.topk(scores, min(k, num_items), dim=1).indices
        users = torch.arange(start, stop).unsqueeze(1)
        keys = users * num_items + top
        hits = contains(test_keys, keys).double()
        count = test_count[start:stop].double()
        has_test = count > 0
        recall_sum += (hits.sum(1)[has_test] / count[has_test]).sum().item()
        dcg = (hits * discount[: hits.shape[1]]).sum(1)
        idcg = ideal[(count.clamp(1, k) - 1).long()]
        ndcg_sum += (dcg[has_test] / idcg[has_test]).sum().item()
    evaluated = num_users if average == "all-users" else int((test_count > 0).sum())
    return {f"recall@{k}": recall_sum / evaluated, f"ndcg@{k}": ndcg_sum / evaluated, "users": evaluated}
