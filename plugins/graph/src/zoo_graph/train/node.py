"""Full-batch node classification on zoo's training engine: one step per epoch on the whole graph, the
state with the lowest validation loss kept (the recipe's ``select="val-loss"``), then tested."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

import zoo
from zoo.training.parts import IGNORE_INDEX
from zoo.training.recipe import TrainRecipe


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return (logits.argmax(-1) == y).float().mean().item() if len(y) else float("nan")


class NodeSplit(torch.utils.data.Dataset):
    """One graph as a one-item dataset for :func:`zoo.train`: item -> ``((x, edge_index), y)`` where the
    nodes outside ``mask`` have the label -100 (cross-entropy's ``ignore_index``: neither trained nor scored)."""

    def __init__(self, data, mask: torch.Tensor):
        self.x, self.edge_index = data.x, data.edge_index
        self.y = torch.where(mask, data.y, torch.full_like(data.y, IGNORE_INDEX))
        # the classes of the labelled nodes (Elliptic's "unknown" nodes are in no split)
        labelled = sum(getattr(data, f"{s}_mask") for s in ("train", "val", "test") if hasattr(data, f"{s}_mask"))
        self.num_classes = int(data.y[labelled.bool()].max()) + 1
        self.in_channels = int(data.x.shape[1])

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int):
        return (self.x, self.edge_index), self.y

    @staticmethod
    def collate(items):
        """The graph itself: a batch is the whole graph (the engine's ``batch_size`` is 1)."""
        (item,) = items
        return item


def fit(model: str, data, validation_mask: torch.Tensor, *, config: dict[str, Any] | None = None,
        recipe: str | TrainRecipe | None = None, seed: int = 0, out: str | os.PathLike | None = None,
        keep: str = "best", **overrides) -> tuple[torch.nn.Module, list[dict[str, str]]]:
    """``zoo.train`` of registry model ``model`` on the nodes of ``data.train_mask``, validated on
    ``validation_mask``, with the spec's recipe (or ``recipe``; ``overrides`` such as ``epochs`` or ``lr``
    replace its fields) and ``seed`` (initial weights, dropout). ``out`` keeps the run folder (default: a
    temporary one). Returns the ``keep`` checkpoint (``"best"`` or ``"last"``), in eval mode, and the
    rows of ``metrics.csv``."""
    if not isinstance(recipe, TrainRecipe):
        from zoo.registry import get_registry

        recipe = get_registry().model(model).get_recipe(recipe)
    recipe = recipe.replace(seed=seed, **overrides)
    with tempfile.TemporaryDirectory() as scratch:
        run = Path(out) if out is not None else Path(scratch) / model
        zoo.train(model, (NodeSplit(data, data.train_mask), NodeSplit(data, validation_mask)), out=run,
                  recipe=recipe, config=config, progress=False)
        with open(run / "metrics.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return zoo.load(run / keep).eval(), rows


def train_node_classifier(model: str, data, *, config: dict[str, Any] | None = None,
                          recipe: str | TrainRecipe | None = None, seed: int = 0,
                          out: str | os.PathLike | None = None, **overrides) -> dict[str, float]:
    """Train ``model`` on ``data`` (a PyG ``Data`` with ``train_mask``/``val_mask``/``test_mask``) with
    :func:`fit` and the spec's recipe (GCN: Adam 0.01, wd 5e-4, 200 epochs, the state of the lowest
    validation loss), then test it.

    Returns ``{"val_acc", "test_acc", "best_epoch"}`` of the selected state (``best_epoch`` 0-based).
    """
    selected, rows = fit(model, data, data.val_mask, config=config, recipe=recipe, seed=seed, out=out, **overrides)
    losses = [float(row["val_loss"]) for row in rows]
    with torch.no_grad():
        logits = selected(data.x, data.edge_index)
    return {"val_acc": accuracy(logits[data.val_mask], data.y[data.val_mask]),
            "test_acc": accuracy(logits[data.test_mask], data.y[data.test_mask]),
            "best_epoch": losses.index(min(losses))}
