"""B-cos contribution maps: the dynamic linear map ``W(x)`` of a B-cos network and ``W(x) ⊙ x``.

Böhle, Singh, Fritz & Schiele, "B-cos Alignment for Inherently Interpretable CNNs and Vision
Transformers", TPAMI 2024, arXiv:2306.10898. In explanation mode (every dynamic factor detached) a
B-cos network computes ``y(x) = W(x)ᵀx + logit_bias`` and ``W(x) = ∂y/∂x``; the contribution of
pixel ``(h, w)`` to class ``c`` is ``Σ_ch x[ch, h, w] · W(x)[c, ch, h, w]``. One forward and one
backward for the whole batch: in eval mode the samples do not interact, so the gradient of the
sum of the selected logits is every sample's own ``W(x)`` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import ExplainError
from zoo.explainers.framework import Explanation, check_autograd_available, eval_mode, target_score
from zoo_vision.blocks.bcos import DetachableModule, explanation_mode


@dataclass
class DynamicLinearMap:
    """``weights``: ``W(x)`` rows of the targets, ``[B, C, H, W]`` like ``x``; ``contributions``:
    ``[B, H, W]``, summing to ``logits[target] − logit_bias``; ``logits``: ``[B, num_classes]``."""

    weights: Tensor
    contributions: Tensor
    logits: Tensor
    targets: Tensor | None


def dynamic_linear_map(model: nn.Module, x: Tensor, targets: Any = None) -> DynamicLinearMap:
    """``W(x)`` and the contribution maps of a B-cos ``model`` on ``x`` ``[B, C, H, W]`` (the
    encoded input the model takes, e.g. ``[r, g, b, 1-r, 1-g, 1-b]``). A model with an
    ``explanation_input`` method (a B-cosified network, :func:`zoo_vision.bcosify`) is explained
    with respect to that transformed input, on which its map is exact: ``weights`` and
    ``contributions`` then refer to the normalised 6-channel input. ``targets``: None (the
    predicted classes), an int, one int per sample, or a callable giving one score per sample."""
    check_autograd_available("bcos-contributions")
    if not any(isinstance(m, DetachableModule) for m in model.modules()):
        raise ExplainError("bcos-contributions needs a B-cos model (with zoo_vision.blocks B-cos layers), "
                           f"got {type(model).__name__}; use input-x-gradient for other models")
    if not isinstance(x, Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ExplainError(f"bcos-contributions takes a float image batch [B, C, H, W], got "
                           f"{list(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    # a B-cosified network normalises its input inside (zoo_vision.bcosification): its map is exact
    # with respect to the normalised input, so that is what it is computed against
    to_input = getattr(model, "explanation_input", None)
    forward = getattr(model, "forward_from_explanation_input", model)
    with eval_mode(model), explanation_mode(model), torch.enable_grad():
        leaf = (x if to_input is None else to_input(x)).detach().requires_grad_()
        logits = forward(leaf)
        score, indices = target_score(logits, targets)
        (weights,) = torch.autograd.grad(score.sum(), leaf)
    return DynamicLinearMap(weights, (weights * leaf.detach()).sum(1), logits.detach(), indices)


def bcos_contributions(model: nn.Module, x: Tensor, *, target_layer: Any = None, targets: Any = None,
                       reshape: Any = None, smooth: int = 1) -> Explanation:
    """The positive B-cos contributions ``relu(Σ_ch x · W(x))``, optionally averaged over a
    ``smooth`` x ``smooth`` window (the authors' localisation uses 15), divided by their maximum:
    maps ``[B, H, W]`` in [0, 1]. The raw, signed maps: :func:`dynamic_linear_map`."""
    if target_layer is not None:
        raise ExplainError("bcos-contributions explains the input; it takes no target_layer")
    if not isinstance(smooth, int) or smooth < 1 or smooth % 2 == 0:
        raise ExplainError(f"bcos-contributions: smooth must be an odd positive int, got {smooth!r}")
    result = dynamic_linear_map(model, x, targets)
    maps = result.contributions.relu()
    if smooth > 1:
        maps = F.avg_pool2d(maps[:, None], smooth, 1, smooth // 2, count_include_pad=False)[:, 0]
    # contributions of a pixel can be far below the framework's 1e-7 epsilon: divide by the maximum only
    peak = maps.flatten(1).amax(1).clamp_min(torch.finfo(maps.dtype).tiny)[:, None, None]
    return Explanation(maps / peak, "bcos-contributions", None, result.targets)
