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


def test_close_to_timms_pillow_pipeline_on_a_photo():
    """timm's eval transform resizes with Pillow (bicubic, antialiased) before cropping and
    normalising; ours does it in torch. On a real photo the two agree to a small fraction of the
    pixel range (Pillow rounds to uint8 and filters slightly differently, so not bit for bit)."""
    from PIL import Image
    from skimage import data

    photo = data.chelsea()  # 300 x 451
    prep = transforms_for("convit-ti")  # resize shorter side to 256, crop 224
    height, width = photo.shape[:2]
    new = (prep.resize_to, round(width * prep.resize_to / height))
    resized = np.asarray(Image.fromarray(photo).resize(new[::-1], Image.BICUBIC), dtype=np.float32) / 255.0
    top, left = (new[0] - 224) // 2, (new[1] - 224) // 2
    crop = torch.from_numpy(resized[top:top + 224, left:left + 224].copy()).permute(2, 0, 1)
    expected = (crop - prep.mean) / prep.std
    got = prep(photo)
    # one uint8 step is 1 / 255 / 0.225 = 0.017 after normalisation; measured: mean 0.005, max 0.019
    assert (got - expected).abs().mean().item() < 0.01
    assert (got - expected).abs().max().item() < 0.05
