"""PuYun on CPU: one 6-h step and a 40-step cascade rollout per grid, time and memory.

The registered architecture (76.7M parameters, assumed hyper-parameters; see docs/plugins/weather.md)
with random weights, batch 1, float32. Each grid runs in a fresh process so that its peak RSS is its
own. For the rollout, the resident set is sampled after steps 5, 20 and 40: it must not grow with
the number of steps (no autograd graph, only two states kept). The 0.25° step is *estimated* by
fitting time = a + b·(latent cells) to the measured grids and extrapolating, and stated as such.

    python benchmarks/bench_weather_rollout.py [--grids 5.625 2.5 1.5] [--steps 40] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(grid: str, steps: int, threads: int) -> dict:
    import torch

    import zoo
    from zoo_weather import Cascade, forecast
    from zoo_weather.models.puyun import example_input

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    models = {s: zoo.load(f"puyun-{s}", grid=grid).eval() for s in ("short", "medium", "long")}
    for model in models.values():  # leave persistence so that the rollout does real arithmetic on changing states
        torch.nn.init.normal_(model.head.weight, std=1e-4)
    cascade = Cascade(**models)
    x, temb = example_input({"grid": grid})
    with torch.inference_mode():
        models["short"](x, temb)  # warm-up
        times = []
        for _ in range(3):
            start = time.perf_counter()
            models["short"](x, temb)
            times.append(time.perf_counter() - start)
    from datetime import datetime

    rss, start = {}, time.perf_counter()
    for step, _ in enumerate(forecast(cascade, x[0], steps=steps, init_time=datetime(2018, 1, 1, 6)), start=1):
        if step in (5, 20, steps):
            rss[step] = round(rss_mib(), 1)
    rollout = time.perf_counter() - start
    model = models["short"]
    cells = (model.rows + model.pad_north + model.pad_south) * model.cols // (2 * model.patch_size) ** 2
    return {"grid": grid, "rows": model.rows, "cols": model.cols, "latent_cells": cells,
            "step_s": min(times), "rollout_s": rollout, "steps": steps, "rss_mib_after_step": rss,
            "peak_rss_mib": round(peak_rss_mib(), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", nargs="+", default=["5.625", "2.5", "1.5"])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.steps, args.threads)))
        return

    import numpy as np

    print(f"PuYun (76.7M parameters, float32, batch 1) on CPU, {args.threads} threads, {args.steps}-step cascade")
    print(f"{'grid':>6} {'H×W':>9} {'latent':>7} {'1 step (s)':>11} {f'{args.steps} steps (s)':>13} "
          f"{'RSS after 5/20/' + str(args.steps) + ' (MiB)':>26} {'peak RSS (MiB)':>15}", flush=True)
    rows = []
    for grid in args.grids:
        result = subprocess.run([sys.executable, __file__, "--child", grid, "--steps", str(args.steps),
                                 "--threads", str(args.threads)], capture_output=True, text=True, check=True)
        r = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append(r)
        rss = "/".join(f"{v:.0f}" for v in r["rss_mib_after_step"].values())
        print(f"{r['grid']:>6} {r['rows']}×{r['cols']:<4} {r['latent_cells']:>7} {r['step_s']:>11.3f} "
              f"{r['rollout_s']:>13.2f} {rss:>26} {r['peak_rss_mib']:>15.0f}", flush=True)
    if len(rows) >= 2:
        cells = np.array([r["latent_cells"] for r in rows], dtype=float)
        step = np.array([r["step_s"] for r in rows])
        slope, intercept = np.polyfit(cells, step, 1)
        target = (721 + 7) * 1440 // 64  # 0.25°: 728×1440 padded rows, latent 91×180
        print(f"estimated (not measured) 0.25° step on this CPU: {intercept + slope * target:.1f} s "
              f"(linear fit of step time vs latent cells, {target} cells; "
              f"{args.steps} steps ≈ {args.steps * (intercept + slope * target) / 60:.0f} min)")


if __name__ == "__main__":
    main()
