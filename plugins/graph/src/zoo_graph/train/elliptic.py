"""Training on Elliptic with the temporal split of Weber et al. and the illicit-class P / R / F1.

Weber et al., "Anti-Money Laundering in Bitcoin: Experimenting with Graph Convolutional Networks
for Financial Forensics", KDD'19 workshop (arXiv:1908.02591): train on time steps 1-34, test on
35-49, unknown-label nodes stay in the graph but out of the loss, weighted cross entropy
(licit 0.3, illicit 0.7), Adam lr 1e-3, 1000 epochs. EvolveGCN (Pareja et al., arXiv:1902.10191)
is trained on windows of consecutive snapshots (5 on Elliptic), predicting the last one's nodes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo_graph.data.elliptic import ILLICIT, LAST_TRAIN_STEP, UNKNOWN
from zoo_graph.models.elliptic_specs import CLASS_WEIGHTS


def illicit_scores(logits: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Precision, recall and F1 of the illicit class (the paper's metric, not accuracy)."""
    predicted, actual = logits.argmax(-1) == ILLICIT, y == ILLICIT
    true_pos = int((predicted & actual).sum())
    precision = true_pos / max(int(predicted.sum()), 1)
    recall = true_pos / max(int(actual.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def train_static(model: torch.nn.Module, data, *, epochs: int = 1000, lr: float = 1e-3,
                 class_weights: tuple[float, float] = CLASS_WEIGHTS) -> dict[str, float]:
    """Train a GCN / Skip-GCN on the whole graph (loss on ``train_mask``); test on ``test_mask``."""
    weight = torch.tensor(class_weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        logits = model(data.x, data.edge_index)
        F.cross_entropy(logits[data.train_mask], data.y[data.train_mask], weight=weight).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(data.x, data.edge_index)
    return illicit_scores(logits[data.test_mask], data.y[data.test_mask])


def train_evolving(model: torch.nn.Module, snapshots: list, *, window: int = 5, epochs: int = 100, lr: float = 1e-3,
                   class_weights: tuple[float, float] = (0.35, 0.65)) -> dict[str, float]:
    """Train EvolveGCN on windows ending at each training step; test on the windows ending at steps 35+.

    ``snapshots``: one ``Data`` per time step in order (``zoo_graph.data.elliptic.snapshots``),
    each with ``x``, ``edge_index``, ``y`` and ``time_step``.
    """
    weight = torch.tensor(class_weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = [int(s.time_step[0]) for s in snapshots]

    def window_ending(t):
        chosen = snapshots[max(0, t - window + 1):t + 1]
        return [s.x for s in chosen], [s.edge_index for s in chosen], chosen[-1].y

    train_ends = [t for t, step in enumerate(steps) if step <= LAST_TRAIN_STEP]
    test_ends = [t for t, step in enumerate(steps) if step > LAST_TRAIN_STEP]
    for _ in range(epochs):
        model.train()
        for t in train_ends:
            xs, edges, y = window_ending(t)
            known = y != UNKNOWN
            if not known.any():
                continue
            optimizer.zero_grad()
            F.cross_entropy(model(xs, edges)[known], y[known], weight=weight).backward()
            optimizer.step()
    model.eval()
    logits, labels = [], []
    with torch.no_grad():
        for t in test_ends:
            xs, edges, y = window_ending(t)
            known = y != UNKNOWN
            logits.append(model(xs, edges)[known])
            labels.append(y[known])
    return illicit_scores(torch.cat(logits), torch.cat(labels))
