"""Input validation for models: a wrong shape, dtype or value range becomes a clear
:class:`zoo.errors.InputShapeError`.

Imports no torch: it only reads ``.shape``, ``.dtype`` (and, for value ranges, ``.min()`` /
``.max()``) of what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping

from zoo.errors import InputShapeError

# dtype kinds a model can ask for instead of listing every torch dtype
_DTYPE_KINDS = {
    "float": lambda d: d.is_floating_point,
    "int": lambda d: not d.is_floating_point and not d.is_complex and str(d) != "torch.bool",
    "bool": lambda d: str(d) == "torch.bool",
    "complex": lambda d: d.is_complex,
}


def _dtype_ok(dtype, wanted) -> bool:
    for item in wanted if isinstance(wanted, (tuple, list)) else (wanted,):
        if isinstance(item, str) and item in _DTYPE_KINDS:
            if _DTYPE_KINDS[item](dtype):
                return True
        elif dtype == item or str(dtype) in (str(item), f"torch.{item}"):
            return True
    return False


def _dtype_text(wanted) -> str:
    items = wanted if isinstance(wanted, (tuple, list)) else (wanted,)
    return " or ".join(str(item).removeprefix("torch.") for item in items)


def expect_shape(tensor, pattern: str, *, name: str = "input", model: str = "", dtype=None,
                 min_value: float | None = None, max_value: float | None = None,
                 divisible_by: Mapping[str, int] | None = None, **sizes: int) -> dict[str, int]:
    """Check ``tensor`` against a pattern like ``"B C D H W"`` and return the named sizes.

    Letters are free dimensions (bound consistently by ``sizes``, e.g. ``C=1``); integers are fixed.
    ``dtype`` is a torch dtype, a kind (``"float"``, ``"int"``, ``"bool"``, ``"complex"``) or a tuple
    of them. ``min_value`` / ``max_value`` bound the values (inclusive; integer ids in
    ``[0, num_nodes - 1]``, say); they are not checked on the meta device, which holds no values.
    ``divisible_by`` maps axes to the number their size must be a multiple of (a U-Net's total
    stride: its skips only line up then).
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
    bad = {axis: step for axis, step in (divisible_by or {}).items() if bound[axis] % step}
    if bad:
        raise InputShapeError(
            f"{where}{name} has shape {list(shape)}, but " + ", ".join(f"{a} must be divisible by {s}" for a, s in
                                                                    bad.items())
            + " (the network's total stride)"
        )
    if dtype is not None and not _dtype_ok(tensor.dtype, dtype):
        raise InputShapeError(
            f"{where}{name} must be a {_dtype_text(dtype)} tensor {described}, got dtype "
            f"{str(tensor.dtype).removeprefix('torch.')}"
        )
    on_meta = getattr(getattr(tensor, "device", None), "type", None) == "meta"
    if (min_value is not None or max_value is not None) and tensor.numel() and not on_meta:
        low, high = tensor.min().item(), tensor.max().item()
        if (min_value is not None and low < min_value) or (max_value is not None and high > max_value):
            allowed = f"[{'-inf' if min_value is None else min_value}, {'inf' if max_value is None else max_value}]"
            raise InputShapeError(f"{where}{name} values must lie in {allowed}, got values in [{low}, {high}]")
    return bound
