"""transforms_for: the weights' eval preprocessing in torch, and the ImageNet class names."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.errors import InputShapeError
from zoo_vision.imagenet_classes import NAMES, SYNSETS
from zoo_vision.transforms import ImageTransform, transforms_for


def test_follows_the_pinned_weights():
    prep = transforms_for("pvt-v2-b0")
    assert (prep.size, prep.crop_pct, prep.resize_to, prep.interpolation) == (224, 0.9, 248, "bicubic")
    assert transforms_for("convit-ti.in1k").resize_to == 256
    assert prep.classes == NAMES and len(NAMES) == 1000 and NAMES[281] == "tabby" and SYNSETS[0] == "n01440764"


def test_models_without_weights_get_imagenet_statistics_at_their_size():
    prep = transforms_for("convit-s")
    assert (prep.size, prep.crop_pct) == (224, 0.875)
    assert torch.allclose(prep.std.flatten(), torch.tensor([0.229, 0.224, 0.225]))


def test_resize_crop_normalise():
    image = torch.zeros(3, 300, 450, dtype=torch.uint8)
    image[:, :, 225:] = 255  # right half white
    out = ImageTransform(224, crop_pct=0.875, interpolation="bilinear", mean=(0.5,) * 3, std=(0.5,) * 3)(image)
    assert out.shape == (3, 224, 224)
    # shorter side to 256, width 384, centre crop 224: the left 112 columns black (-1), right white (+1)
    assert torch.allclose(out[:, :, :100], torch.tensor(-1.0)) and torch.allclose(out[:, :, 124:], torch.tensor(1.0))


def test_arrays_batches_and_grey_images():
    prep = transforms_for("pvt-v2-b0")
    photo = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    single = prep(photo)
    batch = prep(torch.from_numpy(photo).permute(2, 0, 1).unsqueeze(0).repeat(2, 1, 1, 1))
    assert single.shape == (3, 224, 224) and batch.shape == (2, 3, 224, 224)
    assert torch.allclose(batch[1], single, atol=1e-6)
    assert prep(np.zeros((50, 60), dtype=np.uint8)).shape == (3, 224, 224)
    with pytest.raises(InputShapeError, match="channels"):
        prep(torch.rand(5, 64, 64))


def test_model_built_by_zoo_and_three_line_classification(photo):
    import zoo

    model = zoo.build("pvt-v2-b0", num_classes=10)
    prep = transforms_for(model)
    assert prep.classes is None  # not ImageNet's 1,000 outputs
    with torch.no_grad():
        assert model(prep(torch.rand(3, 100, 120)).unsqueeze(0)).shape == (1, 10)
