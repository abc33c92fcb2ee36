"""Input geometry shared by the U-Nets: the axes of an input and the size every axis must divide by."""

from __future__ import annotations

import math
from collections.abc import Sequence

SPATIAL_AXES = {2: ("H", "W"), 3: ("D", "H", "W")}


def input_pattern(spatial_dims: int) -> str:
    """``"B C H W"`` or ``"B C D H W"``, for :func:`zoo.expect_shape`."""
    return " ".join(("B", "C", *SPATIAL_AXES[spatial_dims]))


def total_stride(strides: Sequence, spatial_dims: int) -> list[int]:
    """Product of per-stage strides (each an int or a per-axis list) for every spatial axis."""
    per_axis = [[s] * spatial_dims if isinstance(s, int) else list(s) for s in strides]
    return [math.prod(axis) for axis in zip(*per_axis)] if per_axis else [1] * spatial_dims


def divisible_by(strides: Sequence, spatial_dims: int) -> dict[str, int]:
    """``expect_shape``'s ``divisible_by`` for a U-Net: its skips only line up on such sizes."""
    return dict(zip(SPATIAL_AXES[spatial_dims], total_stride(strides, spatial_dims)))
