"""zoo-vision's CNN families vs timm: forward latency, batch 8 at each model's input size, one run.

    .venv/bin/python benchmarks/bench_vision_cnn_timm.py [--models inception-v4 ...] [--threads N]
        [--repeat R] [--batch B]

For each model timm also has (Inception-v4 and the three ECA-ResNets with pinned weights), timm's
model is built with a random init, our model adopts its tensors through the family's converter,
both are checked to give the same logits (max abs difference printed), then timed in eval mode
under ``torch.inference_mode``, interleaved, best of ``--repeat``, in the default (NCHW) memory
format and in ``channels_last`` (models and inputs). The ratio is zoo / timm for the same format:
<= 1.0x means we are not slower. timm is installed with ``--no-deps`` and imported with the empty
torchvision stand-in of the plugin's tests (plugins/vision/tests/_timm_cnn.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path

import torch
from _timing import best_time

import zoo

# zoo name -> (timm name, input size, converter applied to timm's state dict)
PAIRS = {
    "inception-v4": ("inception_v4", 299, None),
    "eca-resnet-light": ("ecaresnetlight", 224, "zoo_vision.models.eca_resnet:from_timm"),
    "eca-resnet-50t": ("ecaresnet50t", 224, "zoo_vision.models.eca_resnet:from_timm"),
    "eca-resnet-101d-pruned": ("ecaresnet101d_pruned", 224, "zoo_vision.models.eca_resnet:from_timm"),
}


def _timm_helper():
    path = Path(__file__).resolve().parents[1] / "plugins" / "vision" / "tests" / "_timm_cnn.py"
    spec = importlib.util.spec_from_file_location("_timm_cnn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pair(name: str, helper):
    timm_name, size, converter = PAIRS[name]
    reference = helper.timm_reference(timm_name)
    state = reference.state_dict()
    if converter:
        state = zoo.specs.resolve(converter)(state)
    ours = zoo.build(name).eval()
    ours.load_state_dict(state, strict=True)
    return ours, reference, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    helper = _timm_helper()
    timm = helper.import_timm()
    print(f"torch {torch.__version__}, timm {timm.__version__}, {torch.get_num_threads()} threads, "
          f"batch {args.batch}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'model':<24} {'input':>5} {'max |diff|':>10} {'format':>13} {'timm ms':>9} {'zoo ms':>9} {'zoo/timm':>9}")
    for name in args.models:
        ours, reference, size = pair(name, helper)
        torch.manual_seed(0)
        x = torch.randn(args.batch, 3, size, size)
        with torch.inference_mode():
            diff = (ours(x) - reference(x)).abs().max().item()
            for fmt in (torch.contiguous_format, torch.channels_last):
                ours, reference = ours.to(memory_format=fmt), reference.to(memory_format=fmt)
                xf = x.contiguous(memory_format=fmt)
                timm_s, zoo_s = [], []
                for _ in range(2):  # interleaved, so that a change in machine load hits both
                    timm_s.append(best_time(lambda m=reference, inp=xf: m(inp), args.repeat))
                    zoo_s.append(best_time(lambda m=ours, inp=xf: m(inp), args.repeat))
                t, z = min(timm_s) * 1e3, min(zoo_s) * 1e3
                label = "channels_last" if fmt is torch.channels_last else "NCHW"
                print(f"{name:<24} {size:>5} {diff:>10.2e} {label:>13} {t:>9.1f} {z:>9.1f} {z / t:>8.2f}x", flush=True)


if __name__ == "__main__":
    main()
