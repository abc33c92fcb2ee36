"""PVT v1 and v2: parameter counts of every size, the authors' layout, and parity with timm."""

from __future__ import annotations

import pytest
import torch

from zoo_vision.models import pvt_v1, pvt_v1_specs, pvt_v2, pvt_v2_specs

# The authors' totals (classification/pvt.py and pvt_v2.py, 1000 classes), rounded as in the paper notes.
PAPER_MILLIONS_V1 = {"tiny": 13.23, "small": 24.49, "medium": 44.21, "large": 61.37}
PAPER_MILLIONS_V2 = {"b0": 3.67, "b1": 14.01, "b2": 25.36, "b2-li": 22.55, "b3": 45.24, "b4": 62.56, "b5": 81.96}


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("variant", sorted(pvt_v2_specs.VARIANTS))
def test_pvt_v2_parameter_count(variant):
    with torch.device("meta"):
        model = pvt_v2.build_pvt_v2(variant)
    assert _count(model) == pvt_v2_specs.NUM_PARAMS[variant]
    assert round(_count(model) / 1e6, 2) == PAPER_MILLIONS_V2[variant]


@pytest.mark.parametrize("variant", sorted(pvt_v1_specs.VARIANTS))
def test_pvt_v1_parameter_count(variant):
    with torch.device("meta"):
        model = pvt_v1.build_pvt_v1(variant)
    assert _count(model) == pvt_v1_specs.NUM_PARAMS[variant]
    assert round(_count(model) / 1e6, 2) == PAPER_MILLIONS_V1[variant]


def test_pvt_v1_has_the_authors_state_dict_layout():
    with torch.device("meta"):
        state = pvt_v1.build_pvt_v1("small").state_dict()
    # Keys and shapes of the authors' pvt_small at 224 x 224 (classification/pvt.py).
    expected = {
        "pos_embed1": (1, 56 * 56, 64), "pos_embed2": (1, 28 * 28, 128), "pos_embed3": (1, 14 * 14, 320),
        "pos_embed4": (1, 7 * 7 + 1, 512), "cls_token": (1, 1, 512),
        "patch_embed1.proj.weight": (64, 3, 4, 4), "patch_embed2.proj.weight": (128, 64, 2, 2),
        "patch_embed4.norm.weight": (512,),
        "block1.0.attn.sr.weight": (64, 64, 8, 8), "block2.3.attn.sr.weight": (128, 128, 4, 4),
        "block3.5.attn.sr.weight": (320, 320, 2, 2), "block1.2.attn.q.bias": (64,),
        "block1.2.attn.kv.weight": (128, 64), "block1.0.mlp.fc1.weight": (512, 64),
        "block3.0.mlp.fc1.weight": (1280, 320), "block4.2.attn.proj.weight": (512, 512),
        "norm.weight": (512,), "head.weight": (1000, 512),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert not any(k.startswith("block4.") and ".attn.sr." in k for k in state)  # R = 1 in stage 4
    assert len([k for k in state if k.startswith("block3.") and k.endswith("norm1.weight")]) == 6


def test_pvt_v1_runs_at_another_size_and_rejects_sizes_not_divisible_by_32():
    torch.manual_seed(0)
    model = pvt_v1.build_pvt_v1("tiny", num_classes=5).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 96, 64)).shape == (1, 5)
    from zoo.errors import InputShapeError

    with pytest.raises(InputShapeError, match="multiples of 32"):
        model(torch.randn(1, 3, 100, 64))


def _copy_into_ours(ours_builder, reference):
    with torch.device("meta"):
        ours = ours_builder()
    ours.load_state_dict(reference.state_dict(), strict=True, assign=True)
    return ours.eval()


@pytest.mark.parametrize("variant", sorted(pvt_v2_specs.VARIANTS))
def test_pvt_v2_matches_timm_on_a_photo(variant, timm, photo, exercised, same_norms):
    torch.manual_seed(0)
    reference = exercised(timm.create_model(f"pvt_v2_{variant.replace('-', '_')}", pretrained=False)).eval()
    ours = _copy_into_ours(lambda: pvt_v2.build_pvt_v2(variant), reference)
    with torch.no_grad():
        expected, got = reference(photo), ours(photo)
    assert got.shape == (1, 1000)
    assert (got - expected).abs().max().item() <= 1e-5
    same_norms(ours, reference)
