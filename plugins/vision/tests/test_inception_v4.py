"""Inception-v4: parameter count, shapes, input checks, timm parity and the pinned weights."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.errors import InputShapeError
from zoo_vision.models.inception_v4 import build_inception_v4
from zoo_vision.models.inception_v4_specs import VARIANTS

from ._timm_cnn import load_pinned_through_local_hub, meta_count, photo, randomise_batchnorm, timm_reference


def test_parameter_count_is_the_papers_model():
    # 42.68M: timm's inception_v4 built here, the Cadene/TF-Slim port of the paper's network
    assert meta_count(build_inception_v4) == VARIANTS["v4"]["num_params"] == 42_679_816
    # the classifier is 1536 -> classes, nothing else depends on the class count
    assert meta_count(build_inception_v4, num_classes=10) == 42_679_816 - 990 * 1537


def test_grid_sizes_follow_the_paper():
    with torch.device("meta"):
        model = build_inception_v4().eval()
        x = torch.zeros(1, 3, 299, 299)
    sizes = []
    for layer in model.features:
        x = layer(x)
        sizes.append((x.shape[1], x.shape[2]))
    # stem 35 x 35 x 384, Inception-A 35, Reduction-A 17 x 1024, Inception-B 17, Reduction-B 8 x 1536
    assert sizes[5] == (384, 35) and sizes[9] == (384, 35)
    assert sizes[10] == (1024, 17) and sizes[17] == (1024, 17)
    assert sizes[18] == (1536, 8) and sizes[21] == (1536, 8)


def test_too_small_or_wrong_channels_is_a_clear_error():
    model = zoo.build("inception-v4").eval()
    with pytest.raises(InputShapeError, match="at least 75"):
        model(torch.zeros(1, 3, 64, 64))
    with pytest.raises(InputShapeError, match="C=3"):
        model(torch.zeros(1, 1, 299, 299))


def test_pinned_checkpoint_loads_through_the_hub_and_matches_timm(local_hub):
    """timm's inception_v4 key names are ours: the file loads with no converter and gives timm's
    outputs on a real photograph at 299 x 299 (mean/std 0.5, the checkpoint's preprocessing)."""
    reference = timm_reference("inception_v4")
    model = load_pinned_through_local_hub(local_hub, "inception-v4", "tf-in1k", reference.state_dict())
    assert model.zoo_weights == "tf-in1k"
    x = photo(299, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    with torch.no_grad():
        expected, got = reference(x), model(x)
    assert expected.abs().max() > 0.1
    assert (expected - got).abs().max().item() <= 1e-5 * max(1.0, expected.abs().max().item())


def test_grad_cam_on_the_last_inception_c_block():
    torch.manual_seed(0)
    model = zoo.build("inception-v4", num_classes=3).eval()
    randomise_batchnorm(model)
    x = photo(203, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    explanation = zoo.explain(model, x, method="grad-cam")  # the predicted class
    assert explanation.target_layer == "features.21"
    assert explanation.maps.shape == (1, 203, 203) and explanation.maps.std() > 0
    with torch.no_grad():
        assert explanation.targets.tolist() == model(x).argmax(1).tolist()
