"""UltraGCN's training objective: constraint weights, item–item graph, negative sampling, loss.

Mao et al., "UltraGCN: Ultra Simplification of Graph Convolutional Networks for Recommendation",
CIKM 2021 (arXiv:2110.15114). What the authors' code computes (and we compute the same way):

- β weights from training degrees: β_u = sqrt(d_u + 1) / d_u, β_i = 1 / sqrt(d_i + 1), a
  duplicated (user, item) pair counted once (the authors fill a binary matrix);
  the user–item constraint coefficient is β_u·β_i, the fixed point of infinite-layer
  LightGCN propagation with self-loops.
- Loss per batch: Σ [ω⁺·BCE(s_ui, 1) + negative_weight · mean_j ω⁻_j·BCE(s_uj, 0)] with
  ω⁺ = w1 + w2·β_u β_i and ω⁻ = w3 + w4·β_u β_j; plus γ·½‖all embeddings‖² and
  λ·L_I, L_I = −Σ_{j∈topK(i)} ω_ij log σ(s_uj) over the positive item's K most similar items.
- Item–item weights from co-occurrence G = AᵀA (binary A) with row sums g:
  ω_ij = G_ij · sqrt(g_i + 1) / g_i / sqrt(g_j + 1), top-K per row, the diagonal kept.

Differences from the authors' code, on purpose: the top-K is computed vectorised from the
sparse G (their code loops over dense rows and caches a pickle that goes stale when K changes),
and the ``w2 == 0`` path (a NameError there) works.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from zoo_graph.models.ultragcn import UltraGCN
from zoo_graph.recsys.epoch import optimize_over_pairs
from zoo_graph.recsys.metrics import contains


@dataclass
class UltraGCNGraph:
    """Graph-derived constants of the loss, computed once from the training interactions."""

    num_users: int
    num_items: int
    beta_user: torch.Tensor  # [U]
    beta_item: torch.Tensor  # [I]
    ii_neighbors: torch.Tensor  # [I, K] long
    ii_weights: torch.Tensor  # [I, K] float
    train_keys: torch.Tensor  # sorted user * I + item, for excluding positives from negatives

    @classmethod
    def from_interactions(cls, train: torch.Tensor, num_users: int, num_items: int,
                          ii_neighbor_num: int = 10) -> UltraGCNGraph:
        """``train``: (user, item) edge index [2, E]."""
        import scipy.sparse as sp

        users, items = train[0].numpy(), train[1].numpy()
        distinct = np.unique(users.astype(np.int64) * num_items + items)
        user_deg = np.bincount(distinct // num_items, minlength=num_users).astype(np.float64)
        item_deg = np.bincount(distinct % num_items, minlength=num_items).astype(np.float64)
        with np.errstate(divide="ignore"):
            beta_user = np.where(user_deg > 0, np.sqrt(user_deg + 1) / np.maximum(user_deg, 1), 0.0)
        beta_item = 1.0 / np.sqrt(item_deg + 1)

        a = sp.csr_matrix((np.ones(len(users), dtype=np.float32), (users, items)), shape=(num_users, num_items))
        a.data[:] = 1.0  # a duplicated pair counts once, as in the authors' binary matrix
        co = (a.T.tocsr() @ a).tocsr()
        g = np.asarray(co.sum(axis=1)).ravel()
        row_scale = np.where(g > 0, np.sqrt(g + 1) / np.maximum(g, 1), 0.0).astype(np.float32)
        col_scale = (1.0 / np.sqrt(g + 1)).astype(np.float32)
        weight = (sp.diags(row_scale) @ co @ sp.diags(col_scale)).tocsr().astype(np.float32)
        # Densify a block of rows at a time: O(block x items) memory instead of items x items,
        # and torch.topk is much faster than sorting the ~10^7-10^8 non-zeros of G.
        neighbors = torch.zeros(num_items, ii_neighbor_num, dtype=torch.long)
        weights = torch.zeros(num_items, ii_neighbor_num)
        k = min(ii_neighbor_num, num_items)
        for start in range(0, num_items, 1024):
            block = torch.from_numpy(weight[start:start + 1024].toarray())
            top = torch.topk(block, k, dim=1)
            neighbors[start:start + 1024, :k] = top.indices
            weights[start:start + 1024, :k] = top.values
        return cls(
            num_users=num_users, num_items=num_items,
            beta_user=torch.from_numpy(beta_user).float(), beta_item=torch.from_numpy(beta_item).float(),
            ii_neighbors=neighbors, ii_weights=weights,
            train_keys=torch.sort(train[0] * num_items + train[1]).values,
        )

    def sample_negatives(self, users: torch.Tensor, num: int, sift_pos: bool, generator=None) -> torch.Tensor:
        """``num`` uniform negatives per user [B, num], with replacement; ``sift_pos`` redraws training positives."""
        negatives = torch.randint(0, self.num_items, (len(users), num), generator=generator)
        if sift_pos:
            keys = users.unsqueeze(1) * self.num_items + negatives
            rows, cols = contains(self.train_keys, keys).nonzero(as_tuple=True)
            # redraw only the clashing entries, and re-check only those
            for _ in range(100):
                if rows.numel() == 0:
                    break
                drawn = torch.randint(0, self.num_items, (rows.numel(),), generator=generator)
                negatives[rows, cols] = drawn
                clash = contains(self.train_keys, users[rows] * self.num_items + drawn)
                rows, cols = rows[clash], cols[clash]
        return negatives


def ultragcn_loss(model: UltraGCN, graph: UltraGCNGraph, users: torch.Tensor, pos_items: torch.Tensor,
                  neg_items: torch.Tensor, *, w1: float, w2: float, w3: float, w4: float, negative_weight: float,
                  gamma: float, lambda_: float, pos_scores: torch.Tensor | None = None, **_) -> torch.Tensor:
    """The full UltraGCN loss of one batch: users [B], pos_items [B], neg_items [B, N] → scalar
    (``pos_scores``: ``model(users, pos_items)`` when the caller has it already)."""
    if pos_scores is None:
        pos_scores = model(users, pos_items)
    if neg_items.shape[1] * model.user_embedding.embedding_dim > model.num_items:
        # Hundreds of negatives per positive: scoring the batch against every item with one
        # matmul and gathering is ~4x faster than gathering [B, N, d] negative embeddings.
        neg_scores = (model.user_embedding(users) @ model.item_embedding.weight.t()).gather(1, neg_items)
    else:
        neg_scores = model(users, neg_items)
    beta_u = graph.beta_user[users]
    pos_weight = w1 + w2 * beta_u * graph.beta_item[pos_items]
    neg_weight = w3 + w4 * beta_u.unsqueeze(1) * graph.beta_item[neg_items]
    pos_loss = F.binary_cross_entropy_with_logits(pos_scores, torch.ones_like(pos_scores), weight=pos_weight,
                                                  reduction="none")
    neg_loss = F.binary_cross_entropy_with_logits(neg_scores, torch.zeros_like(neg_scores), weight=neg_weight,
                                                  reduction="none")
    main = (pos_loss + negative_weight * neg_loss.mean(dim=-1)).sum()

    neighbor = model.item_embedding(graph.ii_neighbors[pos_items])  # [B, K, d]
    user = model.user_embedding(users).unsqueeze(1)
    item_item = -(graph.ii_weights[pos_items] * F.logsigmoid((user * neighbor).sum(-1))).sum()

    norm = sum(p.pow(2).sum() for p in model.parameters()) / 2
    return main + gamma * norm + lambda_ * item_item


def train_epoch(model: UltraGCN, graph: UltraGCNGraph, train: torch.Tensor, optimizer: torch.optim.Optimizer,
                config: dict, generator: torch.Generator | None = None,
                time_budget: float | None = None) -> tuple[float, int]:
    """One pass over the shuffled training pairs in batches; returns (mean batch loss, batches run).

    ``time_budget`` (seconds) stops the epoch early, for benchmarks with a wall-clock budget.
    """
    model.train()

    def batch_loss(users: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        neg = graph.sample_negatives(users, config["negative_num"], config["sift_pos"], generator)
        return ultragcn_loss(model, graph, users, pos, neg, **config)

    return optimize_over_pairs(train, config["batch_size"], batch_loss, optimizer, generator, time_budget)


def prepare(train, validation, recipe, config):
    """``zoo train``'s prepare hook of the UltraGCN recipes: the training pairs, each batch's negatives
    (``negative_num`` per positive) and the loss with the recipe's ``options`` (one dataset's
    :data:`~zoo_graph.models.ultragcn_specs.PAPER_CONFIGS`), and Recall@20 / NDCG@20 over all items."""
    from zoo_graph.recsys.engine import InteractionPairs, RankingValidation, splits

    train_edges, test_edges, num_users, num_items = splits(train, validation)
    options = dict(recipe.options)
    graph = UltraGCNGraph.from_interactions(train_edges, num_users, num_items, options["ii_neighbor_num"])

    def collate(data, users, pos):
        negatives = graph.sample_negatives(users, options["negative_num"], options["sift_pos"])
        return (users, pos), (users, pos, negatives)

    def loss(pos_scores, target, model):
        users, pos, negatives = target
        return ultragcn_loss(model, graph, users, pos, negatives, pos_scores=pos_scores, **options)

    pairs = InteractionPairs(train_edges, num_users, num_items, collate, loss,
                             model_config={"embedding_dim": options["embedding_dim"], "init_std": options["init_std"]})
    return pairs, RankingValidation(train_edges, test_edges, lambda model: model.embeddings())
