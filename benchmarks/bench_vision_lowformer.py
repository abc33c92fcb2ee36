"""LowFormer: the released fused (``fastit``) networks against the authors' unfused ones, one run.

    cd benchmarks && python bench_vision_lowformer.py [--variants b0 b1 ...] [--batch B] [--size S]
                                                      [--repeat R] [--threads N] [--clock cpu|wall]

For each size, the fused and the unfused network (random weights, eval mode) run the same batch
``[B, 3, S, S]`` under ``torch.inference_mode``; best of ``--repeat``, the two interleaved so that
machine noise hits both alike. ``--clock cpu`` (default) times the CPU time of this process rather
than the wall clock: on a shared machine other jobs stretch the wall clock by several times, not the
work done (run it with ``--threads 1``, its default, so that the CPU time is the run time an idle core
would see); ``--clock wall`` for an idle machine. Printed: parameters, MACs per image (torch's FLOP
counter), milliseconds per batch, unfused / fused (the fused form's speed-up) and MACs per second.
Then the lower-resolution attention alone at stage 3 (stride 2) of each size: the fused attention
(one dense transposed conv) against the unfused one (1x1 projection + depthwise transposed conv)
whose projection :func:`fold_output_projection` folded into it - the same function.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from zoo_vision.models.lowformer import ConvAttention, build_lowformer, fold_output_projection
from zoo_vision.models.lowformer_specs import DISPLAY, VARIANTS


def _runner(module: torch.nn.Module, inputs: torch.Tensor):
    def call():
        with torch.inference_mode():
            module(inputs)
    return call


def _macs(variant: str, fused: bool, size: int) -> float:
    """Multiply-accumulates of one image (torch's FLOP counter on the meta device, FLOPs / 2)."""
    with torch.device("meta"):
        model = build_lowformer(variant, fused=fused).eval()
        x = torch.randn(1, 3, size, size)
    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() / 2


def _interleaved(fns: dict, repeat: int, clock) -> dict:
    for fn in fns.values():
        fn()  # warm-up
    best = {name: float("inf") for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = clock()
            fn()
            best[name] = min(best[name], clock() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size)
    print(f"LowFormer fused vs unfused, batch {args.batch} x 3 x {args.size}^2, {args.threads} threads, "
          f"torch {torch.__version__}, best of {args.repeat}, {args.clock} time")
    print(f"  {'model':<16}{'params fused':>14}{'unfused':>12}{'GMACs fused':>13}{'unfused':>9}{'fused ms':>10}"
          f"{'unfused ms':>12}{'speed-up':>10}{'GMAC/s fused':>14}{'unfused':>9}")
    for variant in args.variants:
        models = {fused: build_lowformer(variant, fused=fused).eval() for fused in (True, False)}
        counts = {fused: sum(p.numel() for p in m.parameters()) for fused, m in models.items()}
        times = _interleaved({fused: _runner(m, x) for fused, m in models.items()}, args.repeat, clock)
        macs = {fused: _macs(variant, fused, args.size) for fused in (True, False)}
        rate = {fused: macs[fused] * args.batch / times[fused] / 1e9 for fused in (True, False)}
        print(f"  {'LowFormer-' + DISPLAY[variant]:<16}{counts[True]:>14,}{counts[False]:>12,}"
              f"{macs[True] / 1e9:>13.3f}{macs[False] / 1e9:>9.3f}{times[True] * 1000:>10.1f}"
              f"{times[False] * 1000:>12.1f}{times[False] / times[True]:>9.2f}x{rate[True]:>14.1f}{rate[False]:>9.1f}")
    print("  stage-3 attention alone (its input: C x S/16 x S/16), folded = the same function:")
    for variant in args.variants:
        dim = VARIANTS[variant]["widths"][3]
        unfused = ConvAttention(dim, 2, fused=False).eval()
        with torch.no_grad():
            unfused.o_proj.bias.zero_()
        fused = fold_output_projection(unfused)
        z = torch.randn(args.batch, dim, args.size // 16, args.size // 16)
        times = _interleaved({"fused": _runner(fused, z), "unfused": _runner(unfused, z)}, args.repeat, clock)
        with torch.inference_mode():
            gap = (fused(z) - unfused(z)).abs().max().item()
        print(f"  {'LowFormer-' + DISPLAY[variant]:<16} C={dim:<4} fused {times['fused'] * 1000:7.2f} ms, unfused "
              f"{times['unfused'] * 1000:7.2f} ms, speed-up {times['unfused'] / times['fused']:.2f}x, "
              f"max |difference| {gap:.1e}")


if __name__ == "__main__":
    main()
