"""LRW-1000 (CAS-VSR-W1k; Yang et al., "LRW-1000: A Naturally-Distributed Large-Scale Benchmark for
Lip Reading in the Wild", FG 2019, arXiv:1810.06990) in its published layout:

* ``<root>/images/<FOLDER>/<N>.jpg``: the mouth crops of one utterance, one JPEG a frame, N from 1;
* ``<root>/info/{trn,val,tst}_1000.txt``: one sample a line, ``FOLDER,word,pinyin,start,end`` with
  the word's start and end in seconds (25 fps).

Classes are the sorted distinct pinyin of ``trn_1000.txt`` (1000 of them in the full set). A sample
is the 40-frame window centred on the word (frames past the end of the folder are zeros), resized to
96x96 grey, with a boundary vector marking the word's frames; ``video`` is ``[1, 40, 88, 88]``
after the LRW transforms (random crop + flip for train, centre crop otherwise).
"""

from __future__ import annotations

from pathlib import Path

from zoo import DatasetSpec
from zoo.errors import DatasetFormatError, DatasetNotFoundError

LAYOUT = "images/<FOLDER>/<N>.jpg and info/{trn,val,tst}_1000.txt (lines: FOLDER,word,pinyin,start_s,end_s)"
HOMEPAGE = "https://vipl.ict.ac.cn/resources/databases/201810/t20181017_32714.html"
SPLITS = {"train": "trn", "val": "val", "test": "tst"}
WINDOW, FPS, SIZE = 40, 25, 96

DATASETS = (
    DatasetSpec(
        name="lrw-1000", domain="lipreading", task="word-classification",
        builder="zoo_lipreading.data.lrw1000:LRW1000", layout=LAYOUT, homepage=HOMEPAGE, splits=tuple(SPLITS),
        license="research only (signed agreement with the VIPL group)",
        description="1000 Mandarin words (CAS-VSR-W1k), mouth crops per frame; 40-frame windows.",
    ),
)


def _read_index(path: Path) -> list[tuple[str, str, int, int]]:
    """(folder, pinyin, first frame, last frame) per line; frames count from 1 at 25 fps."""
    samples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(",")]
        try:
            folder, _, pinyin, start, end = parts
            first, last = int(float(start) * FPS) + 1, int(float(end) * FPS) + 1
        except ValueError:
            raise DatasetFormatError(f"{path}:{number}: expected 'FOLDER,word,pinyin,start_s,end_s', "
                                     f"got {line!r}") from None
        samples.append((folder, pinyin, first, last))
    return samples


class LRW1000:
    """``zoo.dataset("lrw-1000", root=..., split="train")``; see the module docstring for the layout."""

    def __init__(self, root, split: str = "train", *, transform=None):
        from zoo_lipreading.data.transforms import lrw_transform

        root = Path(root)
        if split not in SPLITS:
            raise DatasetFormatError(f"LRW-1000 split must be one of {tuple(SPLITS)}, got {split!r}")
        if not root.is_dir():
            raise DatasetNotFoundError("lrw-1000", str(root), LAYOUT, HOMEPAGE)
        index = root / "info" / f"{SPLITS[split]}_1000.txt"
        train_index = root / "info" / "trn_1000.txt"
        for path in (index, train_index):
            if not path.is_file():
                raise DatasetFormatError(f"LRW-1000 under {root}: {path.relative_to(root)} is missing; "
                                         f"expected {LAYOUT}")
        self.root, self.transform = root, transform or lrw_transform(split)
        self.labels = sorted({pinyin for _, pinyin, _, _ in _read_index(train_index)})
        classes = {pinyin: i for i, pinyin in enumerate(self.labels)}
        self.samples = _read_index(index)
        unknown = sorted({p for _, p, _, _ in self.samples if p not in classes})
        if unknown:
            raise DatasetFormatError(f"{index}: words {unknown[:5]} do not occur in trn_1000.txt")
        if not self.samples:
            raise DatasetFormatError(f"{index} lists no samples")
        self.targets = [classes[p] for _, p, _, _ in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def clip(self, i: int):
        """uint8 ``[40, 96, 96]`` crops and the float ``[40]`` boundary of sample ``i``."""
        import cv2
        import numpy as np
        import torch

        folder, _, first, last = self.samples[i]
        start = int((first + last) / 2 - WINDOW // 2)
        frames = np.zeros((WINDOW, SIZE, SIZE), dtype=np.uint8)
        found = 0
        for offset in range(WINDOW):
            path = self.root / "images" / folder / f"{start + offset}.jpg"
            if start + offset < 1 or not path.is_file():
                continue
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise DatasetFormatError(f"{path}: not a readable JPEG")
            frames[offset] = cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
            found += 1
        if not found:
            raise DatasetFormatError(f"{self.root / 'images' / folder}: no frame {start}..{start + WINDOW - 1} "
                                     f"(<N>.jpg) for the word at frames {first}-{last}")
        positions = torch.arange(start, start + WINDOW)
        return frames, ((positions >= first) & (positions <= last)).float()

    def __getitem__(self, i: int) -> dict:
        frames, boundary = self.clip(i)
        return {"video": self.transform(frames), "label": self.targets[i], "boundary": boundary}
