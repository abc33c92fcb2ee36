"""The LRW-1000 reader on generated files in its published layout (images/<FOLDER>/<N>.jpg + info/*.txt)."""

import cv2
import numpy as np
import pytest

import zoo
from zoo.errors import DatasetFormatError
from zoo_lipreading.data.lrw1000 import LRW1000


@pytest.fixture
def root(tmp_path):
    for folder, frames, level in (("a1b2", 50, 40), ("c3d4", 20, 200)):
        images = tmp_path / "images" / folder
        images.mkdir(parents=True)
        for n in range(1, frames + 1):
            cv2.imwrite(str(images / f"{n}.jpg"), np.full((40, 50), level + n, dtype=np.uint8))
    info = tmp_path / "info"
    info.mkdir()
    (info / "trn_1000.txt").write_text("a1b2,你好,ni hao,0.40,0.96\nc3d4,北京,bei jing,0.12,0.52\n", encoding="utf-8")
    (info / "tst_1000.txt").write_text("c3d4,北京,bei jing,0.12,0.52\n", encoding="utf-8")
    return tmp_path


def test_windows_labels_and_boundaries(root):
    data = zoo.dataset("lrw-1000", root=root, split="train")
    assert data.labels == ["bei jing", "ni hao"] and data.targets == [1, 0] and len(data) == 2
    frames, boundary = data.clip(0)  # word at frames 11..25, window centred: frames -2..37 -> 1..37 exist
    assert frames.shape == (40, 96, 96) and frames.dtype == np.uint8
    start = int((11 + 25) / 2 - 20)
    assert boundary.tolist() == [1.0 if 11 <= start + k <= 25 else 0.0 for k in range(40)]
    assert abs(int(frames[20, 48, 48]) - (40 + start + 20)) <= 2  # the frame read is the one asked for
    assert not frames[:3].any()  # frames before 1.jpg are zeros
    item = data[1]
    assert item["video"].shape == (1, 40, 88, 88) and item["boundary"].sum() == 11
    frames, _ = LRW1000(root, "test").clip(0)
    assert not frames[-1].any()  # past the last jpg: zeros


def test_errors(root):
    with pytest.raises(DatasetFormatError, match="val_1000.txt is missing"):
        LRW1000(root, "val")
    (root / "info" / "val_1000.txt").write_text("a1b2,x,unknown word,0.1,0.5\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match="do not occur in trn_1000.txt"):
        LRW1000(root, "val")
    (root / "info" / "val_1000.txt").write_text("a1b2;0.1\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match="FOLDER,word,pinyin,start_s,end_s"):
        LRW1000(root, "val")
    (root / "info" / "val_1000.txt").write_text("zz99,你好,ni hao,0.4,0.9\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match="no frame"):
        LRW1000(root, "val")[0]
