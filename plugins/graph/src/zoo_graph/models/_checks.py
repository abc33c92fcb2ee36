"""Input checks shared by the graph models: bad input becomes a zoo.errors.InputShapeError."""

from __future__ import annotations

import torch

from zoo.errors import InputShapeError
from zoo.shapes import expect_shape


def check_features(x, model: str, in_channels: int, name: str = "x") -> int:
    """``x`` must be float [N, in_channels]; returns N."""
    sizes = expect_shape(x, "N F", name=name, model=model, F=in_channels)
    if not torch.is_floating_point(x):
        raise InputShapeError(f"{model}: {name} must be a float tensor [N, F={in_channels}], got dtype {x.dtype}")
    return sizes["N"]


def check_edge_index(edge_index, num_nodes: int, model: str, name: str = "edge_index") -> None:
    """``edge_index`` must be an integer [2, E] tensor whose ids index ``num_nodes`` nodes."""
    expect_shape(edge_index, "2 E", name=name, model=model)
    if edge_index.dtype not in (torch.int64, torch.int32):
        raise InputShapeError(f"{model}: {name} must be an int64 tensor [2, E], got dtype {edge_index.dtype}")
    if edge_index.numel() and edge_index.device.type != "meta":
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= num_nodes:
            raise InputShapeError(
                f"{model}: {name} holds node ids in [{low}, {high}] but the graph has {num_nodes} nodes"
            )


def check_ids(ids, size: int, model: str, name: str, pattern: str = "B") -> dict[str, int]:
    """Integer ids of any shape matching ``pattern``, each in [0, size)."""
    sizes = expect_shape(ids, pattern, name=name, model=model)
    if ids.dtype not in (torch.int64, torch.int32):
        raise InputShapeError(f"{model}: {name} must hold int64 ids, got dtype {ids.dtype}")
    if ids.numel() and ids.device.type != "meta":
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= size:
            raise InputShapeError(f"{model}: {name} must lie in [0, {size}), got ids in [{low}, {high}]")
    return sizes
