"""Short training run of scse-unet-3d (and MONAI's plain UNet beside it) on a generated NIfTI phantom set.

    .venv/bin/python benchmarks/bench_medical_train_phantom.py [--epochs 10] \
        [--figure docs/plugins/medical-phantom-gradcam.png]

The phantoms: 48^3 volumes (1.5 mm voxels) with one bright ellipsoid (label 1, random centre,
radii and contrast) and one unlabelled darker sphere as a distractor, Gaussian noise and a smooth
bias field. They are written as NIfTI in the Medical Segmentation Decathlon layout (dataset.json,
imagesTr/, labelsTr/) into a temporary folder and read back through ``zoo.dataset(
"medical-decathlon")`` with its default MR preprocessing - the real data path, end to end.

Training runs on zoo's engine (``zoo.train`` with a ``TrainRecipe``: DiceCE loss, Adam lr 1e-3,
batches of two random 32^3 crops, half centred on the phantom), one model after the other on the same
crops, on the CPU. After every epoch: validation Dice and HD95 (MONAI metrics) from sliding-
window inference (ROI 32^3) over the whole 48^3 volumes. Target: scse-unet-3d's Dice > 0.8
within the run. With ``--figure`` it saves Grad-CAM maps (per class, via ``zoo.explain``) of the
trained scSE model on a validation volume, and prints how much of each map lies on the phantom.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

SIZE, ROI = 48, 32


def phantom(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    grid = np.stack(np.meshgrid(*[np.arange(SIZE)] * 3, indexing="ij"), axis=-1).astype(np.float32)
    radii = rng.uniform(5, 11, 3)
    centre = rng.uniform(radii + 2, SIZE - radii - 2)
    label = (((grid - centre) / radii) ** 2).sum(-1) <= 1
    distractor_centre = rng.uniform(8, SIZE - 8, 3)
    distractor = ((grid - distractor_centre) ** 2).sum(-1) <= rng.uniform(3, 6) ** 2
    bias = 1 + 0.3 * np.sin(grid[..., 0] / SIZE * np.pi + rng.uniform(0, np.pi))
    image = 100 + bias * (rng.uniform(40, 70) * label + 20 * (distractor & ~label)) + rng.normal(0, 15, label.shape)
    return image.astype(np.float32), label.astype(np.uint8)


def write_dataset(root: Path, cases: int, seed: int) -> Path:
    """Phantoms as a Decathlon task folder (NIfTI + dataset.json)."""
    import nibabel as nib

    rng = np.random.default_rng(seed)
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    affine = np.diag([1.5, 1.5, 1.5, 1.0])
    training = []
    for case in range(cases):
        image, label = phantom(rng)
        name = f"phantom_{case:03d}.nii.gz"
        nib.save(nib.Nifti1Image(image, affine), root / "imagesTr" / name)
        nib.save(nib.Nifti1Image(label, affine), root / "labelsTr" / name)
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    manifest = {"name": "Phantom", "modality": {"0": "MRI"}, "labels": {"0": "background", "1": "ellipsoid"},
                "numTraining": cases, "training": training, "test": []}
    (root / "dataset.json").write_text(json.dumps(manifest))
    return root


class Crops:
    """The training split seen through one random ROI^3 crop per item (half centred on the phantom)."""

    def __init__(self, dataset, seed: int):
        from monai import transforms as T

        self.dataset = dataset
        self.crop = T.RandCropByPosNegLabeld(["image", "label"], "label", (ROI,) * 3, pos=1, neg=1, num_samples=1)
        self.crop.set_random_state(seed)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        return self.crop(self.dataset[index])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20, help="phantoms written (20% go to validation)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=8, help="optimiser steps per epoch")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", type=Path, default=None, help="save per-class Grad-CAM of the trained model")
    args = parser.parse_args()

    import torch
    from monai import transforms as T
    from monai.data import DataLoader, decollate_batch
    from monai.inferers import sliding_window_inference
    from monai.metrics import DiceMetric, HausdorffDistanceMetric

    import zoo

    torch.set_num_threads(args.threads)
    folder = tempfile.TemporaryDirectory()
    root = write_dataset(Path(folder.name) / "Task00_Phantom", args.cases, args.seed)
    train_set = zoo.dataset("medical-decathlon", root=root, split="train", cache=True)
    val_set = zoo.dataset("medical-decathlon", root=root, split="validation", cache=True)
    recipe = zoo.TrainRecipe(name="phantom", optimiser="adam", lr=1e-3, epochs=args.epochs, batch_size=2,
                             steps_per_epoch=args.steps, loss="dice-ce", seed=args.seed)
    dice_metric = DiceMetric(include_background=False)
    hd95_metric = HausdorffDistanceMetric(include_background=False, percentile=95)
    post_pred, post_label = T.AsDiscrete(argmax=True, to_onehot=2), T.AsDiscrete(to_onehot=2)

    def evaluate(epoch: int, model) -> dict:
        """Sliding-window Dice and HD95 over the whole validation volumes, after every epoch."""
        dice_metric.reset()
        hd95_metric.reset()
        with torch.inference_mode():
            for batch in DataLoader(val_set, batch_size=1):
                logits = sliding_window_inference(batch["image"], (ROI,) * 3, 2, model, overlap=0.25)
                prediction = [post_pred(p) for p in decollate_batch(logits)]
                truth = [post_label(t) for t in decollate_batch(batch["label"])]
                dice_metric(prediction, truth)
                hd95_metric(prediction, truth)
        return {"sw_dice": float(dice_metric.aggregate()), "hd95_mm": float(hd95_metric.aggregate()) * 1.5}

    print(f"phantom set: {len(train_set)} train / {len(val_set)} validation NIfTI volumes of {SIZE}^3 "
          f"under {root.name} (dataset.json layout), crops {ROI}^3, batch 2, Adam 1e-3, {args.threads} thread(s), "
          f"torch {torch.__version__}; each model trained by zoo.train")
    runs = {"scse-unet-3d": {}, "MONAI UNet": {"se": "none"}}
    rows: dict[str, list[dict]] = {}
    for name, config in runs.items():
        out = Path(folder.name) / name.replace(" ", "-")
        rows[name] = []

        def record(epoch: int, model, history: list = rows[name]) -> dict:
            history.append(evaluate(epoch, model))
            return history[-1]  # logged beside the engine's own metrics in metrics.csv

        # the same seed: both models see the same crops in the same order
        zoo.train("scse-unet-3d", (Crops(train_set, args.seed), val_set), out=out, recipe=recipe, config=config,
                  progress=False, on_epoch_end=record)
        metrics = (out / "metrics.csv").read_text().splitlines()
        header = metrics[0].split(",")
        for row, line in zip(rows[name], metrics[1:]):
            row.update(seconds=float(line.split(",")[header.index("seconds")]))
    header = "".join(f"{name + ' Dice':>20}{'HD95 mm':>9}" for name in runs)
    print(f"{'epoch':>5}{'steps':>6}{header}{'s/epoch':>10}")
    for epoch in range(args.epochs):
        cells = [rows[name][epoch] for name in runs]
        row = "".join(f"{c['sw_dice']:>20.3f}{c['hd95_mm']:>9.1f}" for c in cells)
        print(f"{epoch + 1:>5}{(epoch + 1) * args.steps:>6}{row}{sum(c['seconds'] for c in cells):>10.1f}")
    for name in runs:
        at = next(((i + 1) * args.steps for i, c in enumerate(rows[name]) if c["sw_dice"] > 0.8), None)
        print(f"{name}: Dice > 0.8 {'first after ' + str(at) + ' steps' if at else 'NOT reached'}")

    if args.figure is not None:
        save_gradcam(zoo.load(Path(folder.name) / "scse-unet-3d" / "last").eval(), val_set[0], args.figure)
    folder.cleanup()


def save_gradcam(model, item: dict, path: Path) -> None:
    """Grad-CAM of both classes on one validation volume (middle axial slice), plus on-target mass."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    import zoo

    image, label = item["image"][None].as_tensor(), item["label"][0].as_tensor()
    with torch.inference_mode():
        prediction = model(image).argmax(1)[0]
    maps = {c: zoo.explain(model, image, method="grad-cam", targets=c).maps[0] for c in (0, 1)}
    inside = label > 0
    for c, cam in maps.items():
        share = float(cam[inside].sum() / cam.sum())
        print(f"Grad-CAM class {c}: {share:.0%} of the map on the phantom ({inside.float().mean():.0%} of the volume)")
    z = int(inside.nonzero()[:, 2].float().mean())
    panels = [("image", image[0, 0, :, :, z], "gray"), ("prediction (label contour)", prediction[:, :, z], "gray"),
              ("Grad-CAM class 0 (background)", maps[0][:, :, z], "jet"),
              ("Grad-CAM class 1 (ellipsoid)", maps[1][:, :, z], "jet")]
    figure, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    for axis, (title, picture, cmap) in zip(axes, panels):
        axis.imshow(picture.T, cmap=cmap, origin="lower")
        axis.contour(label[:, :, z].T, levels=[0.5], colors="white", linewidths=0.8)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    figure.suptitle("scse-unet-3d after the phantom run: zoo.explain(model, x, targets=c), layer model.1.submodule.2",
                    fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
