"""Input-gradient baselines: plain saliency and input × gradient.

They explain the input itself, so they take no target layer. ``x`` is a floating-point tensor
``[B, *rest]`` (or a tuple/dict whose first floating-point tensor is differentiated); the map keeps
the last ``spatial_dims`` axes (default ``x.ndim − 2``: ``[B, H, W]`` for images, ``[B, D, H, W]``
for volumes) and reduces every axis in between (channels, and a time axis of spiking inputs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from zoo.building import call_model
from zoo.errors import ExplainError
from zoo.explainers.framework import (
    Explanation,
    check_autograd_available,
    eval_mode,
    normalize_maps,
    target_score,
)


def _with_grad_input(x: Any) -> tuple[Any, Tensor]:
    """A copy of ``x`` whose first floating-point tensor is a fresh leaf requiring grad."""
    if isinstance(x, Tensor):
        if not x.is_floating_point():
            raise ExplainError(f"input gradients need a floating-point input, got {x.dtype}")
        leaf = x.detach().requires_grad_()
        return leaf, leaf
    items = list(x.items()) if isinstance(x, Mapping) else list(enumerate(x)) if isinstance(x, tuple) else None
    if items is not None:
        for key, value in items:
            if isinstance(value, Tensor) and value.is_floating_point():
                leaf = value.detach().requires_grad_()
                if isinstance(x, Mapping):
                    return {**x, key: leaf}, leaf
                return tuple(leaf if k == key else v for k, v in items), leaf
    raise ExplainError(f"input gradients need a floating-point tensor input, got {type(x).__name__}")


def _input_gradient(model: nn.Module, x: Any, targets: Any, method: str) -> tuple[Tensor, Tensor, Tensor | None]:
    check_autograd_available(method)
    inputs, leaf = _with_grad_input(x)
    with eval_mode(model), torch.enable_grad():
        score, indices = target_score(call_model(model, inputs), targets)
        if not score.requires_grad:
            raise ExplainError(f"{method}: the model output does not depend differentiably on the input")
        (grad,) = torch.autograd.grad(score.sum(), leaf)
    return leaf.detach(), grad, indices


def _reduce(values: Tensor, spatial_dims: int | None, how: str) -> Tensor:
    if spatial_dims is None and values.ndim < 3:
        raise ExplainError(f"input gradient maps need a dense input [B, C, *S], got shape {list(values.shape)}; "
                           "for point/voxel models use grad-cam, grad-cam-pp or eigen-cam")
    spatial_dims = values.ndim - 2 if spatial_dims is None else spatial_dims
    if not 1 <= spatial_dims <= values.ndim - 1:
        raise ExplainError(f"spatial_dims={spatial_dims} does not fit an input of shape {list(values.shape)}")
    flat = values.reshape(values.shape[0], -1, *values.shape[values.ndim - spatial_dims:])
    return flat.amax(1) if how == "max" else flat.sum(1)


def _check_layer(method: str, target_layer: Any) -> None:
    if target_layer is not None:
        raise ExplainError(f"{method} explains the input; it takes no target_layer")


def saliency(model: nn.Module, x: Any, *, target_layer: Any = None, targets: Any = None, reshape: Any = None,
             spatial_dims: int | None = None) -> Explanation:
    """Gradient saliency — Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks:
    Visualising Image Classification Models and Saliency Maps", arXiv:1312.6034.

    ``max_c |∂y/∂x_c|`` over the reduced axes, scaled to [0, 1] per sample: maps ``[B, *S]``.
    """
    _check_layer("saliency", target_layer)
    _, grad, indices = _input_gradient(model, x, targets, "saliency")
    maps = _reduce(grad.abs(), spatial_dims, "max")
    return Explanation(normalize_maps(maps), "saliency", None, indices)


def input_x_gradient(model: nn.Module, x: Any, *, target_layer: Any = None, targets: Any = None,
                     reshape: Any = None, spatial_dims: int | None = None, sign: str = "positive") -> Explanation:
    """Input × gradient — Shrikumar et al., "Not Just a Black Box: Learning Important Features
    Through Propagating Activation Differences", arXiv:1605.01713.

    ``Σ_c x_c · ∂y/∂x_c`` over the reduced axes, then ``sign="positive"`` keeps the evidence for
    the target (ReLU, as the CAM maps do) or ``"absolute"`` its magnitude; scaled to [0, 1] per
    sample: maps ``[B, *S]``.
    """
    _check_layer("input-x-gradient", target_layer)
    if sign not in ("positive", "absolute"):
        raise ExplainError(f"input-x-gradient: sign must be 'positive' or 'absolute', got {sign!r}")
    inputs, grad, indices = _input_gradient(model, x, targets, "input-x-gradient")
    maps = _reduce(inputs * grad, spatial_dims, "sum")
    maps = torch.relu(maps) if sign == "positive" else maps.abs()
    return Explanation(normalize_maps(maps), "input-x-gradient", None, indices)
