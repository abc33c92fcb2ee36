"""LinearScope vs a plain forward on the same model and batch, one run.

    .venv/bin/python benchmarks/bench_vision_linearscope.py [--models M ...] [--batch B] [--size S]
                                                            [--repeat R] [--threads N]

For each model (default ``eca-resnet-50``, ``vanillanet-5``, ``inception-v4``; random weights, eval
mode), on one batch ``[B, 3, S, S]`` (Inception-v4 at 299 unless ``--size`` is given):

- ``forward``: ``model(x)`` under ``torch.no_grad``;
- ``linearscope``: the doubled batch ``[x, z]`` through the same model with every non-linear unit
  linearised at ``x`` (``linearscope_forward``), under ``torch.no_grad`` — the LinearScope pass itself;
- ``linear_interpreter``: that pass with ``z = 0`` plus one backward to ``z`` (``b(x)`` and the
  target rows of ``A(x)``), what ``zoo.explain(..., method="linearscope")`` runs.

Best of ``--repeat``, interleaved, after one warm-up. The ratio is against ``forward``; the
target is LinearScope ≤ 2.5x (the batch is doubled). The exactness gap (second half at z = x against
the first) is printed as a check.
"""

from __future__ import annotations

import argparse
import time

import torch

import zoo
from zoo_vision.explainers.linearscope import linear_interpreter, linearscope_forward

DEFAULT_SIZES = {"inception-v4": 299}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["eca-resnet-50", "vanillanet-5", "inception-v4"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"batch {args.batch}, {args.threads} threads, torch {torch.__version__}, best of {args.repeat}")
    for name in args.models:
        torch.manual_seed(0)
        model = zoo.build(name).eval()
        size = args.size or DEFAULT_SIZES.get(name, 224)
        x = torch.randn(args.batch, 3, size, size)

        def forward(model=model, x=x):
            with torch.no_grad():
                model(x)

        def scope(model=model, x=x):
            with torch.no_grad():
                linearscope_forward(model, x, x)

        def interpreter(model=model, x=x):
            linear_interpreter(model, x)

        runs = {"forward": forward, "linearscope": scope, "linear_interpreter": interpreter}
        for fn in runs.values():
            fn()
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(args.repeat):
            for key, fn in runs.items():
                best[key] = min(best[key], _timed(fn))
        with torch.no_grad():
            first, second = linearscope_forward(model, x, x)
        gap = ((second - first).abs().max() / first.abs().max()).item()
        print(f"{name}, [{args.batch}, 3, {size}, {size}]:")
        for key, seconds in best.items():
            print(f"  {key:<20} {seconds * 1000:9.1f} ms   {seconds / best['forward']:5.2f}x forward")
        print(f"  exactness: max |second(z = x) - first| / max |first| = {gap:.1e}")


if __name__ == "__main__":
    main()
