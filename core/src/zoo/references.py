"""What a model reference names: a registered model, a saved folder, or a Hub repo.

One parser serves ``zoo.load``, ``zoo.info``, ``zoo explain`` and the CLI, so a string means the
same thing everywhere:

- ``hf://org/repo`` or ``hf://org/repo@revision``: a repo written by ``zoo.publish``;
- ``file://…``, or a path — anything that starts with ``.``, ``/`` or ``~`` or holds a path
  separator (``./gcn``, ``out/model``, ``/data/m``) — or an ``os.PathLike``: a folder written by
  ``zoo.save``;
- anything else is a registry name, ``name`` or ``name.tag``. A bare name never resolves to a
  folder, even when one of that name exists in the working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from zoo.errors import ConfigError

HUB_SCHEME, FILE_SCHEME = "hf://", "file://"


@dataclass(frozen=True)
class Reference:
    """A parsed model reference; ``kind`` is ``"registry"``, ``"folder"`` or ``"hub"``."""

    kind: str
    text: str
    name: str = ""  # registry: the model name without its tag
    tag: str | None = None  # registry: the weights tag after the dot
    path: Path | None = None  # folder
    repo_id: str = ""  # hub
    revision: str | None = None  # hub


def parse_name(name: str) -> tuple[str, str | None]:
    """``"edge-3dsnn.modelnet40"`` -> ``("edge-3dsnn", "modelnet40")``; a bare name has no tag."""
    base, _, tag = name.partition(".")
    return base, tag or None


def parse_hub_uri(uri: str) -> tuple[str, str | None]:
    """``hf://org/repo@rev`` -> (``org/repo``, ``rev`` or None)."""
    repo_id, _, revision = uri[len(HUB_SCHEME):].partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ConfigError(f"{uri!r} is not a Hub reference; expected 'hf://org/name' or 'hf://org/name@revision'")
    return repo_id, revision or None


def looks_like_path(text: str) -> bool:
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return text.startswith((".", "/", "~")) or any(sep in text for sep in separators)


def parse_reference(reference: str | os.PathLike) -> Reference:
    """Classify ``reference`` by its spelling alone (the file system is not consulted)."""
    if not isinstance(reference, str):
        return Reference("folder", os.fspath(reference), path=Path(os.fspath(reference)).expanduser())
    if reference.startswith(HUB_SCHEME):
        repo_id, revision = parse_hub_uri(reference)
        return Reference("hub", reference, repo_id=repo_id, revision=revision)
    if reference.startswith(FILE_SCHEME):
        return Reference("folder", reference, path=Path(unquote(reference[len(FILE_SCHEME):])).expanduser())
    if looks_like_path(reference):
        return Reference("folder", reference, path=Path(reference).expanduser())
    name, tag = parse_name(reference)
    return Reference("registry", reference, name=name, tag=tag)


def folder_hint(reference: Reference) -> str:
    """For a registry name that is also a folder here: how to load the folder instead."""
    if reference.kind == "registry" and Path(reference.text).is_dir():
        return (f"A folder named {reference.text!r} exists here; a bare name is always a registry name: "
                f"load the folder as './{reference.text}'.")
    return ""
