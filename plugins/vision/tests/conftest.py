"""Test settings for zoo-vision: one torch thread per test, timm with an empty torchvision stand-in,
and a real photograph from scikit-image's bundled data."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="session")
def timm():
    """timm 1.0.x, the reference implementation (a test dependency, see zoo_vision.timm_reference)."""
    from zoo_vision.timm_reference import import_timm

    return import_timm()


@pytest.fixture(scope="session")
def photo():
    """scikit-image's ``chelsea`` (a real photograph of a cat, 300 x 451 RGB) as ``[1, 3, 224, 224]``,
    resized and normalised with the ImageNet statistics."""
    import torch
    from skimage import data

    from zoo_vision.transforms import ImageTransform

    image = torch.from_numpy(data.chelsea().copy()).permute(2, 0, 1).float() / 255.0
    return ImageTransform(224, crop_pct=0.875)(image).unsqueeze(0)


@pytest.fixture(scope="session")
def exercised():
    """Give a freshly initialised model non-trivial norms and biases (init leaves them at 1 and 0, where
    a wrong epsilon, a missing bias or swapped affine terms would go unnoticed by a parity test)."""
    import torch

    def apply(model, seed: int = 1):
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, tensor in model.state_dict().items():
                if name.endswith("bias") or (name.endswith("weight") and tensor.ndim == 1):
                    tensor.add_(0.1 * torch.randn(tensor.shape, generator=generator))
        return model

    return apply


@pytest.fixture(scope="session")
def same_norms():
    return _same_norms


def _same_norms(ours, reference):
    """Every LayerNorm of ``reference`` has its counterpart, with the same epsilon, at the same path in
    ``ours`` (an epsilon slip moves the logits by only ~1e-6, under the 1e-5 output tolerance)."""
    from torch import nn

    modules = dict(ours.named_modules())
    norms = [(name, m) for name, m in reference.named_modules() if isinstance(m, nn.LayerNorm)]
    assert norms
    for name, module in norms:
        assert isinstance(modules.get(name), nn.LayerNorm), name
        assert modules[name].eps == module.eps, f"{name}: eps {modules[name].eps} vs {module.eps}"
