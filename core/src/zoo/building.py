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


# torch's CPU allocator aligns every allocation to 64 bytes; oneDNN/MKL pick their kernels by the
# alignment of the weights, so a model computes the same numbers only on weights aligned as they were.
TENSOR_ALIGNMENT = 64


def aligned_tensors(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """``state_dict`` with every tensor that is not contiguous and 64-byte aligned copied into fresh memory.

    ``safetensors.torch.load_file`` hands back views into a memory map at whatever offset the file
    puts them, and a converter may return transposed views. Adopted as they are (``assign=True``),
    such weights make oneDNN/MKL take other kernel paths than the model that was saved, and outputs
    differ in the last bits depending on the file's layout and the CPU. Aligned tensors are kept as
    they are (no copy).
    """
    import torch

    out = {}
    for key, tensor in state_dict.items():
        if isinstance(tensor, torch.Tensor) and tensor.device.type == "cpu" and tensor.numel() and (
            not tensor.is_contiguous() or tensor.data_ptr() % TENSOR_ALIGNMENT
        ):
            tensor = tensor.clone(memory_format=torch.contiguous_format)
        out[key] = tensor
    return out


def build_with_weights(spec: ModelSpec, config: Mapping[str, Any], state_dict: Mapping[str, Any], *, source: str):
    """Build on the meta device and adopt the tensors of ``state_dict`` (``assign=True``).

    This is the one place where weights from a folder, the Hub or a plugin's pinned file become a
    model's parameters; they are realigned first (:func:`aligned_tensors`), so a loaded model gives
    bit for bit the outputs of the model that was saved, whatever the file layout and the CPU.
    Building on meta skips the random initialisation the weights would overwrite anyway. A model
    that keeps state outside its state dict (non-persistent buffers) would be left with meta
    tensors, so such a model is built for real instead and the weights are copied in.
    """
    state_dict = aligned_tensors(state_dict)
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
