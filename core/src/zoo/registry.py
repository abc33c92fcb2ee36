"""The registry: every spec of every loaded plugin, by name.

Built once per process on first use from the plugin manager (see :mod:`zoo.plugins`); listing and
``info`` read only specs, so they import neither torch nor any model code.
"""

from __future__ import annotations

import fnmatch
import threading

from zoo.errors import NameClashError, SpecError, UnknownNameError
from zoo.plugins import PluginInfo, make_plugin_manager, report_failure
from zoo.providers import provider_of
from zoo.specs import DatasetSpec, ExplainerSpec, ModelSpec

_KINDS = {
    "model": ("zoo_models", ModelSpec, "models"),
    "dataset": ("zoo_datasets", DatasetSpec, "datasets"),
    "explainer": ("zoo_explainers", ExplainerSpec, "explainers"),
}


class Registry:
    """Specs by kind and name, the plugin that registered each, and the plugins' health."""

    def __init__(self, runtime_plugins: list[tuple[str, object]] = ()):
        self.manager, self.plugins = make_plugin_manager(list(runtime_plugins))
        self._specs: dict[str, dict[str, object]] = {kind: {} for kind in _KINDS}
        self._owner: dict[str, dict[str, str]] = {kind: {} for kind in _KINDS}
        self._clashes: dict[str, dict[str, list[str]]] = {kind: {} for kind in _KINDS}
        for kind in _KINDS:
            self._collect(kind)

    def _collect(self, kind: str) -> None:
        hook_name, spec_type, field_name = _KINDS[kind]
        specs, owner, clashes = self._specs[kind], self._owner[kind], self._clashes[kind]
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            info = self.plugins.setdefault(impl.plugin_name, PluginInfo(impl.plugin_name, repr(impl.plugin)))
            # One plugin at a time, so a raising hook only loses its own plugin; through pluggy's
            # hook caller, so pluggy's tracing (add_hookcall_monitoring, enable_tracing) sees the call.
            others = [plugin for plugin in self.manager.get_plugins() if plugin is not impl.plugin]
            try:
                results = self.manager.subset_hook_caller(hook_name, remove_plugins=others)()
                returned = [spec for result in results for spec in (result or ())]
            except Exception as error:  # noqa: BLE001 - isolation is the point
                report_failure(info, error)
                continue
            for spec in returned:
                if not isinstance(spec, spec_type):
                    expected = f"zoo.{spec_type.__name__}"
                    report_failure(info, SpecError(f"{hook_name}() returned {spec!r}, expected {expected}"))
                    continue
                if spec.name in clashes:
                    clashes[spec.name].append(impl.plugin_name)
                elif spec.name in specs:
                    clashes[spec.name] = [owner.pop(spec.name), impl.plugin_name]
                    del specs[spec.name]
                else:
                    specs[spec.name] = spec
                    owner[spec.name] = impl.plugin_name
                    getattr(info, field_name).append(spec.name)
        for name, plugin_names in clashes.items():
            for plugin_name in dict.fromkeys(plugin_names):
                info = self.plugins[plugin_name]
                if name in getattr(info, field_name):
                    getattr(info, field_name).remove(name)
                report_failure(info, self._clash_message(kind, name))

    def _clash_message(self, kind: str, name: str) -> str:
        plugin_names = ", ".join(repr(p) for p in dict.fromkeys(self._clashes[kind][name]))
        return (f"{kind} name {name!r} is registered by several plugins ({plugin_names}); "
                "it is unusable until one of them renames it")

    def _get(self, kind: str, name: str):
        if name in self._clashes[kind]:
            raise NameClashError(self._clash_message(kind, name))
        try:
            return self._specs[kind][name]
        except KeyError:
            hint = ""
            provider = provider_of(name) if kind == "model" else None
            installed = [info for info in self.plugins.values() if info.distribution == provider]
            if provider and not installed:
                hint = f"{name!r} is provided by {provider}, which is not installed (pip install {provider})."
            elif provider and installed[0].status != "ok":
                hint = f"{name!r} is provided by {provider}, which is installed but {installed[0].status}."
            elif not self._specs[kind]:
                hint = f"No {kind}s are registered: install a zoo plugin (e.g. pip install zoo-medical)."
            failed = [p.name for p in self.plugins.values() if p.status == "failed"]
            if failed:
                hint += f" Plugins that failed to load: {', '.join(failed)} (see `zoo plugins`)."
            raise UnknownNameError(kind, name, self._specs[kind], hint.strip()) from None

    def model(self, name: str) -> ModelSpec:
        return self._get("model", name)

    def dataset(self, name: str) -> DatasetSpec:
        return self._get("dataset", name)

    def explainer(self, name: str) -> ExplainerSpec:
        return self._get("explainer", name)

    def is_registered(self, spec) -> bool:
        """Whether this very spec object is the one registered under its name."""
        kind = next(kind for kind, (_, spec_type, _) in _KINDS.items() if isinstance(spec, spec_type))
        return self._specs[kind].get(spec.name) is spec

    def plugin_of(self, kind: str, name: str) -> str:
        return self._owner[kind][name]

    def model_spec_for(self, model) -> ModelSpec | None:
        """The spec of a model built by zoo (it carries ``zoo_name``), else None."""
        name = getattr(model, "zoo_name", None)
        return self._specs["model"].get(name) if name else None

    def models(self) -> list[ModelSpec]:
        return [self._specs["model"][name] for name in sorted(self._specs["model"])]

    def datasets(self) -> list[DatasetSpec]:
        return [self._specs["dataset"][name] for name in sorted(self._specs["dataset"])]

    def explainers(self) -> list[ExplainerSpec]:
        return [self._specs["explainer"][name] for name in sorted(self._specs["explainer"])]

    def list_models(
        self,
        pattern: str | None = None,
        *,
        domain: str | None = None,
        task: str | None = None,
        pretrained: bool = False,
        plugin: str | None = None,
    ) -> list[str]:
        """Names matching every given filter; with ``pretrained=True``, one ``name.tag`` per weights."""
        names = []
        for spec in self.models():
            if domain is not None and spec.domain != domain:
                continue
            if task is not None and spec.task != task:
                continue
            if plugin is not None and self._owner["model"][spec.name] != plugin:
                continue
            candidates = [f"{spec.name}.{w.tag}" for w in spec.weights] if pretrained else [spec.name]
            names.extend(c for c in candidates if pattern is None or fnmatch.fnmatch(c, pattern)
                         or fnmatch.fnmatch(c.split(".")[0], pattern))
        return names


_lock = threading.Lock()
_registry: Registry | None = None
_runtime_plugins: list[tuple[str, object]] = []


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = Registry(_runtime_plugins)
        return _registry


def register_plugin(plugin: object, name: str | None = None) -> str:
    """Register a plugin (a module or object holding ``@zoo.hookimpl`` functions) at run time.

    Useful in notebooks and tests. Returns the name under which it was registered.
    """
    global _registry
    name = name or getattr(plugin, "__name__", None) or f"runtime-{id(plugin)}"
    with _lock:
        if any(existing == name for existing, _ in _runtime_plugins):
            raise NameClashError(f"a run-time plugin named {name!r} is already registered")
        _runtime_plugins.append((name, plugin))
        _registry = None
    return name


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with :func:`register_plugin`."""
    global _registry
    with _lock:
        kept = [(n, p) for n, p in _runtime_plugins if n != name]
        if len(kept) == len(_runtime_plugins):
            raise UnknownNameError("run-time plugin", name, [n for n, _ in _runtime_plugins])
        _runtime_plugins[:] = kept
        _registry = None


def reset_registry() -> None:
    """Forget the registry so that the next use rediscovers the plugins (e.g. after pip install)."""
    global _registry
    with _lock:
        _registry = None
