"""Plugin discovery and isolation.

Plugins are found through the ``zoo.plugins`` entry-point group (or registered at run time with
:func:`zoo.register_plugin`). Each is loaded on its own: one that fails to import, or whose hook
raises or returns a malformed spec, is recorded with its error and skipped, and every other plugin
keeps working. Environment variables choose plugins:

- ``ZOO_LOAD_PLUGINS=a,b`` loads only the named plugins (an allow-list; ``none`` loads no
  installed plugin); a name no installed plugin has is warned about (:class:`PluginWarning`);
- ``ZOO_DISABLE_PLUGINS=a,b`` skips the named plugins (a block-list);
- ``ZOO_STRICT_PLUGINS=1`` turns a broken plugin into a :class:`zoo.errors.PluginError`
  (for the CI of plugin authors);
- ``ZOO_TRACE_HOOKS=1`` prints every hook call to stderr: which plugin's hook ran and what it
  returned or raised (pluggy's ``add_hookcall_monitoring``, which sees every call because the
  registry calls hooks through pluggy's hook caller).
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from importlib import import_module, metadata

import pluggy

from zoo import hookspecs
from zoo.errors import PluginError, suggest

ENTRY_POINT_GROUP = "zoo.plugins"
# The core's own features are written as plugins too, and are always loaded.
BUILTIN_PLUGINS = {"explainers": "zoo.explainers.plugin"}


class PluginWarning(UserWarning):
    """A plugin-selection problem that does not stop zoo (an unknown name in ZOO_LOAD_PLUGINS)."""


@dataclass
class PluginInfo:
    """What ``zoo plugins`` reports about one plugin."""

    name: str
    module: str
    distribution: str = ""
    version: str = ""
    status: str = "ok"  # ok | failed | disabled
    error: str = ""
    models: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    explainers: list[str] = field(default_factory=list)

    def fail(self, error: str) -> None:
        self.status = "failed"
        self.error = f"{self.error}; {error}" if self.error else error

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _names(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def strict_mode() -> bool:
    return os.environ.get("ZOO_STRICT_PLUGINS", "").lower() in {"1", "true", "yes", "on"}


def _describe(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def report_failure(info: PluginInfo, error: BaseException | str) -> None:
    """Record a plugin failure; re-raise it in strict mode."""
    message = error if isinstance(error, str) else _describe(error)
    info.fail(message)
    if strict_mode():
        raise PluginError(f"plugin {info.name!r} ({info.module}) is broken: {message}") from (
            None if isinstance(error, str) else error
        )


def _trace_before(hook_name: str, hook_impls, kwargs) -> None:
    print(f"zoo: hook {hook_name} of {', '.join(impl.plugin_name for impl in hook_impls)}", file=sys.stderr)


def _trace_after(outcome, hook_name: str, hook_impls, kwargs) -> None:
    if outcome.exception is not None:
        print(f"zoo:   raised {type(outcome.exception).__name__}: {outcome.exception}", file=sys.stderr)
        return
    names = [getattr(spec, "name", repr(spec)) for result in outcome.get_result() or () for spec in result or ()]
    print(f"zoo:   returned {len(names)}: {', '.join(names)}", file=sys.stderr)


def make_plugin_manager(extra: list[tuple[str, object]] = ()) -> tuple[pluggy.PluginManager, dict[str, PluginInfo]]:
    """Build a plugin manager with every selected plugin that loads; report the rest."""
    manager = pluggy.PluginManager("zoo")
    manager.add_hookspecs(hookspecs)
    if os.environ.get("ZOO_TRACE_HOOKS", "").lower() in {"1", "true", "yes", "on"}:
        manager.add_hookcall_monitoring(_trace_before, _trace_after)
    infos: dict[str, PluginInfo] = {}
    allowed, blocked = _names("ZOO_LOAD_PLUGINS"), _names("ZOO_DISABLE_PLUGINS") or set()

    for name, module_name in BUILTIN_PLUGINS.items():
        info = infos[name] = PluginInfo(name, module_name, "zoo-core", _version("zoo-core"))
        try:
            manager.register(import_module(module_name), name=name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):  # not part of this build of the core
                del infos[name]
            else:
                report_failure(info, error)
        except Exception as error:  # noqa: BLE001 - isolation is the point
            report_failure(info, error)

    for entry_point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        distribution = entry_point.dist.name if entry_point.dist else ""
        version = entry_point.dist.version if entry_point.dist else ""
        info = PluginInfo(entry_point.name, entry_point.value, distribution, version)
        if entry_point.name in infos:
            info.name = f"{entry_point.name}({distribution})"
            infos[info.name] = info
            used_by = infos[entry_point.name].module
            report_failure(info, f"plugin name {entry_point.name!r} is already used by {used_by}")
            continue
        infos[info.name] = info
        if (allowed is not None and entry_point.name not in allowed) or entry_point.name in blocked:
            info.status = "disabled"
            continue
        try:
            manager.register(entry_point.load(), name=entry_point.name)
        except Exception as error:  # noqa: BLE001 - a broken plugin must not break the others
            report_failure(info, error)

    _warn_unknown(allowed, infos, extra)
    for name, plugin in extra:
        info = infos[name] = PluginInfo(name, getattr(plugin, "__name__", repr(plugin)), "(run time)")
        try:
            manager.register(plugin, name=name)
        except Exception as error:  # noqa: BLE001
            report_failure(info, error)
    return manager, infos


def _warn_unknown(allowed: set[str] | None, infos: dict[str, PluginInfo], extra) -> None:
    known = set(infos) | {name for name, _ in extra}
    for name in sorted((allowed or set()) - known - {"none"}):
        close = suggest(name, known)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        warnings.warn(PluginWarning(
            f"ZOO_LOAD_PLUGINS names {name!r}, which no installed plugin provides{hint} "
            f"(installed: {', '.join(sorted(known)) or 'none'})"), stacklevel=2)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""
