"""Full-batch node classification: train with model selection on validation loss, then test."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return (logits.argmax(-1) == y).float().mean().item() if len(y) else float("nan")


def train_node_classifier(model: torch.nn.Module, data, *, epochs: int = 200, lr: float = 0.01,
                          weight_decay: float = 5e-4, forward: Callable | None = None) -> dict[str, float]:
    """Adam on the training nodes' cross entropy; keeps the state with the lowest validation loss.

    ``forward(model, data)`` → logits [N, C] (default ``model(data.x, data.edge_index)``).
    Returns ``{"val_acc", "test_acc", "best_epoch"}`` of the selected state.
    """
    forward = forward or (lambda m, d: m(d.x, d.edge_index))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best_loss, best_state, best_epoch = float("inf"), None, -1
    for epoch in range(epochs):
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(forward(model, data)[data.train_mask], data.y[data.train_mask])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = F.cross_entropy(forward(model, data)[data.val_mask], data.y[data.val_mask]).item()
        if val_loss < best_loss:
            best_loss, best_state, best_epoch = val_loss, copy.deepcopy(model.state_dict()), epoch
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        logits = forward(model, data)
    return {"val_acc": accuracy(logits[data.val_mask], data.y[data.val_mask]),
            "test_acc": accuracy(logits[data.test_mask], data.y[data.test_mask]), "best_epoch": best_epoch}
