"""DeiT: counts of every size, the attention block, and parity with timm on shared weights."""

from __future__ import annotations

import math

import pytest
import torch

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.blocks import MultiHeadSelfAttention
from zoo_vision.models import deit, deit_specs

PAPER_MILLIONS = {"tiny": 5, "small": 22, "base": 86}  # paper Table 1
TIMM = {"tiny": "deit_tiny_patch16_224", "small": "deit_small_patch16_224", "base": "deit_base_patch16_224"}


@pytest.mark.parametrize("variant", sorted(deit_specs.VARIANTS))
def test_parameter_count(variant, timm):
    with torch.device("meta"):
        model = deit.build_deit(variant)
        reference = timm.create_model(TIMM[variant])
    count = sum(p.numel() for p in model.parameters())
    assert count == deit_specs.NUM_PARAMS[variant] == sum(p.numel() for p in reference.parameters())
    assert math.floor(count / 1e6) == PAPER_MILLIONS[variant]
    shapes = {k: v.shape for k, v in reference.state_dict().items()}
    assert {k: v.shape for k, v in model.state_dict().items()} == shapes


def test_attention_is_softmax_of_scaled_dot_products():
    torch.manual_seed(0)
    attn = MultiHeadSelfAttention(12, 3)
    x = torch.randn(2, 5, 12)
    q, k, v = attn.qkv(x).reshape(2, 5, 3, 3, 4).permute(2, 0, 3, 1, 4)
    weights = (q @ k.transpose(-2, -1) / math.sqrt(4)).softmax(-1)
    expected = attn.proj((weights @ v).transpose(1, 2).reshape(2, 5, 12))
    assert torch.allclose(attn(x), expected, atol=1e-6)
    with pytest.raises(ConfigError, match="not divisible"):
        MultiHeadSelfAttention(10, 3)


@pytest.mark.parametrize("variant", sorted(deit_specs.VARIANTS))
def test_matches_timm_on_a_photo(variant, timm, photo, exercised, same_norms):
    torch.manual_seed(0)
    reference = exercised(timm.create_model(TIMM[variant])).eval()
    with torch.device("meta"):
        ours = deit.build_deit(variant)
    ours.load_state_dict(deit.from_timm({"model": reference.state_dict()}), strict=True, assign=True)
    ours.eval()
    with torch.no_grad():
        expected, got = reference(photo), ours(photo)
    assert got.shape == (1, 1000)
    assert (got - expected).abs().max().item() <= 1e-5
    same_norms(ours, reference)


def test_other_sizes_resample_the_position_embedding_as_timm(timm, exercised):
    torch.manual_seed(0)
    reference = exercised(timm.create_model("deit_tiny_patch16_224", dynamic_img_size=True, num_classes=7)).eval()
    ours = deit.build_deit("tiny", num_classes=7)
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        assert (ours.eval()(x) - reference(x)).abs().max().item() <= 1e-5
    assert ours.pos_embed.shape == (1, 197, 192)


def test_block_features_are_the_residual_stream():
    torch.manual_seed(0)
    model = deit.build_deit("tiny", dim=16, heads=2, depth=3, num_classes=4).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        features = model.block_features(x)
        assert [tuple(f.shape) for f in features] == [(1, 5, 16)] * 4
        assert torch.equal(model.forward_head(features[-1]), model(x))


def test_bad_input_and_config_are_clear_errors():
    model = deit.build_deit("tiny", dim=16, heads=2, depth=1, num_classes=3)
    with pytest.raises(InputShapeError):
        model(torch.randn(1, 3, 32, 40))
    with pytest.raises(InputShapeError):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(ConfigError, match="unknown variant"):
        deit.build_deit("huge")
    with pytest.raises(ConfigError, match="divisible by heads"):
        deit.build_deit("tiny", dim=10, heads=3)


def test_grad_cam_through_the_declared_layer():
    torch.manual_seed(0)
    model = zoo.build("deit-tiny", num_classes=5, img_size=64).eval()
    explanation = zoo.explain(model, torch.rand(2, 3, 64, 64), targets=[1, 3])
    heat = torch.as_tensor(explanation.maps)
    assert heat.shape[0] == 2 and heat.shape[-2:] == (64, 64)
    assert torch.isfinite(heat).all() and heat.amax() > 0
