"""Multiplanar MRI slices with tumour boxes, as YOLO txt labels or COCO json, read from a local folder.

The format PK-YOLO trains on (Kang et al., WACV 2025, arXiv:2410.21822): 2-D T1wCE slices of the
BraTS 2021-derived "brain tumor object detection" set, one dataset per plane, classes
``negative`` / ``positive``. Nothing is downloaded.

- ``mri-slices-yolo``: ``ROOT/[PLANE_t1wce_2_class/]images/SPLIT/*.jpg|png|npy`` and
  ``.../labels/SPLIT/<same stem>.txt`` with one ``class cx cy w h`` line per box (normalised to
  [0, 1]); an image without a label file has no box.
- ``mri-slices-coco``: ``ROOT/[PLANE/]annotations/instances_SPLIT.json`` (COCO: ``images``,
  ``annotations`` with ``bbox`` = ``x, y, w, h`` in pixels, ``categories``) and the images under
  ``.../images/SPLIT/`` (or at ``file_name`` relative to the plane folder).

Items are ``(image, boxes)``: a float ``[3, S, S]`` image in [0, 1] (grey slices repeated to 3
channels, resized to ``image_size``) and ``[n, 5]`` rows ``class, cx, cy, w, h`` normalised.
:func:`collate` batches them into images ``[B, 3, S, S]`` and targets ``[N, 6]`` (image index first),
the input of ``PKYOLO.loss``.
"""

from __future__ import annotations

import json
from pathlib import Path

from zoo import DatasetSpec
from zoo.errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from zoo_medical.models.pk_yolo_specs import PAPER

HOMEPAGE = ("https://www.kaggle.com/datasets (brain tumor object detection, axial/coronal/sagittal T1wCE "
            "from RSNA-MICCAI BraTS 2021; needs an account)")
PLANES = ("axial", "coronal", "sagittal")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".npy")
YOLO_LAYOUT = ("[PLANE_t1wce_2_class/]images/SPLIT/*.jpg|png|npy and [PLANE_t1wce_2_class/]labels/SPLIT/*.txt "
               "(YOLO: one 'class cx cy w h' line per box, normalised)")
COCO_LAYOUT = "[PLANE/]annotations/instances_SPLIT.json (COCO boxes) and [PLANE/]images/SPLIT/*"
SPLITS = ("train", "test")

DATASETS = (
    DatasetSpec(name="mri-slices-yolo", domain="medical", task="detection",
                builder="zoo_medical.data.mri_slices:load_yolo_slices", layout=YOLO_LAYOUT, homepage=HOMEPAGE,
                splits=SPLITS, paper=PAPER, license="BraTS 2021 terms (data); Kaggle dataset licence",
                description="2-D MRI slices with tumour boxes in YOLO txt format, one folder per plane."),
    DatasetSpec(name="mri-slices-coco", domain="medical", task="detection",
                builder="zoo_medical.data.mri_slices:load_coco_slices", layout=COCO_LAYOUT, homepage=HOMEPAGE,
                splits=SPLITS, paper=PAPER, license="BraTS 2021 terms (data); Kaggle dataset licence",
                description="2-D MRI slices with tumour boxes in COCO json format, one folder per plane."),
)


class DetectionSlices:
    """A map-style dataset of ``(image [3, S, S], boxes [n, 5])`` read lazily from a list of files."""

    def __init__(self, items: list[tuple[Path, list[list[float]]]], names: tuple[str, ...], image_size: int,
                 plane: str | None, split: str):
        self.items, self.names, self.image_size = items, tuple(names), image_size
        self.num_classes, self.plane, self.split = len(names), plane, split
        self.model_config = {"image_size": image_size}  # zoo train records the training size in the config

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        import torch

        path, boxes = self.items[index]
        return read_slice(path, self.image_size), torch.tensor(boxes, dtype=torch.float32).reshape(-1, 5)


def read_slice(path: Path, size: int):
    """One slice as a ``[3, size, size]`` float tensor in [0, 1] (min-max scaled for ``.npy``)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    try:
        if path.suffix == ".npy":
            array = np.load(path, allow_pickle=False).astype(np.float32)
            low, high = float(array.min()), float(array.max())
            array = (array - low) / (high - low) if high > low else np.zeros_like(array)
        else:
            from PIL import Image

            with Image.open(path) as image:
                array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, ValueError) as error:
        raise DatasetFormatError(f"{path} is not a readable image ({error})") from None
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise DatasetFormatError(f"{path}: a slice must be 2-D grey or RGB, got shape {list(array.shape)}")
    image = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)
    if tuple(image.shape[1:]) != (size, size):
        image = F.interpolate(image[None], size=(size, size), mode="bilinear", align_corners=False)[0]
    return image.clamp(0, 1)


def collate(batch):
    """``[(image, boxes), ...]`` -> images ``[B, 3, S, S]`` and targets ``[N, 6]``
    (image index, class, cx, cy, w, h)."""
    from zoo.training.parts import detection_collate  # the engine's detection batch (what zoo train uses)

    return detection_collate(batch)


def _plane_root(root: Path, plane: str | None, marker: str, name: str, layout: str) -> Path:
    if not root.is_dir():
        raise DatasetNotFoundError(name, str(root), layout, HOMEPAGE)
    if plane is not None and plane not in PLANES:
        raise ConfigError(f"{name}: plane must be one of {PLANES}, got {plane!r}")
    if (root / marker).is_dir():
        return root
    candidates = [root / f"{plane}_t1wce_2_class", root / str(plane)] if plane else \
                 [p for p in sorted(root.iterdir()) if (p / marker).is_dir()]
    found = [c for c in candidates if (c / marker).is_dir()]
    if plane is None and len(found) > 1:
        raise ConfigError(f"{name}: {root} holds several planes {[p.name for p in found]}; pass plane=...")
    if not found:
        raise DatasetNotFoundError(name, str(root), layout, HOMEPAGE)
    return found[0]


def _check_split(split: str, name: str) -> None:
    if split not in SPLITS and split not in ("val", "valid", "validation"):
        raise ConfigError(f"{name}: split must be one of {SPLITS} (or val), got {split!r}")


def load_yolo_slices(root, split: str = "train", plane: str | None = None, image_size: int = 640,
                     names: tuple[str, ...] = ("negative", "positive")) -> DetectionSlices:
    """The ``split`` of one plane in YOLO format (see the module docstring)."""
    name = "mri-slices-yolo"
    _check_split(split, name)
    base = _plane_root(Path(root), plane, "images", name, YOLO_LAYOUT)
    image_dir, label_dir = base / "images" / split, base / "labels" / split
    if not image_dir.is_dir():
        raise DatasetNotFoundError(name, str(base), f"images/{split}/ ({YOLO_LAYOUT})", HOMEPAGE)
    paths = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DatasetNotFoundError(name, str(image_dir), f"image files ({', '.join(IMAGE_SUFFIXES)})", HOMEPAGE)
    items = []
    for path in paths:
        label = label_dir / f"{path.stem}.txt"
        items.append((path, _read_yolo_labels(label, len(names)) if label.is_file() else []))
    return DetectionSlices(items, names, image_size, plane, split)


def _read_yolo_labels(path: Path, num_classes: int) -> list[list[float]]:
    boxes = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            values = [float(v) for v in fields]
        except ValueError:
            values = []
        if len(values) != 5 or values[0] != int(values[0]):
            raise DatasetFormatError(f"{path}:{number}: a YOLO label line is 'class cx cy w h', got {line!r}")
        cls, cx, cy, w, h = values
        if not 0 <= cls < num_classes:
            raise DatasetFormatError(f"{path}:{number}: class {int(cls)} outside 0..{num_classes - 1}")
        if not (0 <= cx <= 1 and 0 <= cy <= 1 and 0 < w <= 1 and 0 < h <= 1):
            raise DatasetFormatError(f"{path}:{number}: box {values[1:]} is not normalised to [0, 1]")
        boxes.append(values)
    return boxes


def load_coco_slices(root, split: str = "train", plane: str | None = None, image_size: int = 640,
                     annotation: str | None = None) -> DetectionSlices:
    """The ``split`` of one plane in COCO format; classes are the json's categories in id order."""
    name = "mri-slices-coco"
    _check_split(split, name)
    base = _plane_root(Path(root), plane, "annotations", name, COCO_LAYOUT)
    path = base / "annotations" / (annotation or f"instances_{split}.json")
    if not path.is_file():
        raise DatasetNotFoundError(name, str(base), f"annotations/{path.name} ({COCO_LAYOUT})", HOMEPAGE)
    try:
        coco = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DatasetFormatError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(coco, dict) or not all(isinstance(coco.get(k), list) for k in ("images", "annotations",
                                                                                    "categories")):
        raise DatasetFormatError(f"{path}: a COCO file is an object with 'images', 'annotations' and "
                                 "'categories' lists")
    try:
        categories = sorted(coco["categories"], key=lambda c: c["id"])
        class_of = {c["id"]: i for i, c in enumerate(categories)}
        names = tuple(str(c.get("name", c["id"])) for c in categories)
        images = {im["id"]: im for im in coco["images"]}
        boxes: dict = {image_id: [] for image_id in images}
        for ann in coco["annotations"]:
            image = images.get(ann["image_id"])
            if image is None or ann["category_id"] not in class_of:
                raise DatasetFormatError(f"{path}: annotation {ann.get('id')} names an unknown image or category")
            x, y, w, h = (float(v) for v in ann["bbox"])
            width, height = float(image["width"]), float(image["height"])
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width + 0.5 or y + h > height + 0.5:
                raise DatasetFormatError(f"{path}: annotation {ann.get('id')} bbox {ann['bbox']} lies outside "
                                         f"its {int(width)}x{int(height)} image")
            boxes[ann["image_id"]].append([class_of[ann["category_id"]], (x + w / 2) / width, (y + h / 2) / height,
                                           w / width, h / height])
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, DatasetFormatError):
            raise
        raise DatasetFormatError(f"{path}: malformed COCO entry ({type(error).__name__}: {error})") from None
    items = []
    for image_id, image in sorted(images.items(), key=lambda kv: str(kv[0])):
        file = _find_image(base, split, image["file_name"])
        if file is None:
            raise DatasetFormatError(f"{path}: image {image['file_name']!r} is not under {base / 'images' / split} "
                                     f"or {base}")
        items.append((file, boxes[image_id]))
    if not items:
        raise DatasetFormatError(f"{path} lists no images")
    return DetectionSlices(items, names, image_size, plane, split)


def _find_image(base: Path, split: str, file_name: str) -> Path | None:
    for candidate in (base / "images" / split / file_name, base / file_name, base / "images" / file_name):
        if candidate.is_file():
            return candidate
    return None
