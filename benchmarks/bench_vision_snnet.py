"""SN-Net (DeiT-Ti/S/B) throughput across its configurations beside the three DeiT anchors, one run.

    .venv/bin/python benchmarks/bench_vision_snnet.py [--batch B] [--size S] [--repeat R] [--threads N] [--every K]

The three anchors are timed as stand-alone ``deit-*`` models and as SN-Net configurations 0-2 (same
weights), so the first ratio is the cost of running an anchor through the stitchable network (1.00x
expected). Then every K-th stitched configuration (and the costliest) runs at its fvcore FLOPs; its
time is compared with the time its FLOPs predict by interpolating linearly between the two neighbouring
anchors' (time / predicted > 1: slower than its FLOPs say). ``select()`` is timed too: switching
configuration is a Python attribute change. Random weights, ``torch.no_grad``, best of ``--repeat``
rounds, interleaved.
"""

from __future__ import annotations

import argparse
import time

import torch
from _timing import best_time

import zoo
from zoo_vision.models import snnet_specs


def interleaved(fns: dict, x: torch.Tensor, repeat: int) -> dict:
    """Best time of each function on ``x`` over ``repeat`` rounds that run every function once (so that
    a busy spell of the machine hits all alike), after one warm-up round."""
    best = {key: float("inf") for key in fns}
    for round_ in range(repeat + 1):
        for key, fn in fns.items():
            start = time.perf_counter()
            with torch.no_grad():
                fn(x)
            if round_:
                best[key] = min(best[key], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--every", type=int, default=8, help="time every K-th stitched configuration")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = zoo.build("snnet-deit", img_size=args.size).eval()
    x = torch.randn(args.batch, 3, args.size, args.size)

    stitched = [c.id for c in model.stitch_configs if c.stitches]
    costliest = max(stitched, key=lambda i: model.flops(i, args.size))
    chosen = sorted(set(stitched[::args.every]) | {costliest}, key=lambda i: model.flops(i, args.size))
    fns = {("alone", i): model.anchors[i] for i in range(len(snnet_specs.ANCHORS))}
    fns.update({("config", i): (lambda images, i=i: model.forward_config(images, i))
                for i in [*range(len(snnet_specs.ANCHORS)), *chosen]})
    times = interleaved(fns, x, args.repeat)

    print(f"snnet-deit, batch {args.batch} x 3 x {args.size}^2, {args.threads} threads, torch {torch.__version__}, "
          f"best of {args.repeat} interleaved rounds")
    print(f"  {'anchor':<11}{'GFLOPs':>8}{'deit-* ms':>11}{'in SN-Net ms':>14}{'ratio':>8}")
    anchors = {}
    for i, variant in enumerate(snnet_specs.ANCHORS):
        t_alone, t_stitchable = times[("alone", i)], times[("config", i)]
        anchors[i] = (model.flops(i, args.size), t_stitchable)
        print(f"  deit-{variant:<6}{anchors[i][0] / 1e9:8.2f}{t_alone * 1e3:11.1f}{t_stitchable * 1e3:14.1f}"
              f"{t_stitchable / t_alone:8.2f}x")

    results = snnet_specs.RESULTS
    print(f"  {'config':<8}{'path':<18}{'GFLOPs':>8}{'top1*':>7}{'ms':>9}{'img/s':>8}{'predicted ms':>14}{'ratio':>8}")
    for config_id in chosen:
        config = model.stitch_configs[config_id]
        flops = model.flops(config_id, args.size)
        seconds = times[("config", config_id)]
        (f0, t0), (f1, t1) = anchors[config.anchors[0]], anchors[config.anchors[-1]]
        predicted = t0 + (t1 - t0) * (flops - f0) / (f1 - f0)
        names = "-".join(snnet_specs.ANCHORS[a][0].upper() for a in config.anchors)
        path = f"{names} {config.stitches[0][0]}->{config.stitches[0][1]}"
        print(f"  {config_id:<8}{path:<18}{flops / 1e9:8.2f}{results[config_id][2]:7.2f}{seconds * 1e3:9.1f}"
              f"{args.batch / seconds:8.1f}{predicted * 1e3:14.1f}{seconds / predicted:8.2f}x")
    switch = best_time(lambda: model.select(flops=5e9), 100)
    print(f"  select(flops=5e9) -> config {model.config_id}: {switch * 1e6:.1f} us")
    print("  * top1: the authors' ImageNet table for their trained weights (224 x 224); times use random weights")


if __name__ == "__main__":
    main()
