"""MT-Text GCN's recipe: reconstruction + multi-task classification, k-fold splits, macro F1.

Marreddy et al., IJCNN 2022 (arXiv:2205.01204): Adam lr 1e-3, weight decay 5e-4, up to 100
epochs, early stopping with patience 10, 5-fold cross-validation (the authors' code). The loss
is MSE(reconstructed rows, rows of A + I) + Σ_t CE_t — differentiable end to end, unlike the
authors' code, whose classification term is computed from scikit-learn predictions and does not
reach the GCN. Each step reconstructs ``rows_per_step`` random rows (all of them on small graphs).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from zoo_graph.models.mt_text_gcn import MTTextGCN


def kfold(labels: dict, k: int = 5, fold: int = 0, seed: int = 0) -> tuple[dict, dict]:
    """Split each task's labelled (nodes, y) into ``k`` folds: (train = the other folds, test = fold ``fold``)."""
    generator = torch.Generator().manual_seed(seed)
    train, test = {}, {}
    for task, (nodes, y) in labels.items():
        order = torch.randperm(len(nodes), generator=generator)
        held = torch.zeros(len(nodes), dtype=torch.bool)
        held[order[fold::k]] = True
        train[task], test[task] = (nodes[~held], y[~held]), (nodes[held], y[held])
    return train, test


def _adjacency(edge_index: torch.Tensor, edge_weight: torch.Tensor, num_nodes: int) -> torch.Tensor:
    loops = torch.arange(num_nodes)
    index = torch.cat([edge_index, torch.stack([loops, loops])], dim=1)
    weight = torch.cat([edge_weight, torch.ones(num_nodes)])
    return torch.sparse_coo_tensor(index, weight, (num_nodes, num_nodes), check_invariants=True).coalesce()


def _classification_loss(logits: dict, split: dict) -> torch.Tensor:
    return sum(F.cross_entropy(logits[task], y) for task, (_, y) in split.items())


def _logits(model: MTTextGCN, z: torch.Tensor, split: dict) -> dict:
    return {task: model.heads[task](z[nodes]) for task, (nodes, _) in split.items()}


def train_mt_text_gcn(model: MTTextGCN, edge_index: torch.Tensor, edge_weight: torch.Tensor, train: dict,
                      val: dict, *, epochs: int = 100, lr: float = 1e-3, weight_decay: float = 5e-4,
                      patience: int = 10, reconstruction_weight: float = 1.0, rows_per_step: int = 1024,
                      generator: torch.Generator | None = None) -> dict[str, float]:
    """Train on the labelled nodes of ``train`` ({task: (nodes, y)}); keep the state of the lowest ``val`` loss.

    The validation loss is the summed cross entropy of the tasks; training stops after
    ``patience`` epochs without improvement. Returns ``best_epoch`` and ``val_loss``.
    """
    target = _adjacency(edge_index, edge_weight, model.num_nodes)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best_loss, best_state, best_epoch, waited = float("inf"), None, -1, 0
    for epoch in range(epochs):
        model.train()
        optimizer.zero_grad()
        z = model.encode(edge_index, edge_weight)
        rows = torch.randperm(model.num_nodes, generator=generator)[:rows_per_step]
        decoded = model.reconstruct(z, edge_index, edge_weight, rows)
        loss = reconstruction_weight * F.mse_loss(decoded, target.index_select(0, rows).to_dense())
        loss = loss + _classification_loss(_logits(model, z, train), train)
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = _classification_loss(_logits(model, model.encode(edge_index, edge_weight), val), val).item()
        if val_loss < best_loss:
            best_loss, best_state, best_epoch, waited = val_loss, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            waited += 1
            if waited >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return {"best_epoch": best_epoch, "val_loss": best_loss}


def macro_f1(predicted: torch.Tensor, y: torch.Tensor, num_classes: int) -> float:
    """Unweighted mean over classes of the per-class F1 (a class never predicted nor present counts 0)."""
    scores = []
    for c in range(num_classes):
        tp = int(((predicted == c) & (y == c)).sum())
        fp, fn = int(((predicted == c) & (y != c)).sum()), int(((predicted != c) & (y == c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return sum(scores) / num_classes


@torch.no_grad()
def evaluate(model: MTTextGCN, edge_index: torch.Tensor, edge_weight: torch.Tensor, split: dict) -> dict:
    """Per task: accuracy and macro F1 of the eval-mode predictions on ``split`` ({task: (nodes, y)})."""
    model.eval()
    logits = _logits(model, model.encode(edge_index, edge_weight), split)
    results = {}
    for task, (_, y) in split.items():
        predicted = logits[task].argmax(-1)
        results[task] = {"accuracy": (predicted == y).float().mean().item(),
                         "macro_f1": macro_f1(predicted, y, model.heads[task].out_features)}
    return results
