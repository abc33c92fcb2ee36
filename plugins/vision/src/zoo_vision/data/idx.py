"""MNIST and Fashion-MNIST read from their IDX files in a local folder.

LeCun et al., "Gradient-based learning applied to document recognition", Proc. IEEE 1998 (MNIST);
Xiao et al., "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms",
arXiv:1708.07747. The files are the published ``{train,t10k}-{images-idx3,labels-idx1}-ubyte``
(optionally ``.gz``), e.g. what Debian's ``dataset-fashion-mnist`` installs under
``/usr/share/datasets/fashion-mnist``. Items are ``(image, label)``: a float tensor ``[1, 28, 28]``
in [0, 1] and an int64 class index.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from zoo import DatasetSpec, Paper
from zoo.errors import DatasetFormatError, DatasetNotFoundError

SPLITS = ("train", "test")
LAYOUT = ("train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte "
          "(each optionally .gz) directly under root")
_PREFIX = {"train": "train", "test": "t10k"}
_MAGIC = {3: 2051, 1: 2049}  # unsigned-byte IDX files with 3 (images) or 1 (labels) dimensions

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
MNIST_CLASSES = tuple(str(d) for d in range(10))


def _find(root: Path, stem: str, name: str, homepage: str) -> Path:
    for candidate in (root / stem, root / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetNotFoundError(name, str(root), f"{stem}[.gz] ({LAYOUT})", homepage)


def read_idx(path: str | Path, dims: int):
    """The unsigned-byte array in an IDX file, checked against its header (magic and sizes)."""
    import numpy as np

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except OSError as error:  # e.g. a truncated or non-gzip ".gz"
        raise DatasetFormatError(f"{path}: not a readable IDX file ({error})") from None
    header = 4 + 4 * dims
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if magic != _MAGIC[dims] or len(data) < header:
        raise DatasetFormatError(f"{path}: not an unsigned-byte IDX file with {dims} dimension(s) "
                                 f"(magic {magic}, expected {_MAGIC[dims]})")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    if len(data) - header != int(np.prod(shape)):
        raise DatasetFormatError(f"{path}: header says {shape} ({int(np.prod(shape))} bytes of data), "
                                 f"the file holds {len(data) - header}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


class IdxDataset:
    """``(image [1, 28, 28] float in [0, 1], label)`` pairs from a pair of IDX files; ``transform``
    (optional) is applied to the image tensor."""

    def __init__(self, root, split: str = "train", *, name: str, homepage: str, classes: tuple[str, ...],
                 transform=None):
        import torch

        root = Path(root)
        if split not in SPLITS:
            raise DatasetFormatError(f"{name}: split must be one of {SPLITS}, got {split!r}")
        if not root.is_dir():
            raise DatasetNotFoundError(name, str(root), LAYOUT, homepage)
        images = read_idx(_find(root, f"{_PREFIX[split]}-images-idx3-ubyte", name, homepage), 3)
        labels = read_idx(_find(root, f"{_PREFIX[split]}-labels-idx1-ubyte", name, homepage), 1)
        if len(images) != len(labels):
            raise DatasetFormatError(f"{name} ({split}): {len(images)} images but {len(labels)} labels under {root}")
        if labels.size and int(labels.max()) >= len(classes):
            raise DatasetFormatError(f"{name} ({split}): label {int(labels.max())} outside 0..{len(classes) - 1}")
        self.images = torch.from_numpy(images.copy())
        self.labels = torch.from_numpy(labels.astype("int64"))
        self.classes = classes
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        image = self.images[index].unsqueeze(0).float().div_(255.0)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])


FASHION_HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist (Debian: apt install dataset-fashion-mnist)"
MNIST_HOMEPAGE = "http://yann.lecun.com/exdb/mnist/"


def load_fashion_mnist(root, split: str = "train", transform=None) -> IdxDataset:
    return IdxDataset(root, split, name="fashion-mnist", homepage=FASHION_HOMEPAGE, classes=FASHION_CLASSES,
                      transform=transform)


def load_mnist(root, split: str = "train", transform=None) -> IdxDataset:
    return IdxDataset(root, split, name="mnist", homepage=MNIST_HOMEPAGE, classes=MNIST_CLASSES, transform=transform)


DATASETS = (
    DatasetSpec(
        name="fashion-mnist", domain="vision", task="classification", builder="zoo_vision.data.idx:load_fashion_mnist",
        layout=LAYOUT, homepage=FASHION_HOMEPAGE, splits=SPLITS, license="MIT",
        paper=Paper("Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms",
                    arxiv="1708.07747"),
        description="Zalando's 70,000 28x28 grey article images in 10 classes, from the IDX files.",
    ),
    DatasetSpec(
        name="mnist", domain="vision", task="classification", builder="zoo_vision.data.idx:load_mnist",
        layout=LAYOUT, homepage=MNIST_HOMEPAGE, splits=SPLITS, license="CC BY-SA 3.0",
        paper=Paper("Gradient-based learning applied to document recognition", venue="Proc. IEEE 1998"),
        description="70,000 28x28 handwritten digits, from the IDX files.",
    ),
)
