"""ECA-ResNets: the ECA kernel rule, parameter counts of every size, timm parity, pinned weights."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.building import check_state_dict
from zoo.errors import ConfigError, InputShapeError, StateDictMismatchError
from zoo_vision.blocks import EfficientChannelAttention, eca_kernel_size
from zoo_vision.models import eca_resnet_specs, inception_v4_specs
from zoo_vision.models.eca_resnet import build_eca_resnet, from_timm
from zoo_vision.models.eca_resnet_specs import VARIANTS

from ._timm_cnn import load_pinned_through_local_hub, meta_count, photo, randomise_batchnorm, timm_reference

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


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


@pytest.mark.parametrize("variant,tag", [("light", "miil-in1k"), ("50t", "a3-in1k")])
def test_pinned_timm_checkpoint_loads_through_the_hub_and_matches_timm(local_hub, variant, tag):
    """A file of exactly timm's keys and shapes, served at the pinned repo, converted and loaded by
    zoo.load(..., pretrained=True), gives timm's outputs on a real photograph."""
    reference = timm_reference(f"ecaresnet{variant}")
    model = load_pinned_through_local_hub(local_hub, f"eca-resnet-{variant}", tag, reference.state_dict())
    x = photo(224)
    with torch.no_grad():
        expected, got = reference(x), model(x)
    assert expected.abs().max() > 0.1
    assert _max_abs(expected, got) <= 1e-5 * max(1.0, expected.abs().max().item())


def test_pruned_101d_matches_timm():
    reference = timm_reference("ecaresnet101d_pruned")
    model = build_eca_resnet("101d-pruned").eval()
    model.load_state_dict(from_timm(reference.state_dict()), strict=True)
    x = photo(224)
    with torch.no_grad():
        expected, got = reference(x), model(x)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    assert _max_abs(expected, got) <= 1e-5 * max(1.0, expected.abs().max().item())


def test_timm_keys_that_do_not_fit_are_named():
    state = timm_reference("ecaresnet50t").state_dict()
    with pytest.raises(StateDictMismatchError, match="missing"):
        check_state_dict(build_eca_resnet("light"), from_timm(state), source="ecaresnet50t")


@pytest.mark.parametrize("spec", [s for s in eca_resnet_specs.MODELS + inception_v4_specs.MODELS if s.weights],
                         ids=lambda s: s.name)
def test_pinned_weights_carry_their_preprocessing(spec):
    for weights in spec.weights:
        assert {"input_size", "crop_pct", "interpolation", "mean", "std"} <= set(weights.preprocessing)
        assert weights.dataset == "imagenet-1k" and 50 < weights.metrics["top1"] < 90
        assert weights.repo_id.startswith("timm/") and weights.license == "apache-2.0"


def test_grad_cam_on_the_declared_last_stage():
    torch.manual_seed(0)
    model = zoo.build("eca-resnet-18", num_classes=4).eval()
    randomise_batchnorm(model)
    x = photo(96)
    maps = {}
    for target in (0, 3):
        explanation = zoo.explain(model, x, method="grad-cam", targets=target)
        assert explanation.target_layer == "layer4"
        assert explanation.maps.shape == (1, 96, 96)
        assert 0 <= explanation.maps.min() and explanation.maps.max() <= 1 and explanation.maps.std() > 0
        maps[target] = explanation.maps
    assert not torch.allclose(maps[0], maps[3])


def test_a_training_step_reaches_the_eca_weights():
    torch.manual_seed(0)
    model = zoo.build("eca-resnet-18", num_classes=3).train()
    loss = torch.nn.functional.cross_entropy(model(torch.randn(4, 3, 64, 64)), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    grads = [block.eca.conv.weight.grad for stage in (model.layer1, model.layer4) for block in stage]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
