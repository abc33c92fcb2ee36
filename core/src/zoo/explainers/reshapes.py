"""Ready-made ``explain_reshape`` functions for :class:`zoo.ModelSpec`.

A reshape maps a target layer's output to the canonical view of :mod:`zoo.explainers.framework`
(``[B, C, *S]``, :class:`~zoo.explainers.framework.TimeSteps` or
:class:`~zoo.explainers.framework.Points`). It is applied to the activations and, for tensor
outputs, to their gradients alike, so it must be a pure re-indexing (no arithmetic).

Declare one in a spec as ``explain_reshape="zoo.explainers.reshapes:vit_tokens"``.
"""

from __future__ import annotations

import math

from torch import Tensor

from zoo.errors import ExplainError
from zoo.explainers.framework import TimeSteps


def tokens_to_grid(tokens: Tensor, prefix_tokens: int) -> Tensor:
    """``[B, prefix + h·w, C]`` -> ``[B, C, h, w]`` after dropping the ``prefix`` leading tokens
    (class/distillation/register tokens); the grid must be square."""
    if tokens.ndim != 3:
        raise ExplainError(f"token reshape expects [B, N, C] activations, got {list(tokens.shape)}")
    patches = tokens[:, prefix_tokens:]
    side = math.isqrt(patches.shape[1])
    if side * side != patches.shape[1]:
        raise ExplainError(
            f"{patches.shape[1]} patch tokens (after dropping {prefix_tokens}) do not form a square grid"
        )
    return patches.reshape(tokens.shape[0], side, side, tokens.shape[2]).permute(0, 3, 1, 2)


def vit_tokens(tokens: Tensor) -> Tensor:
    """ViT with one class token: ``[B, 1 + h·w, C]`` -> ``[B, C, h, w]``."""
    return tokens_to_grid(tokens, 1)


def patch_tokens(tokens: Tensor) -> Tensor:
    """Transformers without a class token (e.g. PVT, Swin stages): ``[B, h·w, C]`` -> ``[B, C, h, w]``."""
    return tokens_to_grid(tokens, 0)


def channels_last(features: Tensor) -> Tensor:
    """``[B, *S, C]`` (e.g. newer Swin ``[B, H, W, C]``) -> ``[B, C, *S]``."""
    return features.movedim(-1, 1)


def time_major(features: Tensor) -> TimeSteps:
    """Multi-step spiking layers: ``[T, B, C, *S]`` (SpikingJelly's multi-step layout)."""
    if features.ndim < 4:
        raise ExplainError(f"time_major expects [T, B, C, *S], got {list(features.shape)}")
    return TimeSteps(features)


def time_flattened(steps: int):
    """Spiking layers that see ``[T·B, C, *S]`` (time folded into the batch), for ``steps`` = T."""
    def reshape(features: Tensor) -> TimeSteps:
        if features.shape[0] % steps:
            raise ExplainError(f"leading dimension {features.shape[0]} is not a multiple of T={steps}")
        return TimeSteps(features.reshape(steps, features.shape[0] // steps, *features.shape[1:]))

    return reshape
