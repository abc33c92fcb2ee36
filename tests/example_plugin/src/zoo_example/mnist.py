"""The MNIST IDX files (LeCun's published format) read from a local folder; never downloaded."""

import gzip
from pathlib import Path

import numpy as np
import torch

from zoo.errors import DatasetNotFoundError

FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
LAYOUT = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"


def read_idx(path: Path) -> np.ndarray:
    """An IDX array: magic (0, 0, dtype 0x08 = uint8, ndim), big-endian sizes, then the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


class MNIST(torch.utils.data.Dataset):
    """Items are ``(image [1, 32, 32] float in [0, 1], label)``: 28x28 digits padded to LeNet's 32x32."""

    def __init__(self, root, split: str = "train"):
        root = Path(root)
        paths = []
        for name in FILES[split]:
            found = [p for p in (root / name, root / f"{name}.gz") if p.exists()]
            if not found:
                raise DatasetNotFoundError("example-mnist", str(root), LAYOUT, "https://yann.lecun.com/exdb/mnist/")
            paths.append(found[0])
        self.images = torch.from_numpy(read_idx(paths[0]).copy())
        self.labels = torch.from_numpy(read_idx(paths[1]).astype(np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        image = torch.nn.functional.pad(self.images[index].float() / 255.0, (2, 2, 2, 2))
        return image[None], int(self.labels[index])
