"""Images on disk: a class-per-folder tree (ImageFolder) and the ImageNet validation layout.

Items are ``(image, label)``: the decoded RGB image as a float tensor ``[3, H, W]`` in [0, 1]
(or what ``transform`` makes of it, e.g. ``zoo_vision.transforms.transforms_for(model)``) and an
int64 class index. Images are decoded with Pillow, imported when the first image is read.
"""

from __future__ import annotations

import csv
from pathlib import Path

from zoo import DatasetSpec
from zoo.errors import DatasetFormatError, DatasetNotFoundError, ZooError

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
SPLITS = ("train", "val", "test")
LAYOUT = "root/<split>/<class name>/<image>.jpg|png|... (or root/<class name>/<image> without split folders)"
IMAGENET_LAYOUT = ("root/val/*.JPEG (50,000 flat files) and root/LOC_val_solution.csv (Kaggle: ImageId,"
                   "PredictionString starting with the WordNet id) or root/val_labels.txt ('<file> <wnid or index>' "
                   "per line)")
IMAGENET_HOMEPAGE = ("https://image-net.org/challenges/LSVRC/2012/ "
                     "(or kaggle.com/c/imagenet-object-localization-challenge)")


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def read_image(path: Path):
    """``[3, H, W]`` float in [0, 1] (grey and palette images converted to RGB)."""
    import numpy as np
    import torch

    try:
        from PIL import Image, UnidentifiedImageError
    except ModuleNotFoundError:
        raise ZooError("reading image files needs Pillow: pip install pillow") from None

    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetFormatError(f"{path}: not a readable image ({error})") from None
    return torch.from_numpy(array).permute(2, 0, 1).float().div_(255.0)


class ImageList:
    """``(image, label)`` over a list of files; ``classes`` names the label indices."""

    def __init__(self, files: list[Path], labels: list[int], classes: tuple[str, ...], transform=None):
        self.files, self.labels, self.classes, self.transform = files, labels, classes, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        image = read_image(self.files[index])
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[index]


def load_image_folder(root, split: str | None = None, transform=None) -> ImageList:
    """Class-per-folder images under ``root/<split>`` (or ``root`` itself when it has no split folders);
    classes are the sub-folder names in sorted order."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError("image-folder", str(root), LAYOUT)
    base = root / split if split is not None and (root / split).is_dir() else root
    if split is not None and base == root and any((root / s).is_dir() for s in SPLITS):
        raise DatasetNotFoundError("image-folder", str(root / split), LAYOUT)
    classes = tuple(sorted(p.name for p in base.iterdir() if p.is_dir()))
    if not classes:
        raise DatasetFormatError(f"image-folder: no class folders under {str(base)!r}; expected {LAYOUT}")
    files, labels = [], []
    for index, name in enumerate(classes):
        found = _images(base / name)
        files += found
        labels += [index] * len(found)
    if not files:
        raise DatasetFormatError(f"image-folder: class folders {list(classes)[:5]} under {str(base)!r} hold no "
                                 f"images ({', '.join(EXTENSIONS)})")
    return ImageList(files, labels, classes, transform)


def _imagenet_labels(root: Path) -> dict[str, int]:
    from zoo_vision.imagenet_classes import SYNSETS

    index = {synset: i for i, synset in enumerate(SYNSETS)}

    def label(value: str, where: str) -> int:
        if value in index:
            return index[value]
        if value.isdigit() and int(value) < len(SYNSETS):
            return int(value)
        raise DatasetFormatError(f"imagenet-val: {where}: {value!r} is neither an ImageNet-1k WordNet id nor 0..999")

    kaggle, plain = root / "LOC_val_solution.csv", root / "val_labels.txt"
    labels = {}
    if kaggle.is_file():
        with kaggle.open(newline="") as handle:
            for row_number, row in enumerate(csv.DictReader(handle), start=2):
                if not row.get("ImageId") or not row.get("PredictionString"):
                    raise DatasetFormatError(f"imagenet-val: {kaggle}:{row_number}: expected columns ImageId,"
                                             f"PredictionString")
                labels[row["ImageId"]] = label(row["PredictionString"].split()[0], f"{kaggle}:{row_number}")
    elif plain.is_file():
        for line_number, line in enumerate(plain.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2:
                raise DatasetFormatError(
                    f"imagenet-val: {plain}:{line_number}: expected '<file> <label>', got {line!r}")
            labels[Path(parts[0]).stem] = label(parts[1], f"{plain}:{line_number}")
    else:
        raise DatasetNotFoundError("imagenet-val", str(root), IMAGENET_LAYOUT, IMAGENET_HOMEPAGE)
    return labels


def load_imagenet_val(root, split: str = "val", transform=None) -> ImageList:
    """The ILSVRC 2012 validation images as one flat folder with a labels file; labels are indices in
    the sorted-WordNet-id order of the ImageNet-1k classifiers (``zoo_vision.imagenet_classes``)."""
    from zoo_vision.imagenet_classes import NAMES

    root = Path(root)
    if split != "val":
        raise DatasetFormatError(f"imagenet-val: only the 'val' split is read, got {split!r}")
    folder = root / "val"
    if not folder.is_dir():
        raise DatasetNotFoundError("imagenet-val", str(root), IMAGENET_LAYOUT, IMAGENET_HOMEPAGE)
    labels = _imagenet_labels(root)
    files = _images(folder)
    if not files:
        raise DatasetFormatError(f"imagenet-val: no images in {str(folder)!r}; expected {IMAGENET_LAYOUT}")
    unlabelled = [f.name for f in files if f.stem not in labels]
    if unlabelled:
        raise DatasetFormatError(f"imagenet-val: {len(unlabelled)} images have no label (e.g. {unlabelled[0]})")
    return ImageList(files, [labels[f.stem] for f in files], NAMES, transform)


DATASETS = (
    DatasetSpec(
        name="image-folder", domain="vision", task="classification",
        builder="zoo_vision.data.image_folder:load_image_folder", layout=LAYOUT, splits=SPLITS,
        description="Any class-per-folder image collection (torchvision's ImageFolder layout).",
    ),
    DatasetSpec(
        name="imagenet-val", domain="vision", task="classification",
        builder="zoo_vision.data.image_folder:load_imagenet_val", layout=IMAGENET_LAYOUT,
        homepage=IMAGENET_HOMEPAGE, splits=("val",), license="ImageNet terms of access (non-commercial research)",
        description="The 50,000 ILSVRC 2012 validation images, flat, with their labels file.",
    ),
)
