"""Input validation for models: a wrong shape becomes a clear :class:`zoo.errors.InputShapeError`.

Imports no torch: it only reads ``.shape`` and ``.dtype`` of what it is given.
"""

from __future__ import annotations

from zoo.errors import InputShapeError


def expect_shape(tensor, pattern: str, *, name: str = "input", model: str = "", **sizes: int) -> dict[str, int]:
    """Check ``tensor`` against a pattern like ``"B C D H W"`` and return the named sizes.

    Letters are free dimensions (bound consistently by ``sizes``, e.g. ``C=1``); integers are fixed.
    Raises :class:`InputShapeError` saying what was expected and what arrived.
    """
    where = f"{model}: " if model else ""
    expected = " ".join(pattern.split())
    shape = getattr(tensor, "shape", None)
    if shape is None:
        raise InputShapeError(f"{where}{name} must be a tensor of shape [{expected}], got {type(tensor).__name__}")
    axes = pattern.split()
    described = "[" + ", ".join(f"{a}={sizes[a]}" if a in sizes else a for a in axes) + "]"
    if len(shape) != len(axes):
        raise InputShapeError(
            f"{where}{name} must have {len(axes)} dimensions {described}, got shape {list(shape)}"
        )
    bound: dict[str, int] = {}
    for axis, size in zip(axes, shape):
        size = int(size)
        want = int(axis) if axis.isdigit() else sizes.get(axis, bound.get(axis))
        if want is not None and size != want:
            raise InputShapeError(f"{where}{name} must have shape {described}, got {list(shape)} ({axis} != {want})")
        if not axis.isdigit():
            bound[axis] = size
    return bound
