"""BPR training of LightGCN with the paper's settings (Adam lr 1e-3, batch 2048, L2 1e-4).

He et al., "LightGCN: Simplifying and Powering Graph Convolution Network for Recommendation",
SIGIR 2020 (arXiv:2002.02126). One negative per positive, sampled uniformly among the items the
user has not interacted with; the loss is torch_geometric's ``LightGCN.recommendation_loss``
(BPR plus L2 on the layer-0 embeddings of the batch).
"""

from __future__ import annotations

import torch

from zoo_graph.models.lightgcn import LightGCNRecommender
from zoo_graph.recsys.epoch import optimize_over_pairs
from zoo_graph.recsys.metrics import contains

PAPER_CONFIG = dict(lr=1e-3, batch_size=2048, lambda_reg=1e-4)


def train_epoch(model: LightGCNRecommender, adjacency: torch.Tensor, train: torch.Tensor, train_keys: torch.Tensor,
                optimizer: torch.optim.Optimizer, batch_size: int = 2048, lambda_reg: float = 1e-4,
                generator: torch.Generator | None = None, time_budget: float | None = None) -> tuple[float, int]:
    """One epoch of BPR over the shuffled training pairs; returns (mean batch loss, batches run).

    ``adjacency``: ``model.normalized_adjacency(edge_index)``; ``train_keys``: sorted
    ``user * I + item`` of the training pairs, to reject positives drawn as negatives.
    """
    model.train()
    num_users, num_items = model.num_users, model.num_items

    def batch_loss(users: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        neg = torch.randint(0, num_items, (len(users),), generator=generator)
        redo = contains(train_keys, users * num_items + neg).nonzero().flatten()
        for _ in range(100):  # redraw only the clashing entries, and re-check only those
            if redo.numel() == 0:
                break
            neg[redo] = torch.randint(0, num_items, (redo.numel(),), generator=generator)
            redo = redo[contains(train_keys, users[redo] * num_items + neg[redo])]
        nodes = torch.cat([users, pos + num_users, neg + num_users])
        out = model.lightgcn.get_embedding(adjacency)
        user, pos_emb, neg_emb = out[users], out[pos + num_users], out[neg + num_users]
        pos_rank, neg_rank = (user * pos_emb).sum(-1), (user * neg_emb).sum(-1)
        return model.lightgcn.recommendation_loss(pos_rank, neg_rank, node_id=nodes, lambda_reg=lambda_reg)

    return optimize_over_pairs(train, batch_size, batch_loss, optimizer, generator, time_budget)


def prepare(train, validation, recipe, config):
    """``zoo train``'s prepare hook of the LightGCN recipe: batches of training pairs with one sampled
    negative each, scored on the normalised training graph (computed once), BPR plus ``lambda_reg`` L2 on the
    batch's layer-0 embeddings (the recipe's options), and Recall@20 / NDCG@20 over all items."""
    from zoo_graph.models.lightgcn import bipartite_edge_index, normalized_adjacency
    from zoo_graph.recsys.engine import InteractionPairs, RankingValidation, splits

    train_edges, test_edges, num_users, num_items = splits(train, validation)
    adjacency = normalized_adjacency(bipartite_edge_index(train_edges, num_users), num_users + num_items)
    lambda_reg = float(recipe.options.get("lambda_reg", PAPER_CONFIG["lambda_reg"]))

    def collate(data, users, pos):
        neg = data.negatives(users, 1)[:, 0]
        both = torch.cat([users, users])
        nodes = torch.cat([users, pos + num_users, neg + num_users])
        return (adjacency, both, torch.cat([pos, neg])), nodes

    def loss(scores, nodes, model):
        pos_rank, neg_rank = scores.chunk(2)
        return model.lightgcn.recommendation_loss(pos_rank, neg_rank, node_id=nodes, lambda_reg=lambda_reg)

    pairs = InteractionPairs(train_edges, num_users, num_items, collate, loss)
    return pairs, RankingValidation(train_edges, test_edges, lambda model: model.embeddings(adjacency))
