"""zoo-vision vs timm: forward latency, batch 8 at each model's input size, side by side in one run.

    .venv/bin/python benchmarks/bench_vision_timm.py [--models pvt-v2-b0=pvt_v2_b0 ...] [--threads N]
        [--repeat R] [--channels-last]

For each ``zoo name=timm name`` pair, both models are built (timm's with a random init; ours on the
meta device, adopting timm's tensors through the spec's weights converter when it has one), checked
to give the same logits (max abs difference printed), then timed interleaved in eval mode under
``torch.inference_mode`` (best of ``--repeat``). The ratio is zoo / timm: ≤ 1.0x means we are not
slower. Other families join with ``--models NAME=TIMM_NAME`` (their converter maps timm's keys).
timm is installed with ``--no-deps`` and imported with an empty torchvision stand-in.
"""

from __future__ import annotations

import argparse

import torch
from _timing import best_time

from zoo.building import instantiate, merge_config
from zoo.registry import get_registry
from zoo.specs import resolve
from zoo_vision.timm_reference import import_timm
from zoo_vision.transforms import preprocessing_for

DEFAULT_MODELS = ("pvt-v2-b0=pvt_v2_b0", "pvt-v2-b1=pvt_v2_b1", "pvt-v2-b2=pvt_v2_b2", "pvt-v2-b2-li=pvt_v2_b2_li",
                  "convit-ti=convit_tiny", "convit-s=convit_small")


def pair(name: str, timm_name: str, timm):
    spec = get_registry().model(name)
    torch.manual_seed(0)
    reference = timm.create_model(timm_name, pretrained=False).eval()
    state = reference.state_dict()
    converter = spec.default_weights.converter if spec.default_weights else None
    if converter:
        state = resolve(converter)(state)
    ours = instantiate(spec, merge_config(spec), meta=True)
    ours.load_state_dict(state, strict=True, assign=True)
    return ours.eval(), reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="zoo-name=timm-name pairs")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--channels-last", action="store_true", help="both models and inputs in channels_last")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    timm = import_timm()
    print(f"torch {torch.__version__}, timm {timm.__version__}, {torch.get_num_threads()} threads, batch {args.batch}"
          f"{', channels_last' if args.channels_last else ''}")
    print(f"{'model':<16} {'input':>5} {'params':>12} {'max |diff|':>11} {'timm ms':>9} {'zoo ms':>9} {'zoo/timm':>9}")
    for item in args.models:
        name, _, timm_name = item.partition("=")
        ours, reference = pair(name, timm_name, timm)
        size = preprocessing_for(name)["input_size"]
        x = torch.randn(args.batch, 3, size, size)
        if args.channels_last:
            ours = ours.to(memory_format=torch.channels_last)
            reference = reference.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            diff = (ours(x) - reference(x)).abs().max().item()
            # interleaved rounds, so that load changes on a shared machine hit both alike
            t_timm, t_zoo = [], []
            for _ in range(args.repeat):
                t_timm.append(best_time(lambda model=reference, x=x: model(x), 1))
                t_zoo.append(best_time(lambda model=ours, x=x: model(x), 1))
        best_timm, best_zoo = min(t_timm), min(t_zoo)
        params = sum(p.numel() for p in ours.parameters())
        print(f"{name:<16} {size:>5} {params:>12,} {diff:>11.2e} {best_timm * 1e3:>9.1f} {best_zoo * 1e3:>9.1f} "
              f"{best_zoo / best_timm:>8.2f}x", flush=True)


if __name__ == "__main__":
    main()
