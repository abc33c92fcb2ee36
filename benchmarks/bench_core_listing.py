"""Cold listing time: `import zoo; zoo.list_models()` and `zoo list` vs `import timm; timm.list_models()`.

Each measurement is a fresh Python process (interpreter start included), run interleaved, so the
three are measured side by side under the same machine load. Target: zoo ≤ 0.5 s and ≥ 20x faster
than timm, with no torch import.

timm imports torchvision, and PyPI's torchvision does not import beside the CPU torch 2.13 used
here, so timm runs with an empty stand-in for torchvision. That removes torchvision's own import
cost from timm's time: the ratio printed is a lower bound of the real one.

    python benchmarks/bench_core_listing.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ZOO = "import sys, zoo; n = len(zoo.list_models()); assert 'torch' not in sys.modules; print(n)"
TORCHVISION_STANDIN = '''
import importlib.abc, importlib.machinery, sys, types
class _Meta(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Meta(name, (), {"__init__": lambda self, *a, **k: None})
class _Any(types.ModuleType):
    __path__ = []
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Meta(name, (), {"__init__": lambda self, *a, **k: None})
class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == "torchvision" or name.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec):
        module = _Any(spec.name); module.__version__ = "0.0"; return module
    def exec_module(self, module):
        pass
sys.meta_path.insert(0, _Finder())
'''
TIMM = TORCHVISION_STANDIN + "import timm; print(len(timm.list_models()))"


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{result.stderr}")
    return elapsed, result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    zoo_cli = str(Path(sys.executable).with_name("zoo"))
    commands = {
        "import zoo; zoo.list_models()": [sys.executable, "-c", ZOO],
        "zoo list (CLI)": [zoo_cli, "list"],
        "import timm; timm.list_models()": [sys.executable, "-c", TIMM],
    }
    times: dict[str, list[float]] = {label: [] for label in commands}
    outputs: dict[str, str] = {}
    for label, command in commands.items():  # warm the page cache once
        outputs[label] = timed(command)[1]
    for _ in range(args.runs):
        for label, command in commands.items():
            times[label].append(timed(command)[0])
    print(f"{'command':36s} {'median s':>9s} {'min s':>7s}  listed")
    for label in commands:
        print(f"{label:36s} {statistics.median(times[label]):9.3f} {min(times[label]):7.3f}  {outputs[label][:40]}")
    zoo_median = statistics.median(times["import zoo; zoo.list_models()"])
    cli_median = statistics.median(times["zoo list (CLI)"])
    timm_median = statistics.median(times["import timm; timm.list_models()"])
    print(f"timm / zoo.list_models: {timm_median / zoo_median:.1f}x   timm / zoo list: {timm_median / cli_median:.1f}x")
    print(f"targets: zoo <= 0.5 s: {'met' if max(zoo_median, cli_median) <= 0.5 else 'MISSED'}; "
          f">= 20x timm: {'met' if timm_median / max(zoo_median, cli_median) >= 20 else 'MISSED'}")


if __name__ == "__main__":
    main()
