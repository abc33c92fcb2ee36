"""zoo.explain on each family through the spec's declared Grad-CAM layer (and token reshape)."""

from __future__ import annotations

import pytest
import torch

import zoo

SMALL = {  # reduced heads so that the explanation runs in a blink; the layers are those of the spec
    "pvt-v2-b0": {"num_classes": 5},
    "pvt-v1-tiny": {"num_classes": 5, "img_size": 64},
    "convit-ti": {"num_classes": 5, "img_size": 64},
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_grad_cam_through_the_declared_layer(name):
    torch.manual_seed(0)
    model = zoo.build(name, **SMALL[name]).eval()
    x = torch.rand(2, 3, 64, 64)
    explanation = zoo.explain(model, x, targets=[1, 3])
    heat = torch.as_tensor(explanation.maps)
    assert heat.shape[0] == 2 and heat.shape[-2:] == (64, 64)
    assert torch.isfinite(heat).all() and heat.amax() > 0
    assert not torch.allclose(heat[0], heat[1])
