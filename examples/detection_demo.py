"""PK-YOLO on real MRI anatomy, on a CPU, in about two minutes.

    pip install -e "plugins/medical[demo]"        # nilearn, for the MNI152 template it ships
    python examples/detection_demo.py [--steps 400] [--out /tmp/pk-yolo-demo]

Data: the MNI ICBM152 2009 T1 template (1 mm, 197 x 233 x 189) that the nilearn wheel carries
(read with nibabel, nothing is downloaded). Axial, coronal and sagittal slices are cut from it,
and a contrast-enhancing "lesion" (bright rim, darker core, random size, inside the brain) is
painted into most of them; its bounding box is the "positive" box to find. Slices through the
upper half of the volume (in each plane) train, the lower half tests, so no test slice was seen.

The slices are written as a ``mri-slices-yolo`` dataset (YOLO txt labels) and read back with
``zoo.dataset``; a small PK-YOLO (same layout as the paper's, ~1 M parameters, ``TINY_CONFIG``)
trains with the model's own loss, and the held-out slices are scored by the IoU of the best
detection with the painted box. A Grad-CAM of one detection is written as a PNG.

This shows the pipeline working end to end; it is not a tumour detector (the lesions are
synthetic, the anatomy is one template).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
import torch

import zoo
from zoo_medical.blocks.detection import box_iou
from zoo_medical.data.mri_slices import collate
from zoo_medical.detection_explain import explain_detection
from zoo_medical.models.pk_yolo import build_tiny, recalibrate_batchnorm

SIZE = 128


def template_volumes():
    spec = importlib.util.find_spec("nilearn")
    if spec is None:
        raise SystemExit("this demo reads the MNI152 template shipped in nilearn: "
                         'pip install -e "plugins/medical[demo]"')
    import nibabel as nib

    data = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
    t1 = nib.load(data / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz").get_fdata().astype(np.float32)
    tissue = sum(nib.load(data / f"mni_icbm152_{t}_tal_nlin_sym_09a_converted.nii.gz").get_fdata()
                 for t in ("gm", "wm"))
    return t1 / np.percentile(t1, 99.5), tissue > 0.5


def square(slice_2d: np.ndarray) -> np.ndarray:
    """Zero-pad to a square and resize to SIZE x SIZE (bilinear)."""
    h, w = slice_2d.shape
    side = max(h, w)
    canvas = np.zeros((side, side), np.float32)
    canvas[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = slice_2d
    resized = torch.nn.functional.interpolate(torch.from_numpy(canvas)[None, None], size=(SIZE, SIZE),
                                              mode="bilinear", align_corners=False)
    return resized[0, 0].numpy()


def slices(t1, brain, half: str, rng):
    """(image, brain mask) pairs of the three planes, from the upper or lower half of each axis."""
    out = []
    for axis in range(3):
        n = t1.shape[axis]
        lo, hi = (int(0.55 * n), int(0.75 * n)) if half == "train" else (int(0.30 * n), int(0.45 * n))
        for index in range(lo, hi, 2):
            image, mask = np.take(t1, index, axis=axis), np.take(brain, index, axis=axis)
            out.append((np.rot90(square(image)).copy(), np.rot90(square(mask.astype(np.float32)) > 0.5).copy()))
    rng.shuffle(out)
    return out


def paint_lesion(image, mask, rng):
    """A ring-enhancing ellipse inside the brain; returns the image and its YOLO box (or None)."""
    if rng.random() < 0.25 or mask.sum() < 400:
        return image, None  # a slice without lesion: nothing to find
    ys, xs = np.nonzero(mask)
    for _ in range(50):
        k = rng.integers(len(ys))
        cy, cx = ys[k], xs[k]
        ry, rx = rng.uniform(5, 14, size=2)
        yy, xx = np.ogrid[:SIZE, :SIZE]
        r = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
        if mask[r <= 1].mean() > 0.9:
            break
    lesion = image.copy()
    lesion[r <= 1] = 0.45 * image[r <= 1] + 0.1  # oedematous core
    rim = (r <= 1) & (r > 0.55)
    lesion[rim] = np.clip(image[rim] + 0.6, 0, 1.2)  # enhancing rim
    y0, y1, x0, x1 = cy - ry, cy + ry, cx - rx, cx + rx
    box = (1, (x0 + x1) / 2 / SIZE, (y0 + y1) / 2 / SIZE, (x1 - x0) / SIZE, (y1 - y0) / SIZE)
    return np.clip(lesion, 0, 1), box


def write_yolo(root: Path, split: str, items, rng) -> None:
    from PIL import Image

    (root / "images" / split).mkdir(parents=True)
    (root / "labels" / split).mkdir(parents=True)
    for index, (image, mask) in enumerate(items):
        painted, box = paint_lesion(image, mask, rng)
        Image.fromarray((painted * 255).astype(np.uint8)).save(root / "images" / split / f"{index:04d}.png")
        (root / "labels" / split / f"{index:04d}.txt").write_text("" if box is None else " ".join(map(str, box)) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("/tmp/pk-yolo-demo"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    start = time.time()

    t1, brain = template_volumes()
    root = args.out / "axial_t1wce_2_class"  # the authors' layout; all three planes are mixed here
    if root.exists():
        import shutil

        shutil.rmtree(root)
    write_yolo(root, "train", slices(t1, brain, "train", rng), rng)
    write_yolo(root, "test", slices(t1, brain, "test", rng), rng)
    train = zoo.dataset("mri-slices-yolo", root=args.out, split="train", plane="axial", image_size=SIZE)
    test = zoo.dataset("mri-slices-yolo", root=args.out, split="test", plane="axial", image_size=SIZE)
    print(f"{len(train)} training and {len(test)} test slices ({SIZE} px) from the MNI152 T1 template, "
          f"{time.time() - start:.0f} s")

    model = build_tiny()
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, args.steps)
    order = torch.randperm(len(train))
    for step in range(args.steps):
        picks = order[(step * args.batch + torch.arange(args.batch)) % len(train)]
        images, targets = collate([train[int(i)] for i in picks])
        if torch.rand(()) < 0.5:  # horizontal flip, as YOLO's fliplr 0.5
            images, targets = images.flip(-1), targets.clone()
            targets[:, 2] = 1 - targets[:, 2]
        loss, parts = model.loss(model(images), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {float(loss.detach()):7.3f}  (box {parts[0]:.3f}, cls {parts[1]:.3f}, "
                  f"dfl {parts[2]:.3f})  {time.time() - start:.0f} s")

    recalibrate_batchnorm(model, [collate([train[i] for i in range(j, min(j + 16, len(train)))])[0]
                                  for j in range(0, min(len(train), 64), 16)])
    model.eval()
    ious, false_alarms, lesions = [], 0, 0
    for index in range(len(test)):
        image, boxes = test[index]
        detections = model.predict(image[None], conf_threshold=0.05)[0]
        if len(boxes) == 0:
            false_alarms += int(len(detections) > 0 and float(detections[0, 4]) >= 0.25)
            continue
        lesions += 1
        cx, cy, w, h = (boxes[0, 1:] * SIZE).tolist()
        truth = torch.tensor([[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]])
        ious.append(float(box_iou(detections[:1, :4], truth)) if len(detections) else 0.0)
    ious = np.array(ious)
    print(f"held-out slices with a lesion: {lesions}; top detection (score >= 0.05) IoU >= 0.5 on "
          f"{np.mean(ious >= 0.5):.0%}, "
          f"mean IoU {ious.mean():.2f}; slices without a lesion given a box (score >= 0.25): {false_alarms} of "
          f"{len(test) - lesions}")

    index = next(i for i in range(len(test)) if len(test[i][1]))
    image = test[index][0][None]
    detections = model.predict(image, conf_threshold=0.05)[0]
    if len(detections):
        explanation = explain_detection(model, image, detections[0])
        path = args.out / "pk_yolo_gradcam.png"
        explanation.save(path, image)
        print(f"Grad-CAM of the top detection {[round(v) for v in detections[0, :4].tolist()]} "
              f"(score {float(detections[0, 4]):.2f}) on test slice {index}: {path}")
    # On a shared machine the wall time says little; the CPU time is what an idle one would need.
    print(f"total {time.time() - start:.0f} s wall, {time.process_time():.0f} s CPU "
          f"({torch.get_num_threads()} thread(s))")


if __name__ == "__main__":
    main()
