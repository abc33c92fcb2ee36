"""mri-slices-yolo and mri-slices-coco on tiny fixtures written in their real formats."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from zoo_medical.data.mri_slices import collate, load_coco_slices, load_yolo_slices

BOXES = {"s0": [(1, 0.5, 0.25, 0.25, 0.125)], "s1": [(0, 0.25, 0.5, 0.5, 0.5), (1, 0.75, 0.75, 0.125, 0.25)]}


def slice_image(seed):
    rng = np.random.default_rng(seed)
    return (rng.random((64, 48)) * 255).astype(np.uint8)


def write_yolo(root, plane="axial", split="train"):
    base = root / f"{plane}_t1wce_2_class"
    (base / "images" / split).mkdir(parents=True)
    (base / "labels" / split).mkdir(parents=True)
    for seed, (stem, boxes) in enumerate(BOXES.items()):
        Image.fromarray(slice_image(seed)).save(base / "images" / split / f"{stem}.jpg" if seed == 0 else
                                                base / "images" / split / f"{stem}.png")
        (base / "labels" / split / f"{stem}.txt").write_text("".join(" ".join(map(str, b)) + "\n" for b in boxes))
    np.save(base / "images" / split / "s2.npy", slice_image(2).astype(np.float32) * 3)  # no label file: no box
    return base


def test_yolo_slices_read_resize_and_collate(tmp_path):
    write_yolo(tmp_path)
    data = zoo.dataset("mri-slices-yolo", root=tmp_path, split="train", plane="axial", image_size=32)
    assert len(data) == 3 and data.names == ("negative", "positive") and data.num_classes == 2
    image, boxes = data[1]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32 and 0 <= image.min() and image.max() <= 1
    assert boxes.tolist() == [list(b) for b in BOXES["s1"]]
    png = torch.from_numpy(slice_image(1)).float() / 255
    expected = torch.nn.functional.interpolate(png[None, None], size=(32, 32), mode="bilinear")[0, 0]
    assert torch.allclose(image[0], expected, atol=1e-5) and torch.equal(image[0], image[2])
    npy, none = data[2]
    assert none.shape == (0, 5) and 0 <= npy.min() < 0.2 and 0.8 < npy.max() <= 1  # min-max scaled, resized
    images, targets = collate([data[0], data[1], data[2]])
    assert images.shape == (3, 3, 32, 32) and targets.shape == (3, 6)
    assert targets[:, 0].tolist() == [0, 1, 1] and targets[0, 1:].tolist() == list(BOXES["s0"][0])
    # the plane folder itself is also a valid root
    assert len(load_yolo_slices(tmp_path / "axial_t1wce_2_class", image_size=32)) == 3


def test_yolo_slices_report_problems(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="labels/SPLIT"):
        zoo.dataset("mri-slices-yolo", root=tmp_path / "nowhere")
    base = write_yolo(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="images/test/"):
        load_yolo_slices(tmp_path, "test", plane="axial")
    with pytest.raises(ConfigError, match="plane must be one of"):
        load_yolo_slices(tmp_path, plane="oblique")
    with pytest.raises(ConfigError, match="split"):
        load_yolo_slices(tmp_path, "training")
    write_yolo(tmp_path, "coronal")
    with pytest.raises(ConfigError, match="several planes"):
        load_yolo_slices(tmp_path)
    label = base / "labels" / "train" / "s0.txt"
    for text, message in (("1 0.5 0.5 0.2\n", "'class cx cy w h'"), ("2 0.5 0.5 0.2 0.2\n", "class 2 outside"),
                          ("0 0.5 0.5 1.5 0.2\n", "not normalised"), ("a b c d e\n", "'class cx cy w h'")):
        label.write_text(text)
        with pytest.raises(DatasetFormatError, match=message):
            load_yolo_slices(tmp_path, plane="axial")
    label.write_text("1 0.5 0.25 0.25 0.125\n")
    (base / "images" / "train" / "s1.png").write_bytes(b"not a png")
    with pytest.raises(DatasetFormatError, match="s1.png is not a readable image"):
        load_yolo_slices(tmp_path, plane="axial")[1]


def write_coco(root, split="train"):
    (root / "images" / split).mkdir(parents=True)
    (root / "annotations").mkdir()
    images, annotations = [], []
    for index, (stem, boxes) in enumerate(BOXES.items()):
        Image.fromarray(slice_image(index)).save(root / "images" / split / f"{stem}.png")
        images.append({"id": 10 + index, "file_name": f"{stem}.png", "width": 48, "height": 64})
        for cls, cx, cy, w, h in boxes:
            annotations.append({"id": len(annotations), "image_id": 10 + index, "category_id": 7 + cls,
                                "bbox": [(cx - w / 2) * 48, (cy - h / 2) * 64, w * 48, h * 64]})
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": 8, "name": "positive"}, {"id": 7, "name": "negative"}]}
    path = root / "annotations" / f"instances_{split}.json"
    path.write_text(json.dumps(coco))
    return path, coco


def test_coco_slices_match_the_yolo_reading(tmp_path):
    write_coco(tmp_path / "axial")
    data = zoo.dataset("mri-slices-coco", root=tmp_path, plane="axial", image_size=32)
    assert data.names == ("negative", "positive") and len(data) == 2
    for index, boxes in enumerate(BOXES.values()):
        assert torch.allclose(data[index][1], torch.tensor(boxes), atol=1e-6)


def test_coco_slices_report_problems(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="instances_SPLIT.json"):
        zoo.dataset("mri-slices-coco", root=tmp_path / "nowhere")
    path, coco = write_coco(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="instances_test.json"):
        load_coco_slices(tmp_path, "test")
    path.write_text("{")
    with pytest.raises(DatasetFormatError, match="not valid JSON"):
        load_coco_slices(tmp_path)
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(DatasetFormatError, match="'categories' lists"):
        load_coco_slices(tmp_path)
    bad = json.loads(json.dumps(coco))
    bad["annotations"][0]["bbox"] = [40, 0, 20, 10]
    path.write_text(json.dumps(bad))
    with pytest.raises(DatasetFormatError, match="outside its 48x64 image"):
        load_coco_slices(tmp_path)
    bad = json.loads(json.dumps(coco))
    bad["annotations"][0]["category_id"] = 99
    path.write_text(json.dumps(bad))
    with pytest.raises(DatasetFormatError, match="unknown image or category"):
        load_coco_slices(tmp_path)
    bad = json.loads(json.dumps(coco))
    del bad["images"][0]["width"]
    path.write_text(json.dumps(bad))
    with pytest.raises(DatasetFormatError, match="malformed COCO entry"):
        load_coco_slices(tmp_path)
    bad = json.loads(json.dumps(coco))
    bad["images"][0]["file_name"] = "missing.png"
    path.write_text(json.dumps(bad))
    with pytest.raises(DatasetFormatError, match="'missing.png' is not under"):
        load_coco_slices(tmp_path)
