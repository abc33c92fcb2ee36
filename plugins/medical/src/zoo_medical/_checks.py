"""Input validation shared by the model families: wrong shapes become zoo.errors.InputShapeError."""

from __future__ import annotations

import math
from collections.abc import Sequence

from zoo import expect_shape
from zoo.errors import InputShapeError

_AXES = {1: "B C L", 2: "B C H W", 3: "B C D H W"}


def check_input(x, *, model: str, spatial_dims: int, channels: int, multiple: Sequence[int] | None = None,
                exact: Sequence[int] | None = None) -> None:
    """Check ``x`` is ``[B, channels, *spatial]`` and its spatial sizes fit the network.

    ``multiple`` gives, per spatial axis, the total stride every size must be divisible by (a
    U-Net's skips only line up then); ``exact`` fixes the sizes (a network whose layer widths
    were derived from its patch size).
    """
    expect_shape(x, _AXES[spatial_dims], model=model, C=channels)
    spatial = [int(s) for s in x.shape[2:]]
    if exact is not None and spatial != list(exact):
        raise InputShapeError(
            f"{model}: input spatial size must be exactly {list(exact)} (the patch size this network "
            f"was built for), got {spatial}"
        )
    if multiple is not None:
        bad = [s for s, m in zip(spatial, multiple) if s % m]
        if bad:
            raise InputShapeError(
                f"{model}: input spatial size {spatial} must be divisible by the network's total "
                f"stride {list(multiple)} on every axis"
            )


def total_stride(strides: Sequence, spatial_dims: int) -> list[int]:
    """Product of per-stage strides (each an int or a per-axis list) for every spatial axis."""
    per_axis = [[s] * spatial_dims if isinstance(s, int) else list(s) for s in strides]
    return [math.prod(axis) for axis in zip(*per_axis)] if per_axis else [1] * spatial_dims
