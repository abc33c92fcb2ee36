"""B-cos contribution maps vs Grad-CAM on the same B-cos ResNet-50 batch, one run.

    .venv/bin/python benchmarks/bench_vision_bcos.py [--batch B] [--size S] [--repeat R] [--threads N]

Both explain the predicted class of every sample of one batch ``[B, 6, S, S]`` (random weights with
running variances calibrated on the batch, so the logits are of order one). ``bcos-contributions`` is
one forward and one backward to the input in explanation mode; Grad-CAM (``layer4``) is one forward
and one backward to the layer. A plain forward under ``torch.no_grad`` is timed beside them; the
ratios are explainer / forward. Best of ``--repeat``, interleaved. The completeness of the B-cos map
(Σ contributions = logit − logit bias) is printed as a check.
"""

from __future__ import annotations

import argparse

import torch
from _timing import best_time

import zoo
from zoo_vision.blocks import BatchNormUncentered2d, add_inverse
from zoo_vision.explainers.bcos import dynamic_linear_map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = zoo.build("bcos-resnet-50")
    x = add_inverse(torch.rand(args.batch, 3, args.size, args.size))
    for m in model.modules():
        if isinstance(m, BatchNormUncentered2d):
            m.momentum = 1.0
    with torch.no_grad():
        model.train()(x)
    model.eval()

    def forward():
        with torch.no_grad():
            model(x)

    timings = {
        "forward (no_grad)": best_time(forward, args.repeat),
        "bcos-contributions": best_time(lambda: zoo.explain(model, x, method="bcos-contributions"), args.repeat),
        "grad-cam (layer4)": best_time(lambda: zoo.explain(model, x, method="grad-cam"), args.repeat),
    }
    result = dynamic_linear_map(model, x)
    gap = result.contributions.sum((1, 2)) - (result.logits.gather(1, result.targets[:, None])[:, 0]
                                               - model.logit_layer.logit_bias)
    base = timings["forward (no_grad)"]
    print(f"bcos-resnet-50, batch {args.batch} x 6 x {args.size}^2, {args.threads} threads, torch {torch.__version__}")
    for name, seconds in timings.items():
        print(f"  {name:<20} {seconds * 1000:9.1f} ms   {seconds / base:5.2f}x forward")
    print(f"  bcos-contributions / grad-cam: {timings['bcos-contributions'] / timings['grad-cam (layer4)']:.2f}x")
    print(f"  completeness: max |sum(contributions) - (logit - bias)| = {gap.abs().max().item():.2e} "
          f"(logits - bias up to {(result.logits - model.logit_layer.logit_bias).abs().max().item():.3f})")


if __name__ == "__main__":
    main()
