"""Sliding-window inference of scse-unet-3d vs MONAI's plain UNet of the same channels, on the CPU.

    .venv/bin/python benchmarks/bench_medical_sliding_window.py [--size 128] [--roi 64] [--repeats 5] [--threads 1]

One 1x1xSxSxS volume, MONAI's ``sliding_window_inference`` (ROI ``--roi``^3, overlap 0.25,
Gaussian blending), both networks with channels (16, 32, 64, 128, 256), strides 2, 2 residual
units, instance norm. Latency: median of ``--repeats`` runs after one warm-up, the two models
interleaved so that load on the machine hits both alike. Peak memory: each model in a fresh
subprocess, peak RSS during inference minus RSS before it. Target: scSE costs <= 10% in time.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def build(kind: str):
    from zoo_medical.models.scse_unet import build_scse_unet

    return build_scse_unet(spatial_dims=3, se="scse" if kind == "scse" else "none").eval()


def infer(model, volume, roi: int, sw_batch: int):
    import torch
    from monai.inferers import sliding_window_inference

    with torch.inference_mode():
        return sliding_window_inference(volume, (roi,) * 3, sw_batch, model, overlap=0.25, mode="gaussian")


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() // 1024


def memory_child(kind: str, size: int, roi: int, sw_batch: int, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, volume = build(kind), torch.randn(1, 1, size, size, size)
    infer(model, volume[..., :roi, :roi, :roi], roi, sw_batch)  # allocator and kernel warm-up
    before = rss_kib()
    infer(model, volume, roi, sw_batch)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_mib": (peak - before) / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--roi", type=int, default=64)
    parser.add_argument("--sw-batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory-child", choices=["scse", "plain"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child, args.size, args.roi, args.sw_batch, args.threads)

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = {kind: build(kind) for kind in ("plain", "scse")}
    volume = torch.randn(1, 1, args.size, args.size, args.size)
    params = {kind: sum(p.numel() for p in m.parameters()) for kind, m in models.items()}
    times: dict[str, list[float]] = {kind: [] for kind in models}
    for model in models.values():
        out = infer(model, volume, args.roi, args.sw_batch)  # warm-up
        assert out.shape == (1, 2, args.size, args.size, args.size)
    for _ in range(args.repeats):
        for kind, model in models.items():
            start = time.perf_counter()
            infer(model, volume, args.roi, args.sw_batch)
            times[kind].append(time.perf_counter() - start)
    memory = {}
    for kind in models:
        command = [sys.executable, __file__, "--memory-child", kind, "--size", str(args.size), "--roi", str(args.roi),
                   "--sw-batch", str(args.sw_batch), "--threads", str(args.threads)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        memory[kind] = json.loads(result.stdout.strip().splitlines()[-1])["peak_mib"]

    median = {kind: statistics.median(t) for kind, t in times.items()}
    print(f"sliding-window inference, 1x1x{args.size}^3 volume, ROI {args.roi}^3, overlap 0.25, "
          f"sw_batch {args.sw_batch}, {args.threads} threads, torch {torch.__version__}, {args.repeats} runs")
    print(f"{'model':<28}{'params':>12}{'median s':>10}{'min s':>8}{'max s':>8}{'peak MiB':>10}")
    for kind, label in (("plain", "MONAI UNet (plain)"), ("scse", "scse-unet-3d")):
        print(f"{label:<28}{params[kind]:>12,}{median[kind]:>10.2f}{min(times[kind]):>8.2f}{max(times[kind]):>8.2f}"
              f"{memory[kind]:>10.0f}")
    ratio = median["scse"] / median["plain"]
    extra_params = (params["scse"] / params["plain"] - 1) * 100
    print(f"scSE / plain: time x{ratio:.3f} ({(ratio - 1) * 100:+.1f}%, target <= +10%), "
          f"memory x{memory['scse'] / memory['plain']:.2f}, params +{extra_params:.2f}%")


if __name__ == "__main__":
    main()
