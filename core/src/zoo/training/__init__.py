"""``zoo train``: a model's paper recipe over any zoo dataset, on one process or many (torchrun).

Importing this package imports no torch: :class:`TrainRecipe` is plain data that model specs
declare; :func:`train` imports the engine (and torch) when it is called.
"""

from __future__ import annotations

from zoo.training.recipe import TrainRecipe, lr_factor

__all__ = ["TrainRecipe", "lr_factor", "train"]


def train(*args, **kwargs):
    """Train a model; see :func:`zoo.training.engine.train`."""
    from zoo.training.engine import train as _train

    return _train(*args, **kwargs)
