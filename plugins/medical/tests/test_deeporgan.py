"""DeepOrgan P-ConvNet: count, 2.5-D patches, nearest-neighbour fusion, smoothing, DropConnect."""

import pytest
import torch

from zoo.errors import ConfigError, InputShapeError
from zoo_medical.models.deeporgan import (
    DropConnectLinear,
    build_p_convnet,
    dense_probability,
    extract_patches_25d,
    smooth_and_threshold,
)
from zoo_medical.models.deeporgan_specs import DEFAULT_CONFIG, NUM_PARAMS


def test_count_and_shapes():
    with torch.device("meta"):
        model = build_p_convnet(**DEFAULT_CONFIG)
    assert sum(p.numel() for p in model.parameters()) == NUM_PARAMS == 2_579_458
    small = build_p_convnet(patch_size=16).eval()
    assert small(torch.randn(4, 3, 16, 16)).shape == (4, 2)
    with pytest.raises(InputShapeError, match=r"\[B, 3, 16, 16\]"):
        small(torch.randn(4, 3, 32, 32))
    with pytest.raises(ConfigError, match="multiple of 8"):
        build_p_convnet(patch_size=20)


def test_patches_are_the_three_orthogonal_views():
    volume = torch.arange(20 * 24 * 28, dtype=torch.float32).reshape(20, 24, 28)
    patches = extract_patches_25d(volume, torch.tensor([[10, 12, 14], [0, 0, 0]]), size=16)
    assert patches.shape == (2, 3, 16, 16)
    assert torch.equal(patches[0, 0], volume[10, 4:20, 6:22])  # axial: y, x at z
    assert torch.equal(patches[0, 1], volume[2:18, 12, 6:22])  # coronal: z, x at y
    assert torch.equal(patches[0, 2], volume[2:18, 4:20, 14])  # sagittal: z, y at x
    assert patches[1, :, :8].abs().sum() == 0 and patches[1, 0, 8, 8] == volume[0, 0, 0]  # zero outside


class CentreIntensity(torch.nn.Module):
    """A stand-in classifier: P(class 1) = the centre voxel's intensity."""

    patch_size = 8

    def forward(self, x):
        p = x[:, 0, 4, 4].clamp(1e-4, 1 - 1e-4)
        return torch.stack((torch.log1p(-p), torch.log(p)), 1)


def test_dense_probability_fuses_nearest_grid_points_and_smooths():
    volume = torch.zeros(16, 16, 16)
    volume[4:12, 4:12, 4:12] = 0.9
    candidate = torch.zeros_like(volume, dtype=torch.bool)
    candidate[2:14, 2:14, 2:14] = True
    probability = dense_probability(CentreIntensity(), volume, candidate, stride=2)
    assert probability.shape == volume.shape and probability[~candidate].abs().max() == 0
    # every voxel carries the value of its nearest grid point (grid points at 1, 3, 5, ...)
    assert torch.allclose(probability[5, 5, 5], torch.tensor(0.9)) and probability[3, 3, 3] < 1e-3
    assert torch.allclose(probability[4, 4, 4], volume[5, 5, 5])
    smoothed, mask = smooth_and_threshold(probability, sigma=1.0, threshold=0.5)
    assert smoothed.shape == volume.shape and type(smoothed) is torch.Tensor
    assert mask[8, 8, 8] and not mask[1, 1, 1] and smoothed[8, 8, 8] <= probability[8, 8, 8] + 1e-6


def test_dropconnect_masks_weights_only_in_training():
    torch.manual_seed(0)
    layer = DropConnectLinear(64, 8, p=0.5)
    x = torch.randn(3, 64)
    layer.eval()
    assert torch.equal(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias))
    layer.train()
    assert not torch.allclose(layer(x), layer(x))
    with pytest.raises(ConfigError):
        DropConnectLinear(4, 4, p=1.0)
