"""Converters from the authors' checkpoints to zoo state dicts.

* TD3Net's ``ckpt.best.pth.tar`` (``{"model_state_dict": ..., ...}``): :func:`from_td3net`;
* mpc001's MS-TCN / DC-TCN ``.pth`` / ``.pth.tar`` files: :func:`from_mpc001`.

Both receive what ``torch.load(path, weights_only=True)`` returns (zoo reads the file, a full unpickle
never runs) and return a state dict whose keys are this plugin's. A key the mapping does not know is
an error naming it, so a checkpoint of another architecture never loads half-way.

    zoo_lipreading.convert.convert_checkpoint("ckpt.best.pth.tar", "td3net-base", "out/")
    # or: zoo lipread-convert ckpt.best.pth.tar td3net-base out/
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from zoo.errors import WeightsError

_TRUNK = [(r"\.relu([12])\.", r".act\1.")]

# TD3Net: FrameEmbedding (emd_network) holds the trunk twice, as ``trunk`` and as ``frontend.5``
# inside its Sequential, so the checkpoint carries every trunk tensor under both names.
_TD3NET = [
    (r"^emd_network\.frontend\.([012])\.", r"frontend.stem.\1."),
    (r"^emd_network\.trunk\.", "frontend.trunk."),
    (r"^backend_network\.net\.(\d+)\.td2_block\.", r"backend.stages.\1.blocks."),
    (r"^backend_network\.net\.(\d+)\.transition\.", r"backend.stages.\1.transition."),
    (r"\.bottle_layer\.", ".bottleneck."),
    (r"\.init_layer\.", ".init."),
    (r"\.MDDB\.layers\.", ".dilated.layers."),
    (r"\.block_reduction_layer\.", ".reduce."),
    (r"\.relu\.weight$", ".act.weight"),
    (r"^cls_layer\.", "classifier."),
    *_TRUNK,
]
_TD3NET_DUPLICATE = re.compile(r"^emd_network\.frontend\.5\.")

_MPC001 = [
    (r"^frontend3D\.([012])\.", r"frontend.stem.\1."),
    (r"^trunk\.", "frontend.trunk."),
    (r"^tcn\.tcn_output\.", "classifier."),
    # MS-TCN
    (r"^tcn\.mb_ms_tcn\.network\.(\d+)\.cbcr0_(\d+)\.", r"backend.blocks.\1.first.\2."),
    (r"^tcn\.mb_ms_tcn\.network\.(\d+)\.cbcr1_(\d+)\.", r"backend.blocks.\1.second.\2."),
    (r"^tcn\.mb_ms_tcn\.network\.(\d+)\.(downsample|relu_final)\.", r"backend.blocks.\1.\2."),
    (r"\.batchnorm\.", ".bn."),
    (r"\.non_lin\.", ".act."),
    (r"\.relu_final\.", ".act."),
    # DC-TCN
    (r"^tcn\.tcn_trunk\.features\.transition(\d+)\.norm\.", r"backend.transitions.\1.bn."),
    (r"^tcn\.tcn_trunk\.features\.transition(\d+)\.(conv|prelu)\.", r"backend.transitions.\1.\2."),
    (r"^tcn\.tcn_trunk\.features\.norm5\.", "backend.norm."),
    (r"^tcn\.tcn_trunk\.features\.denseblock(\d+)\.denselayer(\d+)\.", lambda m: (
        f"backend.blocks.{int(m[1]) - 1}.layers.{int(m[2]) - 1}.")),
    (r"\.cbcr0_se_(\d+)\.fc\.0\.", r".se.\1.reduce."),
    (r"\.cbcr0_se_(\d+)\.fc\.2\.", r".se.\1.expand."),
    (r"\.cbcr0_(\d+)\.net\.", r".first.\1."),
    (r"\.cbcr1_(\d+)\.net\.", r".second.\1."),
    (r"\.(first|second)\.(\d+)\.0\.", r".\1.\2.conv."),
    (r"\.(first|second)\.(\d+)\.1\.", r".\1.\2.bn."),
    (r"\.(first|second)\.(\d+)\.3\.", r".\1.\2.act."),
    (r"\.prelu\.", ".act."),
    *_TRUNK,
]


def model_state_dict(checkpoint: Mapping) -> dict:
    """The weights inside an author's checkpoint: ``model_state_dict`` (both codebases save that),
    ``state_dict``, or the mapping itself; a ``module.`` prefix (DataParallel) is dropped."""
    if not isinstance(checkpoint, Mapping):
        raise WeightsError(f"expected a checkpoint dict, got {type(checkpoint).__name__}")
    for key in ("model_state_dict", "state_dict"):
        if isinstance(checkpoint.get(key), Mapping):
            checkpoint = checkpoint[key]
            break
    return {key.removeprefix("module."): value for key, value in checkpoint.items()}


def _rename(state: Mapping, rules, source: str, ours) -> dict:
    out = {}
    for key, value in state.items():
        new = key
        for pattern, replacement in rules:
            new = re.sub(pattern, replacement, new)
        if not new.startswith(ours):
            raise WeightsError(f"{source} checkpoint: key {key!r} belongs to no part of the model this converter "
                               "knows; is it a checkpoint of another architecture?")
        out[new] = value
    return out


def _same_memory(a, b) -> bool:
    """torch.save keeps shared storage shared, so the twins of a real checkpoint are one tensor."""
    return (a.shape == b.shape and a.stride() == b.stride() and a.storage_offset() == b.storage_offset()
            and a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr())


def from_td3net(checkpoint: Mapping) -> dict:
    """TD3Net (``ckpt.best.pth.tar``) -> a ``td3net-*`` state dict."""
    import torch

    state = model_state_dict(checkpoint)
    duplicates = {k: v for k, v in state.items() if _TD3NET_DUPLICATE.match(k)}
    state = {k: v for k, v in state.items() if k not in duplicates}
    for key, value in duplicates.items():
        twin = _TD3NET_DUPLICATE.sub("emd_network.trunk.", key)
        if twin not in state:  # only one copy saved: take it
            state[twin] = value
        elif not _same_memory(state[twin], value) and not torch.equal(state[twin], value):
            raise WeightsError(f"TD3Net checkpoint: {key!r} and {twin!r} should hold the same trunk tensor")
    return _rename(state, _TD3NET, "TD3Net", ("frontend.", "backend.", "classifier."))


def from_mpc001(checkpoint: Mapping) -> dict:
    """mpc001's MS-TCN or DC-TCN checkpoint -> an ``ms-tcn`` / ``dc-tcn*`` state dict."""
    return _rename(model_state_dict(checkpoint), _MPC001, "mpc001", ("frontend.", "backend.", "classifier."))


CONVERTERS = {"td3net": from_td3net, "ms-tcn": from_mpc001, "dc-tcn": from_mpc001}


def converter_for(model_name: str):
    for prefix, converter in CONVERTERS.items():
        if model_name.startswith(prefix):
            return converter
    raise WeightsError(f"no converter for {model_name!r}: expected a td3net-*, ms-tcn or dc-tcn* model")


def convert_checkpoint(path: str | Path, model_name: str, out: str | Path, **config):
    """Read an author's checkpoint (weights only), load it strictly into ``model_name`` and
    ``zoo.save`` it to ``out``; returns the loaded model."""
    import zoo
    from zoo.building import build_with_weights, merge_config
    from zoo.registry import get_registry
    from zoo.serialization import read_checkpoint

    spec = get_registry().model(model_name)
    state = converter_for(model_name)(read_checkpoint(Path(path)))
    model = build_with_weights(spec, merge_config(spec, config), state, source=str(path))
    zoo.save(model, out)
    return model
