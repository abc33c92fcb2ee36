"""Building models from specs and filling them with weights, strictly and without a random init."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any

from zoo.errors import ConfigError, StateDictMismatchError
from zoo.specs import ModelSpec, resolve


def merge_config(spec: ModelSpec, *overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The default config updated with each override in turn; unknown keys are an error."""
    config = dict(spec.default_config)
    for override in overrides:
        config.update(override)
    try:
        json.dumps(config)
    except TypeError as error:
        raise ConfigError(f"model {spec.name!r}: config must be JSON-serialisable ({error})") from None
    return config


def instantiate(spec: ModelSpec, config: Mapping[str, Any], *, meta: bool = False):
    """``builder(**config)``, optionally on the meta device (no memory, no random init)."""
    import torch

    builder = resolve(spec.builder)
    try:
        inspect.signature(builder).bind(**config)
    except TypeError as error:
        raise ConfigError(f"model {spec.name!r}: bad config {dict(config)}: {error}") from None
    if meta:
        with torch.device("meta"):
            model = builder(**config)
    else:
        model = builder(**config)
    model.zoo_name = spec.name
    model.zoo_config = dict(config)
    return model


def call_model(model, inputs):
    """``model(x)``, ``model(*x)`` for a tuple, ``model(**x)`` for a mapping: how a ModelSpec's
    example input (and any input zoo passes on) is fed to the model."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, tuple):
        return model(*inputs)
    return model(inputs)


def check_state_dict(model, state_dict: Mapping[str, Any], *, source: str) -> None:
    """Raise :class:`StateDictMismatchError` unless keys and shapes match the model exactly."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mis_shaped = sorted(
        f"{key}: model {list(expected[key].shape)} vs file {list(state_dict[key].shape)}"
        for key in set(expected) & set(state_dict)
        if tuple(expected[key].shape) != tuple(state_dict[key].shape)
    )
    if missing or unexpected or mis_shaped:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", mis_shaped)):
            if keys:
                shown = ", ".join(keys[:8]) + (f" … (+{len(keys) - 8})" if len(keys) > 8 else "")
                parts.append(f"{len(keys)} {label} ({shown})")
        raise StateDictMismatchError(
            f"weights from {source} do not match model {getattr(model, 'zoo_name', type(model).__name__)!r}: "
            + "; ".join(parts)
        )


def build_with_weights(spec: ModelSpec, config: Mapping[str, Any], state_dict: Mapping[str, Any], *, source: str):
    """Build on the meta device and adopt the tensors of ``state_dict`` (``assign=True``).

    Building on meta skips the random initialisation the weights would overwrite anyway. A model
    that keeps state outside its state dict (non-persistent buffers) would be left with meta
    tensors, so such a model is built for real instead and the weights are copied in.
    """
    model = instantiate(spec, config, meta=True)
    try:
        model.load_state_dict(state_dict, strict=True, assign=True)
    except RuntimeError:
        # torch's message is a wall of text; name the keys instead (on a fresh model, since a failed
        # load may have assigned some tensors already).
        check_state_dict(instantiate(spec, config, meta=True), state_dict, source=source)
        raise
    if any(t.is_meta for t in model.parameters()) or any(b.is_meta for b in model.buffers()):
        model = instantiate(spec, config)
        model.load_state_dict(state_dict, strict=True)
    return model.eval()
