"""Checkpoints: zoo folders (config.json + safetensors + card) switched into place atomically.

Every checkpoint is written whole into a fresh folder ``out/ckpt-<kind>-<step>``; only then is the
symlink ``out/<kind>`` (``last``, ``best``) replaced by ``os.replace`` - atomic on POSIX - and the
previous folder removed. A crash or a full disk mid-write leaves the previous checkpoint intact.
``last`` also holds ``training_state.pt`` (optimiser, scheduler, RNG, sampler position), written by
``torch.save`` and read back with ``torch.load(weights_only=True)``: tensors and plain containers only.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, TrainingError

STATE_FILE = "training_state.pt"


class Snapshot:
    """What :func:`zoo.save` needs of a model: its state dict, registry name and config."""

    def __init__(self, state_dict: dict, name: str, config: dict):
        self._state_dict, self.zoo_name, self.zoo_config, self.zoo_weights = state_dict, name, config, None

    def state_dict(self) -> dict:
        return self._state_dict


def write(out: Path, kind: str, step: int, snapshot: Snapshot, *, card_section: str,
          state: dict[str, Any] | None = None) -> Path:
    """Write ``out/<kind>`` as a zoo folder (plus the training state) without ever exposing half a folder."""
    import torch

    from zoo.api import save

    folder = out / f"ckpt-{kind}-{step:08d}"
    link = out / kind
    previous = link.resolve() if link.is_symlink() else None
    try:
        if folder.exists():  # left by a run killed mid-write; never the folder `link` points at
            shutil.rmtree(folder)
        save(snapshot, folder)
        with open(folder / "README.md", "a") as card:
            card.write(card_section)
        if state is not None:
            temporary = folder / (STATE_FILE + ".tmp")
            torch.save(state, temporary)
            os.replace(temporary, folder / STATE_FILE)
        temporary_link = out / f".{kind}.tmp"
        if temporary_link.is_symlink() or temporary_link.exists():
            temporary_link.unlink()
        os.symlink(folder.name, temporary_link)
        os.replace(temporary_link, link)
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        reason = "the disk is full" if error.errno in (errno.ENOSPC, errno.EDQUOT) else str(error)
        kept = f"the previous checkpoint {previous} is intact" if previous else "no earlier checkpoint exists"
        raise TrainingError(f"could not write the {kind!r} checkpoint to {out}: {reason}; nothing half-written "
                            f"was left and {kept}") from error
    if previous is not None and previous != folder.resolve():
        shutil.rmtree(previous, ignore_errors=True)
    return link


def read_state(out: Path, model_name: str) -> tuple[Path, dict[str, Any]]:
    """The ``last`` checkpoint of a run of ``model_name`` under ``out``, and its training state."""
    import torch

    from zoo.serialization import read_folder_config

    folder = out / "last"
    if not (folder / STATE_FILE).is_file():
        raise ConfigError(f"cannot resume: {out} holds no checkpoint written by zoo train ({folder / STATE_FILE} "
                          "is missing)")
    saved = read_folder_config(folder)
    if saved["zoo_model"] != model_name:
        raise ConfigError(f"cannot resume: {out} is a run of {saved['zoo_model']!r}, not {model_name!r}")
    return folder, torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
