"""Training on Elliptic with the temporal split of Weber et al. and the illicit-class P / R / F1.

Weber et al., "Anti-Money Laundering in Bitcoin: Experimenting with Graph Convolutional Networks
for Financial Forensics", KDD'19 workshop (arXiv:1908.02591): train on time steps 1-34, test on
35-49, unknown-label nodes stay in the graph but out of the loss, weighted cross entropy
(licit 0.3, illicit 0.7), Adam lr 1e-3, 1000 epochs. EvolveGCN (Pareja et al., arXiv:1902.10191)
is trained on windows of consecutive snapshots (5 history steps + the current one on Elliptic),
predicting the current one's nodes, with its authors' split, loss, epochs and early stopping
(:func:`train_evolving`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from zoo_graph.data.elliptic import ILLICIT, UNKNOWN
from zoo_graph.models.evolvegcn_specs import RECIPES


def illicit_scores(logits: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Precision, recall and F1 of the illicit class (the paper's metric, not accuracy)."""
    predicted, actual = logits.argmax(-1) == ILLICIT, y == ILLICIT
    true_pos = int((predicted & actual).sum())
    precision = true_pos / max(int(predicted.sum()), 1)
    recall = true_pos / max(int(actual.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def train_static(model: str, data, *, seed: int = 0, out=None, **overrides) -> dict[str, float]:
    """Train ``elliptic-gcn`` / ``elliptic-skip-gcn`` on the whole graph with ``zoo.train`` and the spec's
    recipe (weighted cross entropy on ``train_mask``, Adam 1e-3, 1000 epochs; ``overrides`` such as
    ``epochs`` or ``lr`` replace its fields); the last state is tested on ``test_mask`` (the paper selects
    no model: the engine's per-epoch validation on ``test_mask`` is only logged)."""
    from zoo_graph.train.node import fit

    trained, _ = fit(model, data, data.test_mask, seed=seed, out=out, keep="last", **overrides)
    with torch.no_grad():
        logits = trained(data.x, data.edge_index)
    return illicit_scores(logits[data.test_mask], data.y[data.test_mask])


def weighted_cross_entropy(logits: torch.Tensor, y: torch.Tensor, class_weights) -> torch.Tensor:
    """mean_i w_{y_i}·CE_i — the EvolveGCN authors' loss (divided by N, not by Σ_i w_{y_i} as torch's)."""
    weight = torch.as_tensor(class_weights, dtype=logits.dtype, device=logits.device)
    return (weight[y] * F.cross_entropy(logits, y, reduction="none")).mean()


def evolvegcn_split(num_steps: int, history: int = 5, train_proportion: float = 0.65,
                    dev_proportion: float = 0.10) -> tuple[range, range, range]:
    """Positions of the snapshots whose nodes are trained on, selected on (dev) and tested on.

    The authors' ``splitter``: with time 0..T-1, training targets run from ``history`` to
    ⌊(T-1)·0.65⌋ (exclusive), dev to ⌊(T-1)·0.75⌋, test to T - on Elliptic (T = 49) steps
    6-31, 32-36 and 37-49 (1-based).
    """
    last = num_steps - 1
    train_end = int(math.floor(last * train_proportion))
    dev_end = int(math.floor(last * (train_proportion + dev_proportion)))
    return range(history, train_end), range(train_end, dev_end), range(dev_end, num_steps)


def train_evolving(model: torch.nn.Module, snapshots: list, *, history: int = 5, epochs: int | None = None,
                   lr: float = 1e-3, class_weights: tuple[float, float] | None = None, patience: int = 100,
                   eval_after: int = 5, train_proportion: float = 0.65,
                   dev_proportion: float = 0.10) -> dict[str, float]:
    """Train EvolveGCN as the authors run it on Elliptic; test scores at the best dev epoch.

    ``snapshots``: one ``Data`` per consecutive time step (``zoo_graph.data.elliptic.snapshots``),
    each with ``x``, ``edge_index`` and ``y``. Each sample is the window of ``history`` previous
    snapshots plus the current one, whose labelled nodes are classified. ``epochs`` and
    ``class_weights`` default to the authors' per variant (``RECIPES``: -H 1000 epochs,
    [0.25, 0.75]; -O 800, [0.35, 0.65]); the loss is :func:`weighted_cross_entropy`, Adam, one step
    per sample. After epoch ``eval_after`` the dev illicit F1 is measured every epoch; training
    stops after ``patience`` epochs without a better one, and the test scores of the best dev
    epoch are returned (with ``best_epoch`` and ``dev_f1``), as the authors log them.
    """
    recipe = RECIPES[model.variant]
    epochs = recipe["epochs"] if epochs is None else epochs
    class_weights = recipe["class_weights"] if class_weights is None else class_weights
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train_ends, dev_ends, test_ends = evolvegcn_split(len(snapshots), history, train_proportion, dev_proportion)

    def sample(t):
        chosen = snapshots[max(0, t - history):t + 1]
        y = chosen[-1].y
        return [s.x for s in chosen], [s.edge_index for s in chosen], y, y != UNKNOWN

    def evaluate(ends) -> dict[str, float]:
        model.eval()
        logits, labels = [], []
        with torch.no_grad():
            for t in ends:
                xs, edges, y, known = sample(t)
                logits.append(model(xs, edges)[known])
                labels.append(y[known])
        return illicit_scores(torch.cat(logits), torch.cat(labels))

    best = {"dev_f1": 0.0, "best_epoch": -1, **evaluate(test_ends)}
    without_improvement = 0
    for epoch in range(epochs):
        model.train()
        for t in train_ends:
            xs, edges, y, known = sample(t)
            if not known.any():
                continue
            optimizer.zero_grad()
            weighted_cross_entropy(model(xs, edges)[known], y[known], class_weights).backward()
            optimizer.step()
        if epoch <= eval_after or not dev_ends:
            continue
        dev_f1 = evaluate(dev_ends)["f1"]
        if dev_f1 > best["dev_f1"]:
            without_improvement = 0
        else:
            without_improvement += 1
            if without_improvement > patience:
                break
        if dev_f1 >= best["dev_f1"]:  # a tie re-logs the test scores, as the authors' trainer does
            best = {"dev_f1": dev_f1, "best_epoch": epoch, **evaluate(test_ends)}
    return best
