"""Grad-CAM on the front-end's clip view: one saliency volume per clip, over frames and pixels."""

import torch

import zoo


def test_grad_cam_gives_temporal_and_spatial_saliency_per_clip():
    torch.manual_seed(0)
    model = zoo.build("ms-tcn").eval()
    x = torch.randn(2, 1, 6, 64, 64)  # 2x2 maps per frame at the last stage
    explanation = zoo.explain(model, x, targets=[3, 7])
    maps = explanation.maps
    assert explanation.target_layer == "frontend.clip" and maps.shape == (2, 6, 64, 64)
    assert (maps >= 0).all() and (maps.amax(dim=(1, 2, 3)) > 0).all()
    assert maps[0].mean(dim=(1, 2)).std() > 0  # frames are told apart, not one map broadcast over time
    # the frames of one clip are not mixed with another's: changing clip 1 leaves clip 0's map alone
    other = x.clone()
    other[1] = torch.randn(1, 6, 64, 64)
    assert torch.allclose(zoo.explain(model, other, targets=[3, 7]).maps[0], maps[0], atol=1e-6)
