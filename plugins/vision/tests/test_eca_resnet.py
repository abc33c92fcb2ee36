"""ECA-ResNets: the ECA kernel rule, parameter counts of every size, timm parity, pinned weights."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.blocks import EfficientChannelAttention, eca_kernel_size
from zoo_vision.models.eca_resnet import build_eca_resnet
from zoo_vision.models.eca_resnet_specs import VARIANTS

from ._timm_cnn import meta_count

# torchvision's ResNets (He et al.), whose layout the authors' ECA-ResNets keep
TORCHVISION_RESNET = {"18": 11_689_512, "34": 21_797_672, "50": 25_557_032, "101": 44_549_160, "152": 60_192_808}


def test_kernel_size_rule_of_the_paper():
    # psi(C) = |log2(C)/2 + 1/2|_odd
    assert [eca_kernel_size(c) for c in (64, 128, 256, 512, 1024, 2048)] == [3, 5, 5, 5, 5, 7]
    assert EfficientChannelAttention(2048).conv.weight.shape == (1, 1, 7)


def test_eca_gates_channels_from_their_neighbours_only():
    eca = EfficientChannelAttention(16, kernel_size=3)
    with torch.no_grad():
        eca.conv.weight.copy_(torch.tensor([[[0.0, 1.0, 0.0]]]))  # identity kernel: gate = sigmoid(GAP)
    x = torch.randn(2, 16, 5, 5)
    expected = x * torch.sigmoid(x.mean((2, 3)))[:, :, None, None]
    torch.testing.assert_close(eca(x), expected)


@pytest.mark.parametrize("variant", ["18", "34", "50", "101", "152"])
def test_authors_sizes_are_resnet_plus_one_weight_per_kernel_tap(variant):
    hp = VARIANTS[variant]
    eca_weights = sum(k * n for k, n in zip(hp["kernel_sizes"], hp["layers"]))
    assert meta_count(build_eca_resnet, variant=variant) == TORCHVISION_RESNET[variant] + eca_weights
    assert hp["num_params"] == TORCHVISION_RESNET[variant] + eca_weights


def test_eca_resnet_50_has_the_papers_count():
    assert meta_count(build_eca_resnet, variant="50") == 25_557_112  # 80 ECA weights over ResNet-50


def test_unknown_variant_and_bad_input_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown variant"):
        build_eca_resnet(variant="77")
    model = zoo.build("eca-resnet-18").eval()
    with pytest.raises(InputShapeError, match="at least 32"):
        model(torch.zeros(1, 3, 16, 16))
