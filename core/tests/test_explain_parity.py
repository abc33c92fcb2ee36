"""Parity with pytorch-grad-cam (PyPI ``grad-cam``, a test-only dependency; install it with
``pip install --no-deps grad-cam ttach opencv-python-headless scikit-learn``).

The full figure (ResNet-50, 8 images at 224×224) is ``benchmarks/bench_explain_gradcam.py``;
here the same ResNet-50 runs on 2 images at 96×96 to stay fast on a 2-core CPU.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from test_explain_models import inputs, tagged

import zoo

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_explain_gradcam.py"


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("bench_explain_gradcam", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _benchmark_module()
pytest.importorskip("ttach")
pytest.importorskip("cv2")
pgc = bench.import_pytorch_grad_cam()
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

CLASSES = {"grad-cam": pgc.GradCAM, "grad-cam++": pgc.GradCAMPlusPlus, "eigen-cam": pgc.EigenCAM}


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    model = bench.resnet50().eval()
    assert sum(p.numel() for p in model.parameters()) == 25_557_032
    return model


def _theirs(model, layer, x, targets, method):
    with CLASSES[method](model=model, target_layers=[layer]) as cam:
        return torch.as_tensor(cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in targets]))


@pytest.mark.parametrize("method", sorted(CLASSES))
def test_resnet50_maps_equal_pytorch_grad_cam(resnet, method):
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    targets = [281, 3]
    ours = zoo.explain(resnet, x, method=method, target_layer="layer4", targets=targets).maps
    theirs = _theirs(resnet, resnet.layer4, x, targets, method)
    assert ours.shape == theirs.shape == (2, 96, 96)
    if method == "eigen-cam":
        flipped = torch.as_tensor(bench.pytorch_grad_cam_eigen_flipped(pgc, resnet, resnet.layer4, x))
        assert bench.eigen_difference(ours, theirs, flipped) < 1e-4
    else:
        assert float((ours - theirs).abs().max()) < 1e-4


@pytest.mark.parametrize("method", sorted(CLASSES))
def test_small_cnn_maps_equal_pytorch_grad_cam_for_predicted_classes(method):
    model, x = tagged("cnn"), inputs("cnn", batch=4)
    ours = zoo.explain(model, x, method=method, target_layer="block")
    theirs = _theirs(model, model.block, x, ours.targets.tolist(), method)
    if method == "eigen-cam":
        flipped = torch.as_tensor(bench.pytorch_grad_cam_eigen_flipped(pgc, model, model.block, x))
        assert bench.eigen_difference(ours.maps, theirs, flipped) < 1e-4
    else:
        assert float((ours.maps - theirs).abs().max()) < 1e-4
