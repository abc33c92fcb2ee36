"""The Medical Segmentation Decathlon layout, read through MONAI.

Antonelli et al., "The Medical Segmentation Decathlon", Nature Communications 13, 2022,
arXiv:2106.05735; data at http://medicaldecathlon.com (never downloaded here).

``root`` is one task folder (``Task09_Spleen/``) holding ``dataset.json``, ``imagesTr/*.nii.gz``,
``labelsTr/*.nii.gz`` and ``imagesTs/*.nii.gz``; any dataset laid out the same way works. The
``train``/``validation`` splits partition ``dataset.json``'s ``training`` list exactly as MONAI's
``DecathlonDataset`` does (20% validation, seed 0); ``test`` is its unlabelled ``test`` list.

Each item is a dict ``{"image": [C, X, Y, Z] MetaTensor, "label": [1, X, Y, Z]}`` after the
task's default preprocessing (:data:`TASK_PREPROCESSING`): channel-first, RAS orientation,
resampling to the task's spacing, and a CT window scaled to [0, 1] or a z-score of the non-zero
voxels of each MR channel (nnU-Net's MR normalisation).
"""

from __future__ import annotations

import json
from pathlib import Path

from zoo import DatasetSpec, Paper
from zoo.errors import ConfigError, DatasetFormatError, DatasetNotFoundError

NAME = "medical-decathlon"
HOMEPAGE = "http://medicaldecathlon.com"
LAYOUT = "TaskXX_Name/dataset.json, imagesTr/*.nii.gz, labelsTr/*.nii.gz, imagesTs/*.nii.gz"
SPLITS = ("train", "validation", "test")
PAPER = Paper(title="The Medical Segmentation Decathlon", arxiv="2106.05735", venue="Nature Communications 2022",
              url=HOMEPAGE)
DATASETS = (
    DatasetSpec(
        name=NAME, domain="medical", task="segmentation", builder="zoo_medical.data.decathlon:load_decathlon",
        layout=LAYOUT, homepage=HOMEPAGE, splits=SPLITS, paper=PAPER, license="CC-BY-SA 4.0",
        description="Any Medical Segmentation Decathlon task (or a dataset in its layout) through MONAI's "
                    "loaders, with the task's default preprocessing.",
    ),
)

# Target spacing (mm) and intensity rule per task. CT windows: MONAI's spleen tutorial for the
# spleen, the abdominal soft-tissue window of MONAI's BTCV tutorial for the other abdominal CT
# tasks, a lung window for the lung; MR: per-channel z-score over the non-zero (body) voxels.
TASK_PREPROCESSING = {
    "BrainTumour": {"pixdim": (1.0, 1.0, 1.0), "ct_window": None},
    "Heart": {"pixdim": (1.25, 1.25, 1.37), "ct_window": None},
    "Liver": {"pixdim": (1.5, 1.5, 2.0), "ct_window": (-175.0, 250.0)},
    "Hippocampus": {"pixdim": (1.0, 1.0, 1.0), "ct_window": None},
    "Prostate": {"pixdim": (0.625, 0.625, 3.6), "ct_window": None},
    "Lung": {"pixdim": (1.0, 1.0, 1.5), "ct_window": (-1000.0, 400.0)},
    "Pancreas": {"pixdim": (1.5, 1.5, 2.0), "ct_window": (-175.0, 250.0)},
    "HepaticVessel": {"pixdim": (1.5, 1.5, 2.0), "ct_window": (-175.0, 250.0)},
    "Spleen": {"pixdim": (1.5, 1.5, 2.0), "ct_window": (-57.0, 164.0)},
    "Colon": {"pixdim": (1.5, 1.5, 2.0), "ct_window": (-175.0, 250.0)},
}


def _missing(root: Path, what: str) -> DatasetNotFoundError:
    return DatasetNotFoundError(NAME, str(root), f"{LAYOUT} ({what})", HOMEPAGE)


def read_datalist(root: str | Path, split: str = "train", val_frac: float = 0.2, seed: int = 0) -> list[dict]:
    """The split's file list from ``dataset.json`` (absolute paths), checking every file exists."""
    from monai.data import load_decathlon_datalist, partition_dataset

    root = Path(root).expanduser()
    if split not in SPLITS:
        raise ConfigError(f"{NAME}: split must be one of {SPLITS}, got {split!r}")
    manifest = root / "dataset.json"
    if not manifest.is_file():
        raise _missing(root, "no dataset.json")
    key = "test" if split == "test" else "training"
    read_manifest(root)
    try:
        items = load_decathlon_datalist(str(manifest), is_segmentation=True, data_list_key=key,
                                        base_dir=str(root))
    except (ValueError, KeyError, TypeError) as error:  # MONAI's errors for a missing key or malformed items
        raise DatasetFormatError(f"{manifest}: no usable {key!r} list of files ({error})") from None
    if split != "test":
        parts = partition_dataset(items, ratios=[1 - val_frac, val_frac], shuffle=True, seed=seed)
        items = parts[0] if split == "train" else parts[1]
    for item in items:
        for field in ("image", "label"):
            if field in item and not Path(item[field]).is_file():
                raise _missing(root, f"{item[field]} listed in dataset.json is missing")
    return items


def read_manifest(root: Path) -> dict:
    """``dataset.json`` as a dict; a file that is there but is not the Decathlon's JSON object says so."""
    manifest = root / "dataset.json"
    try:
        content = json.loads(manifest.read_text())
    except UnicodeDecodeError as error:
        raise DatasetFormatError(f"{manifest} is not a text file ({error})") from None
    except ValueError as error:
        raise DatasetFormatError(f"{manifest} is not valid JSON ({error})") from None
    if not isinstance(content, dict):
        raise DatasetFormatError(f"{manifest} must hold a JSON object with 'training' and 'test' lists, "
                                 f"got a {type(content).__name__}")
    return content


def task_preprocessing(task: str | None, modality: dict | None = None) -> dict:
    """The default preprocessing of a Decathlon task name ("Spleen", "Task09_Spleen"), or by modality."""
    for name, rule in TASK_PREPROCESSING.items():
        if task and name.lower() in task.lower().replace("_", ""):
            return dict(rule, task=name)
    is_ct = bool(modality) and all(str(v).upper() == "CT" for v in modality.values())
    return {"pixdim": None, "ct_window": (-175.0, 250.0) if is_ct else None, "task": task}


def default_transforms(rule: dict, with_label: bool = True):
    """MONAI transforms implementing a :data:`TASK_PREPROCESSING` rule (deterministic: no augmentation)."""
    from monai import transforms as T

    keys = ["image", "label"] if with_label else ["image"]
    # RAS labels given explicitly: leaving them to MONAI's default warns on every construction that
    # the default will change (to the image's own space).
    orientation = T.Orientationd(keys, axcodes="RAS", labels=(("L", "R"), ("P", "A"), ("I", "S")))
    chain = [T.LoadImaged(keys, image_only=True), T.EnsureChannelFirstd(keys), orientation]
    if rule["pixdim"] is not None:
        modes = ("bilinear", "nearest") if with_label else ("bilinear",)
        chain.append(T.Spacingd(keys, pixdim=rule["pixdim"], mode=modes))
    if rule["ct_window"] is not None:
        low, high = rule["ct_window"]
        chain.append(T.ScaleIntensityRanged("image", a_min=low, a_max=high, b_min=0.0, b_max=1.0, clip=True))
    else:
        chain.append(T.NormalizeIntensityd("image", nonzero=True, channel_wise=True))
    chain.append(T.EnsureTyped(keys))
    return T.Compose(chain)


def load_decathlon(root: str | Path, split: str = "train", *, task: str | None = None, transform=None,
                   cache: bool = False, val_frac: float = 0.2, seed: int = 0):
    """A MONAI dataset over one Decathlon task folder (see the module docstring).

    ``task`` overrides the task name read from ``dataset.json`` (it picks the preprocessing);
    ``transform`` replaces the default preprocessing; ``cache=True`` keeps preprocessed items in
    memory (MONAI ``CacheDataset``).
    """
    from monai.data import CacheDataset, Dataset

    root = Path(root).expanduser()
    if not root.is_dir():
        raise _missing(root, "the folder does not exist")
    items = read_datalist(root, split, val_frac=val_frac, seed=seed)
    manifest = read_manifest(root)
    rule = task_preprocessing(task or manifest.get("name") or root.name, manifest.get("modality"))
    transform = transform or default_transforms(rule, with_label=split != "test")
    dataset = CacheDataset(items, transform, progress=False) if cache else Dataset(items, transform)
    dataset.labels = {int(k): v for k, v in manifest.get("labels", {}).items()}
    dataset.preprocessing = rule
    return dataset
