"""A tiny real COCO-format detection set: the coins of scikit-image's ``coins`` photograph.

``data.coins()`` (303 x 384, grey, 24 coins on a dark background) is scikit-image's own bundled
image; the boxes come from the watershed segmentation of scikit-image's "region-based segmentation"
example (Sobel elevation map, dark and bright markers), so every box is a real coin. Used by the
tests and the docs' demo to train, evaluate (``CocoMetric``) and explain a detector in seconds,
with no download.
"""

from __future__ import annotations

import json
from pathlib import Path

CLASSES = ("coin",)


def coin_boxes(image) -> list[list[float]]:
    """``[x, y, w, h]`` (COCO) of each coin of the greyscale ``image``, left to right, top to bottom."""
    import numpy as np
    from scipy import ndimage
    from skimage import filters, morphology, segmentation

    markers = np.zeros_like(image)
    markers[image < 30] = 1  # background
    markers[image > 150] = 2  # coin
    mask = ndimage.binary_fill_holes(segmentation.watershed(filters.sobel(image), markers) == 2)
    labels, _ = ndimage.label(morphology.remove_small_objects(mask, max_size=200))
    boxes = []
    for rows, cols in ndimage.find_objects(labels):
        boxes.append([float(cols.start), float(rows.start), float(cols.stop - cols.start),
                      float(rows.stop - rows.start)])
    return sorted(boxes, key=lambda b: (round(b[1] / 60), b[0]))


def write_coins_coco(root: str | Path, copies: int = 2) -> Path:
    """Write ``root/images/coins_<i>.png`` (``copies`` RGB copies, the odd ones mirrored) and
    ``root/annotations.json`` (COCO, one category ``coin``); returns ``root``."""
    import numpy as np
    from PIL import Image
    from skimage import data

    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    grey = data.coins()
    height, width = grey.shape
    boxes = coin_boxes(grey)
    images, annotations = [], []
    for index in range(copies):
        mirrored = index % 2 == 1
        picture = grey[:, ::-1] if mirrored else grey
        name = f"coins_{index}.png"
        Image.fromarray(np.stack([picture] * 3, axis=-1)).save(root / "images" / name)
        images.append({"id": index + 1, "file_name": name, "height": height, "width": width})
        for x, y, w, h in boxes:
            x = width - x - w if mirrored else x
            annotations.append({"id": len(annotations) + 1, "image_id": index + 1, "category_id": 1,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": i + 1, "name": name} for i, name in enumerate(CLASSES)]}
    (root / "annotations.json").write_text(json.dumps(coco))
    return root
