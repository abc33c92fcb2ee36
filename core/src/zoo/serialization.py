"""A saved model is a folder: ``config.json`` + ``model.safetensors`` + ``README.md`` (a Hub model card).

Only safetensors are read. A folder that offers a pickled checkpoint instead is refused: unpickling
a file runs whatever code it contains.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, CorruptWeightsError, UnsafeWeightsError, ZooError

CONFIG_FILE, WEIGHTS_FILE, CARD_FILE = "config.json", "model.safetensors", "README.md"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
FORMAT_VERSION = 1


# safetensors dtype names -> torch dtype names, for the dtypes zoo reads without the library's memory map.
_TORCH_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
                 "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}


def read_safetensors(path: Path) -> dict[str, Any]:
    """The tensors of a safetensors file, each read into memory of its own that torch allocated.

    The safetensors library validates the file first (header, dtypes, offsets in bounds, no holes).
    The data is then read straight into fresh tensors instead of being handed out as views into a
    memory map at the file's own offsets, which are rarely 64-byte aligned: weights adopted at such
    addresses make oneDNN/MKL take other kernels and change the outputs' last bits (see
    :func:`zoo.building.aligned_tensors`). One read per tensor costs about what the first forward
    pass would spend faulting in the map's pages.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt"):
            pass
        return _read_into_fresh_tensors(path)
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise CorruptWeightsError(f"{path} is not a readable safetensors file ({error})") from None


def _read_into_fresh_tensors(path: Path) -> dict[str, Any]:
    import ctypes
    import struct

    import torch

    with open(path, "rb", buffering=0) as handle:
        (header_size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_size))
        header.pop("__metadata__", None)
        if any(info["dtype"] not in _TORCH_DTYPES for info in header.values()):
            from safetensors.torch import load_file

            return load_file(str(path))  # realigned where it is adopted
        data_start = 8 + header_size
        tensors = {}
        for key, info in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
            tensor = torch.empty(info["shape"], dtype=getattr(torch, _TORCH_DTYPES[info["dtype"]]))
            start, end = info["data_offsets"]
            if end > start:
                handle.seek(data_start + start)
                # a writable view of the tensor's own memory (no numpy needed)
                buffer = (ctypes.c_char * (end - start)).from_address(tensor.data_ptr())
                if handle.readinto(buffer) != end - start:
                    raise ValueError(f"tensor {key!r} is truncated")
            tensors[key] = tensor
        return tensors


def read_checkpoint(path: Path) -> dict[str, Any]:
    """An author's checkpoint for a registry converter: safetensors, or torch's weights-only loader.

    ``weights_only=True`` restricts unpickling to tensors and plain containers, so no code runs.
    """
    if path.suffix == ".safetensors":
        return read_safetensors(path)
    import pickle

    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        raise UnsafeWeightsError(
            f"{path} cannot be read with torch.load(weights_only=True) ({error}); "
            "zoo does not unpickle arbitrary objects"
        ) from None
    return checkpoint


def state_dict_for_saving(model) -> dict[str, Any]:
    """The model's state dict as contiguous CPU tensors; tensors shared between keys are copied,
    because safetensors stores each key on its own."""
    seen: dict[tuple[int, int], str] = {}
    out = {}
    for key, tensor in model.state_dict().items():
        tensor = tensor.detach()
        identity = (tensor.untyped_storage().data_ptr(), tensor.storage_offset()) if tensor.numel() else None
        if identity is not None and identity in seen:
            tensor = tensor.clone()
        elif identity is not None:
            seen[identity] = key
        out[key] = tensor.to("cpu").contiguous()
    return out


def write_folder(model, folder: Path, *, config: dict, card: str, overwrite: bool = False) -> Path:
    """Write the three files into a fresh folder beside ``folder``, then put it in ``folder``'s place.

    A save that is interrupted (a crash, a kill) leaves the previous folder as it was and at most a
    hidden ``.<name>.zoo-partial-*`` folder beside it; a reader never sees half a model.
    """
    from safetensors.torch import save_file

    from zoo.hashing import sha256_of

    state_dict = state_dict_for_saving(model)
    if any(t.is_meta for t in state_dict.values()):
        raise ZooError("the model still has tensors on the meta device; load or initialise it before saving")
    _check_target(folder, config["zoo_model"], overwrite)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.zoo-partial-{secrets.token_hex(4)}"
    staging.mkdir()  # not tempfile.mkdtemp: the saved folder keeps the user's umask, not mode 0700
    try:
        weights_path = staging / WEIGHTS_FILE
        save_file(state_dict, str(weights_path), metadata={"format": "pt", "zoo_model": config["zoo_model"]})
        config = dict(config, weights_sha256=sha256_of(weights_path))
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        (staging / CARD_FILE).write_text(card)
        _put_in_place(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _check_target(folder: Path, name: str, overwrite: bool) -> None:
    """Refuse to replace files zoo did not write, or another model's save unless ``overwrite``."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ConfigError(f"cannot save to {folder}: it is a file, not a folder")
    entries = sorted(p.name for p in folder.iterdir())
    foreign = [e for e in entries if e not in (CONFIG_FILE, WEIGHTS_FILE, CARD_FILE)]
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise ConfigError(f"will not save to {folder}: it holds files zoo.save did not write ({shown}), which "
                          "replacing the folder would delete; save to a new or empty folder")
    if not entries or overwrite:
        return
    try:
        previous = json.loads((folder / CONFIG_FILE).read_text()).get("zoo_model")
    except (OSError, ValueError, AttributeError):
        previous = None
    if previous != name:
        held = f"a saved {previous!r} model" if previous else "an incomplete or unreadable save"
        raise ConfigError(f"{folder} holds {held}; pass overwrite=True to replace it with this {name!r} model")


def _put_in_place(staging: Path, folder: Path) -> None:
    """Move the finished ``staging`` folder to ``folder``; afterwards ``staging`` holds what was there."""
    if not folder.exists() or not any(folder.iterdir()):
        os.replace(staging, folder)  # rename(2) replaces an empty directory
        return
    if _exchange(staging, folder):
        return
    # No atomic exchange here (not Linux, or the filesystem lacks it): two renames, a window of
    # microseconds in which ``folder`` is missing but the old save still sits complete beside it.
    aside = staging.with_name(staging.name + "-previous")
    os.replace(folder, aside)
    os.replace(staging, folder)
    os.replace(aside, staging)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux's renameat2(RENAME_EXCHANGE); False where unavailable."""
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def read_folder_config(folder: Path) -> dict:
    config_path = folder / CONFIG_FILE
    if not config_path.exists():
        raise ConfigError(f"{folder} has no {CONFIG_FILE}: it was not written by zoo.save / zoo.publish")
    try:
        config = json.loads(config_path.read_text())
    except ValueError as error:
        raise ConfigError(f"{config_path} is not valid JSON ({error})") from None
    if not isinstance(config, dict) or "zoo_model" not in config or not isinstance(config.get("config"), dict):
        raise ConfigError(f"{config_path} lacks 'zoo_model' and 'config': it was not written by zoo.save")
    return config


def folder_weights(folder: Path, expected_sha256: str | None) -> Path:
    weights_path = folder / WEIGHTS_FILE
    if not weights_path.exists():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise UnsafeWeightsError(
                f"{folder} holds {', '.join(pickles)} but no {WEIGHTS_FILE}. zoo loads safetensors only: a pickled "
                "checkpoint can run arbitrary code when loaded. Convert it once, where you trust it, with "
                "torch.load(weights_only=True) and safetensors.torch.save_file."
            )
        raise CorruptWeightsError(f"{folder} has no {WEIGHTS_FILE}")
    if expected_sha256:
        from zoo.hashing import verify_file

        if not verify_file(weights_path, expected_sha256):
            raise CorruptWeightsError(
                f"{weights_path} does not match the sha256 recorded in its {CONFIG_FILE}: "
                "the file is corrupt or was changed"
            )
    return weights_path


def model_card(spec, config: dict, *, weights_tag: str | None, plugin: str) -> str:
    """A Hub model card: YAML metadata the Hub indexes, then what the model is and how to load it."""
    weights = spec.get_weights(weights_tag) if weights_tag else None
    licence = (weights.license if weights and weights.license else spec.license) or "other"
    lines = ["---", "library_name: zoo", f"license: {licence}", "tags:", "- zoo", f"- {spec.domain}",
             f"- {spec.task}", f"- {spec.name}"]
    if weights and weights.dataset:
        lines += ["datasets:", f"- {weights.dataset}"]
    lines += ["---", "", f"# {spec.name}", ""]
    if spec.description:
        lines += [spec.description, ""]
    link = f" — https://arxiv.org/abs/{spec.paper.arxiv}" if spec.paper.arxiv else ""
    lines += [f"Paper: {spec.paper.cite()}{link}", ""]
    lines += [f"Domain: {spec.domain} · Task: {spec.task} · Plugin: {plugin}", ""]
    if weights and weights.metrics:
        lines += ["| metric | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in weights.metrics.items()] + [""]
    lines += ["## Usage", "", "```python", "import zoo", 'model = zoo.load("hf://<org>/<repo>")', "```", "",
              "## Config", "", "```json", json.dumps(config, indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)
