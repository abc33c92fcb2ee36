"""LRW (Lip Reading in the Wild; Chung & Zisserman, ACCV 2016), in the two layouts users have.

* mpc001's pre-processed mouth crops: ``<root>/<WORD>/<split>/<WORD>_00001.npz``, key ``data``
  uint8 ``[29, 96, 96]``.
* the raw release: ``<root>/lipread_mp4/<WORD>/<split>/<WORD>_00001.mp4`` (256x256 face-centred
  clips, 29 frames) with ``<WORD>_00001.txt`` beside it, whose ``Duration: 0.53 seconds`` line gives the
  word boundary. Mouth crops are cut at LRW's fixed mouth position, or with ``landmarks=`` (e.g.
  :class:`zoo_lipreading.video.FaceMesh`) aligned as mpc001 does.

Classes are the 500 words in the order of ``500WordsSortedList.txt`` (shipped; ``labels=`` to
change). An item is a dict: ``video`` float ``[1, 29, 88, 88]`` (transformed), ``label`` int and,
with ``boundary=True``, ``boundary`` float ``[29]``.
"""

from __future__ import annotations

from pathlib import Path

from zoo import DatasetSpec
from zoo.errors import DatasetFormatError, DatasetNotFoundError

LAYOUT = ("<WORD>/{train,val,test}/<WORD>_NNNNN.npz (mpc001 mouth crops, key 'data' [29, 96, 96] uint8) or "
          "lipread_mp4/<WORD>/{train,val,test}/<WORD>_NNNNN.mp4 with <WORD>_NNNNN.txt (the raw LRW release)")
HOMEPAGE = "https://www.robots.ox.ac.uk/~vgg/data/lip_reading/lrw1.html"
SPLITS = ("train", "val", "test")
FPS = 25
# Where the mouth sits in LRW's face-centred 256x256 frames (rows 115-211, columns 80-176).
RAW_MOUTH = (115, 80)

DATASETS = (
    DatasetSpec(
        name="lrw", domain="lipreading", task="word-classification", builder="zoo_lipreading.data.lrw:LRW",
        layout=LAYOUT, homepage=HOMEPAGE, splits=SPLITS, license="BBC research licence (non-commercial)",
        description="500 English words spoken in BBC clips, 29 frames each; mouth crops for word classifiers.",
    ),
)


def read_duration(path: Path) -> float:
    """The word's duration in seconds from an LRW ``.txt`` (its ``Duration: 0.53 seconds`` line)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise DatasetFormatError(f"{path}: cannot read the word's annotation ({error})") from None
    for line in lines:
        if line.startswith("Duration:"):
            try:
                return float(line.split()[1])
            except (IndexError, ValueError):
                break
    raise DatasetFormatError(f"{path}: no 'Duration: <seconds> seconds' line (the LRW annotation format)")


def boundary_vector(duration: float, frames: int = 29):
    """1 on the frames of the word, centred in the clip, as mpc001 marks it; float ``[frames]``."""
    import torch

    half = int(duration / 2.0 * FPS)
    middle = (frames - 1) // 2
    vector = torch.zeros(frames)
    vector[max(0, middle - half - 1):min(middle + half + 1, frames)] = 1.0
    return vector


class LRW:
    """``zoo.dataset("lrw", root=..., split="train")``; see the module docstring for the layouts.

    ``transform`` maps uint8 ``[T, 96, 96]`` to the model input (default: :func:`lrw_transform` of
    the split: random crop 88 + flip for train, centre crop 88 otherwise, then normalisation).
    ``annotations``: where the raw release's ``.txt`` files are when they are not beside the clips
    (mpc001 reads the boundaries of its ``.npz`` crops from the raw ``lipread_mp4`` folder).
    """

    def __init__(self, root, split: str = "train", *, transform=None, boundary: bool = False,
                 labels: list[str] | None = None, landmarks=None, annotations=None):
        from zoo_lipreading.data.transforms import lrw_transform
        from zoo_lipreading.video import lrw_words

        root = Path(root)
        if split not in SPLITS:
            raise DatasetFormatError(f"LRW split must be one of {SPLITS}, got {split!r}")
        if not root.is_dir():
            raise DatasetNotFoundError("lrw", str(root), LAYOUT, HOMEPAGE)
        self.labels = list(labels or lrw_words())
        self.split, self.boundary, self.landmarks = split, boundary, landmarks
        self.annotations = Path(annotations) if annotations is not None else None
        self.transform = transform or lrw_transform(split)
        index = {word: i for i, word in enumerate(self.labels)}
        self.files = sorted(root.glob(f"*/{split}/*.npz"))
        if not self.files:
            raw = root / "lipread_mp4" if (root / "lipread_mp4").is_dir() else root
            self.files = sorted(raw.glob(f"*/{split}/*.mp4"))
        if not self.files:
            raise DatasetFormatError(f"no LRW {split} clips under {root}: expected {LAYOUT}")
        self.files = [f for f in self.files if f.parts[-3] in index]
        if not self.files:
            raise DatasetFormatError(f"LRW under {root}: no word folder is one of the {len(self.labels)} labels")
        self.targets = [index[f.parts[-3]] for f in self.files]

    def __len__(self) -> int:
        return len(self.files)

    def clip(self, i: int):
        """The uint8 mouth crops ``[T, 96, 96]`` of item ``i``, before the transform."""
        import numpy as np

        path = self.files[i]
        if path.suffix == ".npz":
            try:
                with np.load(path) as archive:
                    data = archive["data"]
            except (OSError, ValueError, KeyError) as error:
                raise DatasetFormatError(f"{path}: not an mpc001 crop archive with a 'data' array ({error})") from None
            if data.ndim != 3 or data.shape[1:] != (96, 96):
                raise DatasetFormatError(f"{path}: 'data' must be [T, 96, 96] mouth crops, got {list(data.shape)}")
            return data.astype(np.uint8, copy=False)
        from zoo_lipreading.video import ROI_SIZE, decode_video, mouth_rois

        frames, _ = decode_video(path)
        if self.landmarks is not None:
            return mouth_rois(frames, self.landmarks(frames))
        grey = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        top, left = RAW_MOUTH
        crop = grey[:, top:top + ROI_SIZE, left:left + ROI_SIZE]
        if crop.shape[1:] != (ROI_SIZE, ROI_SIZE):
            raise DatasetFormatError(f"{path}: frames of {list(frames.shape[1:3])}; raw LRW clips are 256x256")
        return np.round(crop).astype(np.uint8)

    def __getitem__(self, i: int) -> dict:
        data = self.clip(i)
        item = {"video": self.transform(data), "label": self.targets[i]}
        if self.boundary:
            item["boundary"] = boundary_vector(read_duration(self.annotation(i)), len(data))
        return item

    def annotation(self, i: int) -> Path:
        """The LRW ``.txt`` of item ``i``: beside the clip, or under ``annotations/<WORD>/<split>/``."""
        path = self.files[i]
        if self.annotations is not None:
            return self.annotations.joinpath(*path.parts[-3:-1], path.stem + ".txt")
        return path.with_suffix(".txt")
