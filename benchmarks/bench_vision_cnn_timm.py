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

On a shared, loaded machine single timings swing by 2x; ``--ops`` adds a load-independent check:
the compute-bound ATen calls of one batch-1 forward (convolutions, batch norms, activations,
pooling, concatenations, the classifier), with their input shapes, counted by torch.profiler for
both models. Identical counts mean both run the same kernels on the same shapes; "timm's minus
..." means ours makes a subset of timm's calls (Inception-C concatenates its six branches once,
timm three times).
"""

from __future__ import annotations

import argparse
import collections
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


HEAVY_OPS = ("aten::convolution", "aten::batch_norm", "aten::relu", "aten::relu_", "aten::cat", "aten::max_pool2d",
             "aten::avg_pool2d", "aten::linear", "aten::sigmoid", "aten::add_")


def heavy_ops(model, x) -> collections.Counter:
    """(op, input shapes) -> calls, for the compute-bound ops of one forward."""
    with torch.inference_mode(), torch.profiler.profile(record_shapes=True) as prof:
        model(x)
    return collections.Counter({(e.key, str(e.input_shapes)): e.count
                                for e in prof.key_averages(group_by_input_shape=True) if e.key in HEAVY_OPS})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--ops", action="store_true", help="also compare the compute-bound ATen calls")
    parser.add_argument("--no-timing", action="store_true", help="only the parity and --ops checks")
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
                label = "channels_last" if fmt is torch.channels_last else "NCHW"
                if args.ops:
                    zoo_ops, timm_ops = heavy_ops(ours, xf[:1]), heavy_ops(reference, xf[:1])
                    extra = timm_ops - zoo_ops
                    verdict = ("identical to timm's" if zoo_ops == timm_ops else
                               "timm's minus " + ", ".join(f"{n} x {op[0]}" for op, n in extra.items())
                               if not zoo_ops - timm_ops else "DIFFERENT from timm's")
                    print(f"{name:<24} {label:>13} compute-bound ATen calls: {verdict}", flush=True)
                if args.no_timing:
                    continue
                timm_s, zoo_s = [], []
                for _ in range(2):  # interleaved, so that a change in machine load hits both
                    timm_s.append(best_time(lambda m=reference, inp=xf: m(inp), args.repeat))
                    zoo_s.append(best_time(lambda m=ours, inp=xf: m(inp), args.repeat))
                t, z = min(timm_s) * 1e3, min(zoo_s) * 1e3
                print(f"{name:<24} {size:>5} {diff:>10.2e} {label:>13} {t:>9.1f} {z:>9.1f} {z / t:>8.2f}x", flush=True)


if __name__ == "__main__":
    main()
