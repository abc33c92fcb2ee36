"""ConViT: counts of every size, GPSA's locality init and gating, and parity with timm."""

from __future__ import annotations

import math

import pytest
import torch

from zoo_vision.models import convit, convit_specs

PAPER_MILLIONS = {"ti": 5.71, "ti-plus": 9.97, "s": 27.78, "s-plus": 48.98, "b": 86.54, "b-plus": 153.13}


@pytest.mark.parametrize("variant", sorted(convit_specs.VARIANTS))
def test_parameter_count(variant):
    with torch.device("meta"):
        model = convit.build_convit(variant)
    count = sum(p.numel() for p in model.parameters())
    assert count == convit_specs.NUM_PARAMS[variant]
    assert round(count / 1e6, 2) == PAPER_MILLIONS[variant]


def test_ten_gpsa_blocks_then_mhsa():
    with torch.device("meta"):
        model = convit.build_convit("ti")
    kinds = [type(block.attn).__name__ for block in model.blocks]
    assert kinds == ["GPSA"] * 10 + ["MHSA"] * 2


def test_locality_init_makes_each_head_a_soft_convolution_kernel():
    torch.manual_seed(0)
    model = convit.build_convit("s", num_classes=10)
    gpsa = model.blocks[0].attn
    assert torch.equal(gpsa.v.weight, torch.eye(gpsa.v.weight.shape[0]))
    assert torch.equal(gpsa.gating_param, torch.ones(9))  # σ(1) = 0.73: positional attention dominates
    # Positional attention of each head peaks at its own offset on the 3 x 3 head grid around the query.
    rel = convit.relative_positions(14, 14)
    scores = gpsa.pos_proj(rel).permute(2, 0, 1).softmax(-1)  # [heads, N, N]
    query = 7 * 14 + 7  # a token far from the border
    peaks = scores[:, query].argmax(-1)
    offsets = {(int(p % 14) - 7, int(p // 14) - 7) for p in peaks}
    assert offsets == {(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)}


def test_gating_switches_between_content_and_position():
    torch.manual_seed(0)
    gpsa = convit.GPSA(16, 4)
    gpsa.local_init()
    x = torch.randn(1, 9, 16)
    with torch.no_grad():
        gpsa.gating_param.fill_(50.0)  # σ ≈ 1: attention is purely positional, independent of q·k
        positional = gpsa(x, (3, 3))
        gpsa.qk.weight.mul_(3.0)
        assert torch.allclose(gpsa(x, (3, 3)), positional, atol=1e-6)
        gpsa.gating_param.fill_(-50.0)  # σ ≈ 0: content attention, which the q·k change now alters
        assert not torch.allclose(gpsa(x, (3, 3)), positional, atol=1e-3)


def test_square_head_count_is_required():
    from zoo.errors import ConfigError

    with pytest.raises(ConfigError, match="square number of heads"):
        convit.ConViT(24, 6)


def _timm_convit(timm, variant):
    from timm.models.convit import ConVit

    v = convit_specs.VARIANTS[variant]
    return ConVit(embed_dim=v["head_dim"], num_heads=v["heads"], local_up_to_layer=10, locality_strength=1.0)


@pytest.mark.parametrize("variant", sorted(convit_specs.VARIANTS))
def test_matches_timm_on_a_photo(variant, timm, photo, exercised, same_norms):
    # timm registers ti/s/b as convit_tiny/small/base; the "+" sizes are its ConVit class at 64 per head.
    torch.manual_seed(0)
    reference = exercised(_timm_convit(timm, variant)).eval()
    with torch.device("meta"):
        ours = convit.build_convit(variant)
    ours.load_state_dict(convit.from_timm(reference.state_dict()), strict=True, assign=True)
    ours.eval()
    with torch.no_grad():
        expected, got = reference(photo), ours(photo)
    assert got.shape == (1, 1000)
    assert (got - expected).abs().max().item() <= 1e-5
    same_norms(ours, reference)


def test_timm_builders_have_our_counts(timm):
    for variant, builder in (("ti", "convit_tiny"), ("s", "convit_small"), ("b", "convit_base")):
        with torch.device("meta"):
            reference = timm.create_model(builder)
        assert sum(p.numel() for p in reference.parameters()) == convit_specs.NUM_PARAMS[variant]


def test_other_input_sizes_resize_the_position_embedding():
    torch.manual_seed(0)
    model = convit.build_convit("ti", num_classes=3).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 96, 64)).shape == (2, 3)
    assert math.isqrt(model.pos_embed.shape[1]) == 14
