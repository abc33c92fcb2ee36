"""Lipreading back-ends at LRW size, side by side in one run: TD3Net-Base/-Best vs MS-TCN vs DC-TCN.

    .venv/bin/python benchmarks/bench_lipreading_backends.py [--batch 8] [--frames 29] [--repeat 5] [--threads N]

For each back-end (the temporal network on the front-end's ``[B, 512, T]`` features, classifier
excluded, as TD3Net's paper counts it): parameters, multiply-accumulates counted by hooks on every
conv and linear layer at B=1 (FLOPs = 2 x MACs, the convention of TD3Net's README, which doubles
fvcore's count), and the forward time in eval mode at ``--batch`` x ``--frames`` (best of ``--repeat``).
TD3Net's README gives 1.56 / 1.92 GFLOPs for Base / Best at T=29.
"""

from __future__ import annotations

import argparse

import torch
from _timing import best_time
from torch import nn

import zoo

MODELS = ("td3net-base", "td3net-best", "ms-tcn", "dc-tcn")
README_GFLOPS = {"td3net-base": 1.56, "td3net-best": 1.92}


def count_macs(module: nn.Module, x: torch.Tensor) -> int:
    total = 0

    def hook(layer, inputs, output):
        nonlocal total
        if isinstance(layer, nn.Conv1d):
            total += output.numel() * layer.in_channels // layer.groups * layer.kernel_size[0]
        elif isinstance(layer, nn.Linear):
            total += output.numel() * layer.in_features

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv1d, nn.Linear))]
    with torch.no_grad():
        module(x)
    for handle in handles:
        handle.remove()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=29)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} thread(s); back-end input [{args.batch}, 512, {args.frames}]")
    print(f"{'model':12s} {'params':>12s} {'GFLOPs (B=1)':>13s} {'README':>7s} {'ms / batch':>11s} "
          f"{'vs td3net-base':>15s}")
    rows = []
    for name in MODELS:
        backend = zoo.build(name).backend.eval()
        params = sum(p.numel() for p in backend.parameters())
        gflops = 2 * count_macs(backend, torch.randn(1, 512, args.frames)) / 1e9
        x = torch.randn(args.batch, 512, args.frames)
        with torch.no_grad():
            seconds = best_time(lambda backend=backend, x=x: backend(x), args.repeat)
        rows.append((name, params, gflops, seconds))
    base = rows[0][3]
    for name, params, gflops, seconds in rows:
        readme = f"{README_GFLOPS[name]:.2f}" if name in README_GFLOPS else "-"
        print(f"{name:12s} {params:12,d} {gflops:13.2f} {readme:>7s} {seconds * 1e3:11.1f} {seconds / base:14.2f}x")


if __name__ == "__main__":
    main()
