"""The user-facing functions: list, info, build, load, save, publish, download, dataset, explain.

Nothing here imports torch at module level: listing and ``info`` read specs only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo import __version__
from zoo.errors import ConfigError, CorruptWeightsError, DatasetNotFoundError, UnknownNameError, ZooError
from zoo.references import Reference, folder_hint, parse_name, parse_reference
from zoo.registry import get_registry, register_plugin, unregister_plugin
from zoo.specs import ModelSpec, WeightsSpec, resolve

__all__ = [
    "build", "dataset", "download", "explain", "explain_metrics", "info", "list_datasets",
    "list_explainers", "list_models", "load", "parse_name", "parse_reference", "plugin_report", "publish",
    "register_plugin", "save", "unregister_plugin",
]


def list_models(pattern: str | None = None, *, domain: str | None = None, task: str | None = None,
                pretrained: bool = False, plugin: str | None = None) -> list[str]:
    """Names of the registered models, filtered by a shell-style ``pattern``, domain, task or plugin.

    With ``pretrained=True`` only models with weights are listed, as ``name.tag`` (one per weights).
    """
    return get_registry().list_models(pattern, domain=domain, task=task, pretrained=pretrained, plugin=plugin)


def list_datasets(pattern: str | None = None, *, domain: str | None = None) -> list[str]:
    import fnmatch

    return [s.name for s in get_registry().datasets()
            if (pattern is None or fnmatch.fnmatch(s.name, pattern)) and (domain is None or s.domain == domain)]


def list_explainers() -> list[str]:
    return [s.name for s in get_registry().explainers()]


def weights_num_params(spec: ModelSpec, weights: WeightsSpec | None) -> int:
    """Parameters of the model a weights tag loads.

    The spec records the default config's count; a tag whose config differs (a wider variant, say)
    is counted by running its builder on the meta device, which allocates and initialises nothing.
    Only then is the model's code imported.
    """
    from zoo.building import instantiate, merge_config

    if weights is None or not weights.config:
        return spec.num_params
    config = merge_config(spec, weights.config)
    if config == dict(spec.default_config):
        return spec.num_params
    return sum(p.numel() for p in instantiate(spec, config, meta=True).parameters())


def _weights_info(spec: ModelSpec, weights: WeightsSpec) -> dict[str, Any]:
    return {
        "tag": weights.tag, "num_params": weights_num_params(spec, weights), "repo_id": weights.repo_id,
        "revision": weights.revision,
        "filename": weights.filename, "sha256": weights.sha256, "dataset": weights.dataset,
        "metrics": dict(weights.metrics), "license": weights.license, "config": dict(weights.config),
        "preprocessing": dict(weights.preprocessing), "converted": weights.converter is not None,
        "default": weights.default, "description": weights.description,
    }


def registered_model(reference: Reference) -> ModelSpec:
    """The spec a registry reference names; an unknown name that is also a folder here gets a hint."""
    try:
        return get_registry().model(reference.name)
    except UnknownNameError as error:
        hint = folder_hint(reference)
        if hint:
            raise UnknownNameError(error.kind, error.name, error.known, f"{error.hint} {hint}".strip()) from None
        raise


def saved_config(reference: Reference) -> dict[str, Any]:
    """The ``config.json`` of a saved folder or a published Hub repo."""
    from zoo.serialization import read_folder_config

    if reference.kind == "hub":
        from zoo.hub import fetch_repo

        return read_folder_config(fetch_repo(reference.repo_id, reference.revision, patterns=("config.json",)))
    return read_folder_config(_existing_folder(reference))


def _existing_folder(reference: Reference) -> Path:
    if not reference.path.is_dir():
        raise ConfigError(f"{reference.text!r} is not a folder written by zoo.save (no such directory)")
    return reference.path


def info(name: str | os.PathLike) -> dict[str, Any]:
    """Everything the registry knows about a model (no model code is imported, except to count
    the parameters of a weights tag whose config differs from the default).

    ``name`` is any reference :func:`load` takes; for a saved folder or a Hub repo the model's
    registry entry is shown with the saved config under ``"saved"``.
    """
    reference = parse_reference(name)
    if reference.kind != "registry":
        saved = saved_config(reference)
        return _spec_info(get_registry().model(saved["zoo_model"])) | {"saved": saved}
    spec = registered_model(reference)
    if reference.tag:
        spec.get_weights(reference.tag)
    return _spec_info(spec)


def _spec_info(spec: ModelSpec) -> dict[str, Any]:
    registry = get_registry()
    default = spec.default_weights
    return {
        "name": spec.name, "plugin": registry.plugin_of("model", spec.name), "domain": spec.domain,
        "task": spec.task, "description": spec.description,
        "paper": {"title": spec.paper.title, "arxiv": spec.paper.arxiv, "venue": spec.paper.venue,
                  "url": spec.paper.url, "code": spec.paper.code},
        "num_params": spec.num_params, "default_config": dict(spec.default_config), "license": spec.license,
        "weights": [_weights_info(spec, w) for w in spec.weights],
        "default_weights": default.tag if default else None,
        "explain_layer": spec.explain_layer, "tags": list(spec.tags), "input_shape": spec.input_shape,
        "recipes": [r.as_dict() for r in spec.recipes], "no_recipe": spec.no_recipe,
        "features": [{"module": f.module, "channels": f.channels, "stride": f.stride} for f in spec.features],
    }


def _select_weights(spec: ModelSpec, tag: str | None, pretrained: bool) -> WeightsSpec | None:
    if tag:
        return spec.get_weights(tag)
    if not pretrained:
        return None
    if spec.default_weights is None:
        raise UnknownNameError(
            "pretrained model", spec.name, get_registry().list_models(pretrained=True),
            hint=f"{spec.name!r} has no pretrained weights; load it with pretrained=False for a random init.",
        )
    return spec.default_weights


def build(name: str, **config: Any):
    """A randomly initialised model from its spec's default config updated with ``config``."""
    from zoo.building import instantiate, merge_config

    reference = parse_reference(name)
    if reference.kind != "registry":
        raise ConfigError(f"zoo.build takes a registry name, got {name!r}; load saved models with zoo.load")
    spec = registered_model(reference)
    weights = _select_weights(spec, reference.tag, pretrained=False)
    model = instantiate(spec, merge_config(spec, weights.config if weights else {}, config))
    model.zoo_weights = None
    return model


def load(name: str | os.PathLike, pretrained: bool = False, *, device: Any = None, features_only: bool = False,
         out_indices: Sequence[int] | None = None, **config: Any):
    """Build a model, with weights when asked.

    ``features_only=True`` (timm's name; ``features`` is a config key of some models) returns the
    model as a backbone (:class:`zoo.features.FeatureExtractor`): it outputs the list of feature
    maps of the levels its spec declares (``out_indices`` picks some), described by its
    ``feature_info`` (module, channels, stride of each).

    ``name`` is a registered model (``"edge-3dsnn"``, or ``"edge-3dsnn.modelnet40"`` to pick the
    weights tag), a Hub repo written by :func:`publish` (``"hf://org/repo@revision"``) or a local
    folder written by :func:`save` (a path: ``"./out"``, ``"/x"``, ``"~/x"``, ``"out/x"``,
    ``"file://…"`` or a ``Path``; a bare name is always a registry name, see :mod:`zoo.references`).
    Registry weights are downloaded once, checked against their pinned
    sha256 and cached. A model with weights is returned in eval mode; a random init in train mode.
    """
    from zoo.building import build_with_weights, merge_config
    from zoo.hub import fetch_repo, fetch_weights
    from zoo.serialization import read_checkpoint, read_safetensors

    reference = parse_reference(name)
    if reference.kind != "registry" and config:
        raise ConfigError("a saved model's config is fixed by its weights; do not pass config overrides")
    if reference.kind == "hub":
        folder = fetch_repo(reference.repo_id, reference.revision)
        try:
            model = _load_folder(folder, source=reference.text)
        except CorruptWeightsError:
            from zoo.hub import evict
            from zoo.serialization import WEIGHTS_FILE

            evict(folder / WEIGHTS_FILE)  # bad bytes must not stay in the shared cache as this commit's file
            raise
    elif reference.kind == "folder":
        folder = _existing_folder(reference)
        model = _load_folder(folder, source=str(folder))
    else:
        spec = registered_model(reference)
        weights = _select_weights(spec, reference.tag, pretrained)
        if weights is None or not pretrained:
            model = build(reference.text, **config)
        else:
            path = fetch_weights(weights, spec.name)
            if weights.converter:
                state_dict = resolve(weights.converter)(read_checkpoint(path))
            else:
                state_dict = read_safetensors(path)
            cfg = merge_config(spec, weights.config, config)
            model = build_with_weights(spec, cfg, state_dict, source=f"{spec.name}.{weights.tag}")
            model.zoo_weights = weights.tag
    if features_only:
        from zoo.features import feature_extractor

        model = feature_extractor(model, get_registry().model(model.zoo_name), out_indices)
    elif out_indices is not None:
        raise ConfigError("out_indices selects feature levels; pass it with features_only=True")
    if device is not None:
        _to_device(model, device)
    return model


def _to_device(model, device: Any) -> None:
    import torch

    from zoo.errors import DeviceError

    try:
        target = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as error:
        raise DeviceError(f"device {device!r} is not a torch device ({error}); use e.g. 'cpu' or 'cuda:0'") from None
    available = {"cuda": torch.cuda.is_available, "mps": lambda: torch.backends.mps.is_available()}
    if target.type in available and not available[target.type]():
        raise DeviceError(
            f"device {str(target)!r} is not available: this torch {torch.__version__} sees no {target.type.upper()} "
            f"device. Load on 'cpu', or install a torch build with {target.type.upper()} support."
        )
    try:
        model.to(target)
    except (AssertionError, RuntimeError) as error:  # e.g. cuda:3 on a one-GPU machine
        raise DeviceError(f"cannot move the model to {str(target)!r}: {error}") from None


def _load_folder(folder: Path, *, source: str):
    from zoo.building import build_with_weights, merge_config
    from zoo.serialization import folder_weights, read_folder_config, read_safetensors

    saved = read_folder_config(folder)
    registry = get_registry()
    try:
        spec = registry.model(saved["zoo_model"])
    except UnknownNameError as error:
        plugin = saved.get("plugin_distribution")
        if plugin:
            raise UnknownNameError("model", saved["zoo_model"], [], hint=f"{source} was saved with the plugin "
                                   f"{plugin!r}; install it (pip install {plugin}).") from None
        raise error
    weights_path = folder_weights(folder, saved.get("weights_sha256"))
    model = build_with_weights(spec, merge_config(spec, saved["config"]), read_safetensors(weights_path), source=source)
    model.zoo_weights = saved.get("weights_tag")
    return model


def save(model, path: str | os.PathLike, *, name: str | None = None, config: dict | None = None,
         overwrite: bool = False) -> Path:
    """Write ``config.json`` + ``model.safetensors`` + ``README.md`` (a Hub model card) to ``path``.

    ``name`` and ``config`` default to what :func:`load` / :func:`build` recorded on the model.
    The folder is written beside ``path`` and then moved into its place, so an interrupted save
    leaves the previous one intact. A folder holding another model's save is only replaced with
    ``overwrite=True``; a folder holding files zoo did not write is never replaced.
    """
    from importlib import metadata

    from zoo.serialization import FORMAT_VERSION, model_card, write_folder

    name = name or getattr(model, "zoo_name", None)
    config = config if config is not None else getattr(model, "zoo_config", None)
    if not name or config is None:
        raise ConfigError("this model was not built by zoo.load / zoo.build: pass name= and config= to zoo.save")
    registry = get_registry()
    spec = registry.model(name)
    plugin = registry.plugin_of("model", name)
    info = registry.plugins.get(plugin)
    distribution = info.distribution if info else ""
    try:
        plugin_version = metadata.version(distribution) if distribution and distribution != "(run time)" else ""
    except metadata.PackageNotFoundError:
        plugin_version = ""
    weights_tag = getattr(model, "zoo_weights", None)
    saved = {
        "zoo_model": name, "config": dict(config), "zoo_version": __version__, "format_version": FORMAT_VERSION,
        "plugin": plugin, "plugin_distribution": distribution, "plugin_version": plugin_version,
        "weights_tag": weights_tag,
    }
    card = model_card(spec, dict(config), weights_tag=weights_tag if weights_tag in {w.tag for w in spec.weights}
                      else None, plugin=distribution or plugin)
    return write_folder(model, Path(path).expanduser(), config=saved, card=card, overwrite=overwrite)


def publish(folder: str | os.PathLike, repo_id: str, *, revision: str | None = None, private: bool | None = None,
            commit_message: str | None = None, token: str | None = None) -> str:
    """Push a folder written by :func:`save` to the Hub as one commit; returns ``hf://repo_id@commit``.

    The folder is checked first (readable config, weights matching their recorded sha256, a card),
    so a broken save is never published.
    """
    from zoo.hub import publish_folder
    from zoo.serialization import CARD_FILE, folder_weights, read_folder_config, read_safetensors

    folder = Path(folder).expanduser()
    saved = read_folder_config(folder)
    read_safetensors(folder_weights(folder, saved.get("weights_sha256")))
    if not (folder / CARD_FILE).exists():
        raise ConfigError(f"{folder} has no {CARD_FILE}; write it with zoo.save")
    if repo_id.count("/") != 1:
        raise ConfigError(f"repo_id must look like 'org/name', got {repo_id!r}")
    commit = publish_folder(folder, repo_id, revision=revision, private=private, token=token,
                            commit_message=commit_message or f"zoo: publish {saved['zoo_model']}")
    return f"hf://{repo_id}@{commit}"


def download(name: str, *, verify: bool = False, progress: bool = False) -> Path:
    """Fetch a model's weights into the cache (``name`` or ``name.tag``) and return the file path.

    ``progress=True`` draws a download bar where stderr is a terminal."""
    from zoo.hub import fetch_weights

    reference = parse_reference(name)
    if reference.kind != "registry":
        raise ConfigError(f"zoo.download takes a registry name (name or name.tag), got {name!r}")
    spec = registered_model(reference)
    weights = _select_weights(spec, reference.tag, pretrained=True)
    return fetch_weights(weights, spec.name, verify_full=verify, progress=progress)


def dataset(name: str, root: str | os.PathLike | None = None, split: str | None = None, **kwargs: Any):
    """A dataset read from ``root`` (default ``$ZOO_DATA/<name>``) in its published format.

    zoo never downloads a dataset unasked: a missing root says where to get it and where to put it.
    """
    spec = get_registry().dataset(name)
    if root is None:
        root = Path(os.environ.get("ZOO_DATA", "~/zoo-data")).expanduser() / name
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetNotFoundError(name, str(root), spec.layout, spec.homepage)
    if split is not None and spec.splits and split not in spec.splits:
        raise UnknownNameError(f"split of dataset {name!r}", split, spec.splits, hint=f"splits: {list(spec.splits)}")
    arguments = dict(kwargs)
    if split is not None:
        arguments["split"] = split
    return resolve(spec.builder)(root, **arguments)


def explain(model, x, method: str = "grad-cam", *, target_layer=None, targets: Sequence[int] | None = None,
            **options: Any):
    """Explain ``model``'s prediction on ``x``; see :mod:`zoo.explainers`."""
    try:
        from zoo.explainers import explain as _explain
    except ModuleNotFoundError as error:
        raise ZooError("this build of zoo-core has no explainers package") from error
    return _explain(model, x, method=method, target_layer=target_layer, targets=targets, **options)


def explain_metrics(model, x, explanation, metrics: Sequence[str] = ("deletion", "insertion"), **options: Any):
    """Faithfulness metrics of an explanation (deletion/insertion AUC, average drop, …)."""
    from zoo.explainers.metrics import explain_metrics as _explain_metrics

    return _explain_metrics(model, x, explanation, metrics=metrics, **options)


def plugin_report() -> list[dict[str, Any]]:
    """Every discovered plugin: distribution, version, status, error and what it registers."""
    return [info.as_dict() for info in get_registry().plugins.values()]
