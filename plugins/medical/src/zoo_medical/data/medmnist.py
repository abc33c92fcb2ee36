"""MedMNIST v2 / MedMNIST+ read from the published ``.npz`` files in a local folder.

Yang et al., "MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical image
classification", Scientific Data 10, 2023, arXiv:2110.14795; files at https://medmnist.com
(Zenodo). Nothing is downloaded: put ``pathmnist.npz`` (28 px) or ``pathmnist_224.npz``
(MedMNIST+ sizes 64/128/224, 3-D: 64) under ``root``.

Each file holds ``{train,val,test}_images`` (uint8; ``[N, H, W]``, ``[N, H, W, 3]`` or
``[N, D, H, W]``) and ``{train,val,test}_labels`` (``[N, 1]``, or ``[N, 14]`` multi-label for
ChestMNIST). Items are ``(image, label)``: a float tensor in [0, 1], ``[C, H, W]`` or
``[1, D, H, W]``, and an int64 label vector (the class index, or the 14 binary labels).
"""

from __future__ import annotations

from pathlib import Path

from zoo import DatasetSpec, Paper
from zoo.errors import ConfigError, DatasetFormatError, DatasetNotFoundError

NAME = "medmnist"
HOMEPAGE = "https://medmnist.com (files: https://zenodo.org/records/10519652)"
SPLITS = ("train", "val", "test")
LAYOUT = ("FLAG.npz or FLAG_SIZE.npz (e.g. pathmnist.npz, organmnist3d_64.npz) holding "
          "{train,val,test}_{images,labels}")
PAPER = Paper(title="MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical image "
                    "classification", arxiv="2110.14795", venue="Scientific Data 2023", url="https://medmnist.com")
DATASETS = (
    DatasetSpec(
        name=NAME, domain="medical", task="classification", builder="zoo_medical.data.medmnist:load_medmnist",
        layout=LAYOUT, homepage=HOMEPAGE, splits=SPLITS, paper=PAPER, license="CC-BY 4.0 (most subsets)",
        description="MedMNIST v2 / MedMNIST+ 2-D and 3-D subsets read from their published .npz files.",
    ),
)

# flag -> (task, channels, classes, spatial dims), from the MedMNIST v2 paper's dataset table.
FLAGS = {
    "pathmnist": ("multi-class", 3, 9, 2),
    "chestmnist": ("multi-label", 1, 14, 2),
    "dermamnist": ("multi-class", 3, 7, 2),
    "octmnist": ("multi-class", 1, 4, 2),
    "pneumoniamnist": ("binary-class", 1, 2, 2),
    "retinamnist": ("ordinal-regression", 3, 5, 2),
    "breastmnist": ("binary-class", 1, 2, 2),
    "bloodmnist": ("multi-class", 3, 8, 2),
    "tissuemnist": ("multi-class", 1, 8, 2),
    "organamnist": ("multi-class", 1, 11, 2),
    "organcmnist": ("multi-class", 1, 11, 2),
    "organsmnist": ("multi-class", 1, 11, 2),
    "organmnist3d": ("multi-class", 1, 11, 3),
    "nodulemnist3d": ("binary-class", 1, 2, 3),
    "adrenalmnist3d": ("binary-class", 1, 2, 3),
    "fracturemnist3d": ("multi-class", 1, 3, 3),
    "vesselmnist3d": ("binary-class", 1, 2, 3),
    "synapsemnist3d": ("binary-class", 1, 2, 3),
}


def _find_file(root: Path, flag: str | None, size: int | None) -> tuple[Path, str]:
    if not root.is_dir():
        raise DatasetNotFoundError(NAME, str(root), LAYOUT, HOMEPAGE)
    if flag is None:
        present = sorted(p for p in root.glob("*.npz") if p.name.split("_")[0].removesuffix(".npz") in FLAGS)
        if len(present) != 1:
            found = [p.name for p in present] or "none"
            raise ConfigError(f"{NAME}: pass flag=... (one of {sorted(FLAGS)}); MedMNIST files under "
                              f"{str(root)!r}: {found}")
        path = present[0]
        return path, path.name.split("_")[0].removesuffix(".npz")
    if flag not in FLAGS:
        raise ConfigError(f"{NAME}: unknown flag {flag!r}; known flags: {sorted(FLAGS)}")
    filename = f"{flag}.npz" if size in (None, 28) else f"{flag}_{size}.npz"
    path = root / filename
    if not path.is_file():
        raise DatasetNotFoundError(NAME, str(root), f"{filename} ({LAYOUT})", HOMEPAGE)
    return path, flag


def _read_split(path: Path, split: str):
    """The split's images and labels from a MedMNIST ``.npz`` (never unpickled)."""
    import zipfile

    import numpy as np

    keys = {f"{split}_images", f"{split}_labels"}
    try:
        archive = np.load(path, allow_pickle=False)
        if not hasattr(archive, "files"):
            raise DatasetFormatError(f"{path}: a MedMNIST file is an .npz archive, found a single array")
        with archive:
            if not keys <= set(archive.files):
                raise DatasetFormatError(f"{path}: MedMNIST files hold arrays {sorted(keys)}, "
                                         f"found {sorted(archive.files)}")
            return archive[f"{split}_images"], archive[f"{split}_labels"]
    except DatasetFormatError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:  # truncated, not a zip, pickled
        raise DatasetFormatError(f"{path} is not a readable MedMNIST .npz archive ({error}); "
                                 "download it again") from None


class MedMNIST:
    """One split of one MedMNIST subset, held in memory (the files are small); a map-style dataset."""

    def __init__(self, path: Path, flag: str, split: str, transform=None):

        task, channels, classes, dims = FLAGS[flag]
        images, labels = _read_split(path, split)
        rank = 1 + dims + (1 if channels == 3 else 0)
        if images.ndim != rank or len(images) != len(labels):
            raise DatasetFormatError(f"{path}: {split}_images of {flag} must have rank {rank} and one label "
                                     f"per image, got images {list(images.shape)} and {len(labels)} labels")
        self.flag, self.task, self.num_classes, self.split = flag, task, classes, split
        self.in_channels, self.spatial_dims = channels, dims
        self.images, self.labels, self.transform = images, labels.reshape(len(labels), -1), transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        import torch

        image = torch.from_numpy(self.images[index]).float().div_(255.0)
        image = image.permute(2, 0, 1) if self.in_channels == 3 else image.unsqueeze(0)
        if self.transform is not None:
            image = self.transform(image)
        return image, torch.from_numpy(self.labels[index].astype("int64"))


def load_medmnist(root: str | Path, split: str = "train", *, flag: str | None = None, size: int | None = None,
                  transform=None) -> MedMNIST:
    """Read ``<flag>[_<size>].npz`` under ``root``; ``flag`` may be omitted when only one subset is there."""
    if split not in SPLITS:
        raise ConfigError(f"{NAME}: split must be one of {SPLITS}, got {split!r}")
    path, flag = _find_file(Path(root).expanduser(), flag, size)
    return MedMNIST(path, flag, split, transform)
