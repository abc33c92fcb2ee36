"""The ``zoo`` command: list, info, download, publish, plugins, doctor (and what plugins add).

``zoo list`` and ``zoo info`` read specs only and never import torch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

from zoo.errors import ZooError


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda row: "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _human(count: int) -> str:
    if count < 1000:
        return str(count)
    return f"{count / 1e6:.2f}M" if count >= 1e5 else f"{count / 1e3:.1f}K"


def _row_params(spec, name: str) -> int:
    """The parameter count of what ``name`` (``model`` or ``model.tag``) loads."""
    from zoo.api import weights_num_params

    tag = name.partition(".")[2]
    return weights_num_params(spec, spec.get_weights(tag)) if tag else spec.num_params


def cmd_list(args: argparse.Namespace) -> int:
    from zoo.api import list_models
    from zoo.registry import get_registry

    names = list_models(args.pattern, domain=args.domain, task=args.task, pretrained=args.pretrained)
    registry = get_registry()
    if args.json:
        rows = []
        for name in names:
            spec = registry.model(name.split(".")[0])
            rows.append({"name": name, "domain": spec.domain, "task": spec.task, "num_params": _row_params(spec, name),
                         "plugin": registry.plugin_of("model", spec.name), "weights": [w.tag for w in spec.weights]})
        print(json.dumps(rows, indent=2))
        return _broken_plugins_hint()
    rows = []
    for name in names:
        spec = registry.model(name.split(".")[0])
        tags = ",".join(w.tag for w in spec.weights) or "-"
        rows.append([name, spec.domain, spec.task, _human(_row_params(spec, name)), tags])
    print(_table(rows, ["name", "domain", "task", "params", "weights"]) if rows else "no models match")
    return _broken_plugins_hint()


def _broken_plugins_hint() -> int:
    """A listing that misses a broken plugin's models says so on stderr and exits 1."""
    from zoo.api import plugin_report

    failed = [p["name"] for p in plugin_report() if p["status"] == "failed"]
    if failed:
        print(f"zoo: warning: {len(failed)} plugin(s) failed to load ({', '.join(failed)}), so their models are "
              "missing here; `zoo plugins` shows why", file=sys.stderr)
    return 1 if failed else 0


def cmd_info(args: argparse.Namespace) -> int:
    from zoo.api import info

    details = info(args.name)
    if args.json:
        print(json.dumps(details, indent=2))
        return 0
    print(f"{details['name']}  ({details['plugin']}; {details['domain']} / {details['task']})")
    paper = details["paper"]
    print(f"paper: {paper['title']}" + (f" (arXiv:{paper['arxiv']})" if paper["arxiv"] else ""))
    if details["description"]:
        print(details["description"])
    print(f"params: {details['num_params']:,} (default config)")
    print(f"config: {json.dumps(details['default_config'])}")
    print(f"input: {details['input_shape'] or '-'}")
    print(f"license: {details['license'] or '-'}")
    print(f"explain layer: {details['explain_layer'] or '-'}")
    for weights in details["weights"]:
        mark = " (default)" if weights["tag"] == details["default_weights"] else ""
        changes = f" config={json.dumps(weights['config'])}" if weights["config"] else ""
        print(f"weights {details['name']}.{weights['tag']}{mark}: {weights['repo_id']}@{weights['revision'][:12]} "
              f"params={weights['num_params']:,}{changes} dataset={weights['dataset'] or '-'} "
              f"license={weights['license'] or '-'} metrics={weights['metrics']}")
    if not details["weights"]:
        print("weights: none (random init only)")
    from zoo.training.cli import print_recipes

    print_recipes(details["recipes"], details["no_recipe"])
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from zoo.api import download

    print(download(args.name, verify=args.verify, progress=True))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from zoo.api import publish

    print(publish(args.folder, args.repo, revision=args.revision, private=args.private or None))
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from zoo.api import plugin_report

    report = plugin_report()
    status = 1 if any(p["status"] == "failed" for p in report) else 0
    if args.json:
        print(json.dumps(report, indent=2))
        return status
    rows = [[p["name"], p["distribution"] or "-", p["version"] or "-", p["status"], str(len(p["models"])),
             str(len(p["datasets"])), str(len(p["explainers"]))] for p in report]
    print(_table(rows, ["plugin", "distribution", "version", "status", "models", "datasets", "explainers"]))
    for plugin in report:
        if plugin["error"]:
            print(f"\n{plugin['name']}: {plugin['error']}")
    return status


def cmd_doctor(args: argparse.Namespace) -> int:
    import platform
    import time

    from zoo import __version__, hashing, hub
    from zoo.api import plugin_report

    problems = 0
    print(f"zoo-core {__version__} · Python {platform.python_version()} · {platform.platform()}")
    try:
        import torch

        print(f"torch {torch.__version__} (cuda available: {torch.cuda.is_available()})")
    except ImportError as error:
        problems += 1
        print(f"torch: NOT importable ({error})")
    for name in ("pluggy", "huggingface_hub", "safetensors"):
        try:
            module = __import__(name)
            print(f"{name} {getattr(module, '__version__', '?')}")
        except ImportError as error:
            problems += 1
            print(f"{name}: NOT importable ({error})")
    cache = hub.hub_cache_dir() or os.path.expanduser("~/.cache/huggingface/hub")
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(cache) for f in fs
               if not os.path.islink(os.path.join(d, f))) if os.path.isdir(cache) else 0
    print(f"Hub cache: {cache} ({size / 1e6:.1f} MB)   zoo cache: {hashing.zoo_cache_dir()}")
    target = hub.endpoint() or "https://huggingface.co"
    if hub.offline():
        print(f"Hub endpoint: {target} (HF_HUB_OFFLINE is set: not contacted)")
    else:
        started = time.perf_counter()
        verdict, ok = _probe_hub(target)
        print(f"Hub endpoint: {target} {verdict} ({(time.perf_counter() - started) * 1e3:.0f} ms)")
        problems += not ok
    for plugin in plugin_report():
        state = "ok" if plugin["status"] == "ok" else plugin["status"].upper()
        print(f"plugin {plugin['name']} {plugin['version'] or ''}: {state}"
              + (f" — {plugin['error']}" if plugin["error"] else ""))
        problems += plugin["status"] == "failed"
    print("no problems found" if not problems else f"{problems} problem(s) found")
    return 1 if problems else 0


def _probe_hub(target: str) -> tuple[str, bool]:
    """Ask the Hub for what a download asks first: the metadata (HEAD) of a pinned weights file.

    Any HTTP answer means the endpoint is reachable; a pinned file it does not serve is a problem
    too. Without registered weights, the model listing stands in (an answer of any status counts).
    """
    import urllib.error
    import urllib.request

    from zoo.registry import get_registry

    pinned = next((w for spec in get_registry().models() for w in spec.weights), None)
    url = (f"{target}/{pinned.repo_id}/resolve/{pinned.revision}/{pinned.filename}" if pinned
           else f"{target}/api/models?limit=1")
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=3)
    except urllib.error.HTTPError as error:
        if pinned is None:
            return f"reachable (answered HTTP {error.code})", True
        return (f"reachable, but it does not serve {pinned.repo_id}@{pinned.revision[:12]}/{pinned.filename} "
                f"(HTTP {error.code})"), False
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"NOT reachable ({reason}); set HF_HUB_OFFLINE=1 to work from the cache", False
    return "reachable" + (f", serves {pinned.repo_id}@{pinned.revision[:12]}" if pinned else ""), True


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="A model zoo with plugins.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list models")
    p.add_argument("pattern", nargs="?", help="shell-style pattern, e.g. '*unet*'")
    p.add_argument("--domain")
    p.add_argument("--task")
    p.add_argument("--pretrained", action="store_true", help="only models with weights, as name.tag")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="paper, task, config, params, weights of a model")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("download", help="fetch a model's weights into the cache")
    p.add_argument("name", help="NAME or NAME.TAG")
    p.add_argument("--verify", action="store_true", help="re-hash the cached file even if it was verified before")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("publish", help="push a folder written by zoo.save to the Hub")
    p.add_argument("folder")
    p.add_argument("--repo", required=True, help="ORG/NAME")
    p.add_argument("--revision", help="branch to commit to")
    p.add_argument("--private", action="store_true")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("plugins", help="installed plugins, versions, what each registers, failures")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("doctor", help="environment, cache, Hub endpoint and plugin health")
    p.set_defaults(func=cmd_doctor)

    from zoo.training.cli import add_train_command

    add_train_command(sub)

    p = sub.add_parser("plugin", help="tools for plugin authors")
    plugin_commands = p.add_subparsers(dest="plugin_command", metavar="PLUGIN_COMMAND", required=True)
    p = plugin_commands.add_parser("new", help="write a new plugin in the layout of the plugin-author guide")
    p.add_argument("name", help="the plugin's name, kebab-case: 'acme' gives zoo-acme / zoo_acme")
    p.add_argument("--dir", default=".", help="where to create the zoo-NAME folder (default: here)")
    p.set_defaults(func=cmd_plugin_new)
    return parser


def cmd_plugin_new(args: argparse.Namespace) -> int:
    from zoo.scaffold import new_plugin

    folder = new_plugin(args.name, args.dir)
    print(f"wrote {folder}: install it with `pip install -e \"{folder}[test]\"`, then run `pytest {folder}`")
    return 0


def _add_plugin_commands(parser: argparse.ArgumentParser) -> None:
    from zoo.plugins import report_failure
    from zoo.registry import get_registry

    registry = get_registry()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for impl in registry.manager.hook.zoo_cli.get_hookimpls():
        try:
            impl.function(subparsers=subparsers)
        except Exception as error:  # noqa: BLE001 - a broken plugin command must not break `zoo`
            report_failure(registry.plugins[impl.plugin_name], error)


def _show_warning(message, category, filename, lineno, file=None, line=None, *, _default=warnings.showwarning):
    from zoo.plugins import PluginWarning

    if issubclass(category, PluginWarning):  # zoo's own: one line, no source location
        print(f"zoo: warning: {message}", file=sys.stderr)
    else:
        _default(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = make_parser()
    warnings.showwarning = _show_warning
    try:
        # Plugin commands are only looked up when the command is not one of ours, so that
        # `zoo list` stays as light as the registry itself.
        if argv and not argv[0].startswith("-") and argv[0] not in {"list", "info", "download", "publish",
                                                                     "plugins", "doctor", "plugin", "train"}:
            _add_plugin_commands(parser)
        elif not argv or argv[0] in {"-h", "--help"}:
            _add_plugin_commands(parser)
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        return int(args.func(args) or 0)
    except ZooError as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
