"""Grad-CAM on 3-D segmentation outputs, per class, through zoo.explain and `zoo explain`."""

import numpy as np
import pytest
import torch

import zoo
from zoo.cli import main


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return zoo.build("scse-unet-3d").eval()


def test_grad_cam_per_class_on_the_declared_decoder_layer(model):
    x = torch.randn(2, 1, 32, 32, 32)
    maps = {}
    for target in (0, 1):
        explanation = zoo.explain(model, x, method="grad-cam", targets=target)
        assert explanation.maps.shape == (2, 32, 32, 32)
        assert explanation.target_layer == "model.1.submodule.2"
        assert explanation.targets.tolist() == [target, target]
        assert 0 <= explanation.maps.min() and explanation.maps.max() <= 1 and explanation.maps.std() > 0
        maps[target] = explanation.maps
    assert not torch.allclose(maps[0], maps[1])


def test_zoo_explain_command_on_a_saved_scse_unet_3d(model, tmp_path, capsys):
    folder = zoo.save(model, tmp_path / "scse")
    volume = tmp_path / "volume.npy"
    np.save(volume, np.random.default_rng(0).normal(size=(1, 1, 32, 32, 32)).astype(np.float32))
    out = tmp_path / "cam.png"
    assert main(["explain", str(folder), str(volume), "--targets", "1", "--out", str(out)]) == 0
    assert out.stat().st_size > 0 and "classes [1]" in capsys.readouterr().out


def test_grad_cam_on_medvit_uses_the_last_stage_feature_map():
    torch.manual_seed(0)
    model = zoo.build("medvit-v2-tiny", num_classes=5).eval()
    explanation = zoo.explain(model, torch.randn(2, 3, 64, 64), method="grad-cam")
    assert explanation.target_layer == "features.10"
    assert explanation.maps.shape == (2, 64, 64) and explanation.targets.shape == (2,)
