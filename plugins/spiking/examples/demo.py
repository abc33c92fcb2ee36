"""zoo-spiking demo: train E-3DSNN on built-in shapes, classify a point cloud, explain it per voxel.

    python plugins/spiking/examples/demo.py [--steps 120] [--out demo-out/]

Offline and CPU-only. The model is ``edge-3dsnn`` with ``num_classes=6``: the paper's 1.87M
E-3DSNN-T architecture with a 6-class head, trained with ``zoo.train`` (the authors' recipe,
shortened) on the built-in labelled shapes (sphere, cube, cylinder, cone, torus, pyramid sampled
from generated meshes, randomly rotated). It then classifies a held-out cloud and explains the
prediction with the core's Grad-CAM on the last sparse stage; each input voxel gets the value of
the last-stage site that contains it (``model.feature_index``). With ``--out`` the explanation is
saved as a 3-D scatter plot.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import torch

import zoo
from zoo_spiking.data import SHAPE_NAMES, ShapesDataset, collate, collate_labelled
from zoo_spiking.models.e3dsnn_specs import MODELNET40_RECIPE

# 1,024 points per cloud at voxel 0.06: coarse enough that neighbouring voxels are active (at the
# ModelNet40 voxel of 0.01 so few points would be isolated voxels that submanifold convs cannot
# relate), small enough to train in about half a minute of CPU time.
POINTS, GRID = 1024, 0.06


def train(steps: int, run: Path, batch_size: int = 12) -> tuple[torch.nn.Module, int]:
    """``zoo.train`` with the authors' ModelNet40 recipe (CE with label smoothing 0.2), shortened for a demo:
    AdamW 5e-3 (wd 1e-3) cosine-decayed to 0 over ``steps`` steps of 12 clouds, instead of SGD for 300 epochs."""
    data = ShapesDataset("train", num_points=POINTS, grid_size=GRID, samples_per_class=40)
    validation = ShapesDataset("test", num_points=POINTS, grid_size=GRID, samples_per_class=5)
    recipe = MODELNET40_RECIPE.replace(
        name="demo-shapes", optimiser="adamw", lr=5e-3, momentum=0.9, weight_decay=1e-3, schedule="cosine",
        batch_size=batch_size, epochs=max(1, steps // (len(data) // batch_size)), seed=0)
    result = zoo.train("edge-3dsnn", (data, validation), out=run, recipe=recipe,
                       config={"num_classes": len(SHAPE_NAMES)}, progress=False)
    with open(run / "metrics.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            print(f"  epoch {row['epoch']}  step {row['step']}  train loss {float(row['train_loss']):.3f}  "
                  f"held-out accuracy {float(row['accuracy']):.0%} (BN running stats)  ({float(row['seconds']):.0f} s)")
    return zoo.load(run / "last"), result["metrics"]["step"]


@torch.no_grad()
def recalibrate_batchnorm(model: torch.nn.Module, batches: int = 4, seed: int = 1) -> None:
    """Re-estimate BN running statistics as plain averages over a few training batches.

    The authors' BN momentum is 0.01, tuned for 300 epochs; after a few dozen steps the running
    statistics are still near their initial values and the eval-mode network barely spikes.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    data = ShapesDataset("train", num_points=POINTS, grid_size=GRID, samples_per_class=8, seed=seed)
    model.train()
    for b in range(batches):
        inputs, _ = collate_labelled([data[i] for i in range(b, len(data), batches)])
        model(*inputs)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.eval()


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: ShapesDataset) -> float:
    model.eval()
    inputs, labels = collate_labelled([data[i] for i in range(len(data))])
    return (model(*inputs).argmax(1) == labels).float().mean().item()


def plot(coords: torch.Tensor, values: torch.Tensor, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(5, 5))
    axes = figure.add_subplot(projection="3d")
    xyz = coords.float().numpy()
    axes.scatter(xyz[:, 0], xyz[:, 1], xyz[:, 2], c=values.numpy(), cmap="jet", s=4)
    axes.set_title(title)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=120,
                        help="training steps, rounded down to whole epochs of 20 (deterministic)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the explanation plot")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (the sparse convs issue many small ops; one thread is "
                             "faster on a shared machine)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print(f"edge-3dsnn (E-3DSNN-T) on {len(SHAPE_NAMES)} built-in shapes: {', '.join(SHAPE_NAMES)}")
    with tempfile.TemporaryDirectory() as run:
        model, steps = train(args.steps, Path(run) / "edge-3dsnn")
    recalibrate_batchnorm(model)
    test = ShapesDataset("test", num_points=POINTS, grid_size=GRID, samples_per_class=5)
    print(f"trained {steps} steps; held-out accuracy {accuracy(model, test):.0%} on {len(test)} clouds")

    model.eval()
    with torch.no_grad():
        probs = model(*collate([test[i][:2] for i in range(len(SHAPE_NAMES))])).softmax(1)
    print("one held-out cloud per class:", ", ".join(
        f"{name} -> {SHAPE_NAMES[int(p.argmax())]} ({float(p.max()):.2f})" for name, p in zip(SHAPE_NAMES, probs)))

    coords, feats, label = test[SHAPE_NAMES.index("torus")]
    x = collate([(coords, feats)])
    with torch.no_grad():
        probs = model(*x).softmax(1)[0]
    predicted = int(probs.argmax())
    print(f"explaining a held-out {SHAPE_NAMES[label]} ({len(coords)} voxels), predicted {SHAPE_NAMES[predicted]} "
          f"(p={probs[predicted]:.2f})")
    print("  active sites per stage:", model.active_sites)
    rates = model.spike_rates()
    print(f"  spike rate (mean count / 4) over {len(rates)} spiking layers: "
          f"{sum(rates.values()) / len(rates):.3f}, min {min(rates.values()):.3f}, max {max(rates.values()):.3f}")

    explanation = zoo.explain(model, x, method="grad-cam")  # target: the spec's explain_layer, "enc.3"
    per_voxel = explanation.maps[model.feature_index]
    top = per_voxel.topk(5).indices
    print(f"  grad-cam on {explanation.target_layer}: {len(explanation.maps)} last-stage sites -> "
          f"{len(per_voxel)} input voxels; mean {per_voxel.mean():.2f}, "
          f"hottest voxels at {coords[top].tolist()}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "edge-3dsnn-gradcam.png"
        plot(coords, per_voxel, f"{SHAPE_NAMES[label]} -> {SHAPE_NAMES[predicted]} (Grad-CAM)", path)
        print(f"  saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
