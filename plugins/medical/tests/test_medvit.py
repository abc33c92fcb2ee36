"""MedViTV2 and its blocks: neighbourhood attention and FasterKAN (Manzari et al., arXiv:2502.13693)."""

import pytest
import torch
from torch import nn

from zoo.errors import ConfigError, InputShapeError
from zoo_medical.blocks.kan import FasterKANLayer
from zoo_medical.blocks.neighborhood_attention import NeighborhoodAttention2D, neighborhood_indices
from zoo_medical.models.medvit import GlobalFeaturePerception, LocalFeaturePerception, LocalityFeedForward, build_medvit
from zoo_medical.models.medvit_specs import AUTHORS_NUM_PARAMS


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def natten_window(length, kernel, dilation, i):
    """NATTEN's neighbourhood of position i on one axis, written the slow, obvious way."""
    group = [p for p in range(length) if p % dilation == i % dilation]
    rank = group.index(i)
    start = min(max(rank - kernel // 2, 0), len(group) - kernel)
    return group[start:start + kernel], [j - rank + kernel - 1 for j in range(start, start + kernel)]


@pytest.mark.parametrize(("length", "kernel", "dilation"), [(9, 3, 1), (12, 3, 2), (13, 5, 2), (14, 7, 2)])
def test_windows_shift_at_borders_and_follow_their_dilation_group(length, kernel, dilation):
    keys, bias, used = neighborhood_indices(length, kernel, dilation)
    assert used == dilation
    for i in range(length):
        expected_keys, expected_bias = natten_window(length, kernel, dilation, i)
        assert keys[i].tolist() == expected_keys
        assert bias[i].tolist() == expected_bias


def test_short_axes_reduce_dilation_then_window():
    assert neighborhood_indices(10, 3, 8)[2] == 3  # 3 x 3 = 9 <= 10 fits, 3 x 4 does not
    keys, _, used = neighborhood_indices(4, 7, 2)
    assert used == 1 and keys.shape == (4, 4) and (keys == torch.arange(4)).all()


def reference_attention(na, x):
    """Dense attention with every key outside the query's NATTEN window masked out."""
    batch, height, width, dim = x.shape
    heads = na.num_heads
    qkv = na.qkv(x).view(batch, height * width, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0] * na.scale, qkv[1], qkv[2]
    logits = torch.full((batch, heads, height * width, height * width), float("-inf"))
    dense = q @ k.transpose(-2, -1)
    for r in range(height):
        rows, row_bias = natten_window(height, na.kernel_size, na.dilation, r)
        for c in range(width):
            cols, col_bias = natten_window(width, na.kernel_size, na.dilation, c)
            for kr, br in zip(rows, row_bias):
                for kc, bc in zip(cols, col_bias):
                    logits[:, :, r * width + c, kr * width + kc] = (
                        dense[:, :, r * width + c, kr * width + kc] + na.rpb[:, br, bc])
    out = (logits.softmax(-1) @ v).transpose(1, 2).reshape(batch, height, width, dim)
    return na.proj(out)


@pytest.mark.parametrize("dilation", [1, 2])
def test_neighbourhood_attention_equals_masked_dense_attention(dilation):
    torch.manual_seed(0)
    na = NeighborhoodAttention2D(16, num_heads=2, kernel_size=3, dilation=dilation)
    x = torch.randn(2, 7, 8, 16)
    assert torch.allclose(na(x), reference_attention(na, x), atol=1e-5)


def test_neighbourhood_attention_is_local():
    na = NeighborhoodAttention2D(8, num_heads=1, kernel_size=3, dilation=2)
    x = torch.randn(1, 12, 12, 8, requires_grad=True)
    na(x)[0, 5, 5].sum().backward()
    touched = (x.grad[0].abs().sum(-1) > 0).nonzero().tolist()
    assert sorted(touched) == sorted([r, c] for r in (3, 5, 7) for c in (3, 5, 7))


def test_fasterkan_layer_is_the_rswaf_basis_times_one_linear_map():
    layer = FasterKANLayer(4, 3)
    x = torch.randn(5, 4)
    grid = torch.linspace(-2, 2, 8)
    basis = 1 - torch.tanh((layer.layernorm(x)[:, :, None] - grid) / 0.33) ** 2
    assert torch.allclose(layer(x), basis.flatten(1) @ layer.spline_linear.weight.T, atol=1e-6)
    assert count(layer) == 2 * 4 + 4 * 8 * 3


@pytest.mark.parametrize("variant", ["tiny", "small", "base", "large"])
def test_parameter_counts_match_the_authors_minus_what_they_never_use(variant):
    with torch.device("meta"):
        model = build_medvit(variant)
        global_blocks = [b for b in model.features if isinstance(b, GlobalFeaturePerception)]
        # The released global block also builds a LocalityFeedForward(C, expand 2) it never calls,
        # and FasterKAN keeps its 8-point grid as a frozen parameter in each of its 2 layers.
        unused = sum(count(LocalityFeedForward(b.norm2.num_features, expand=2)) for b in global_blocks)
    assert count(model) + unused + 16 * len(global_blocks) == AUTHORS_NUM_PARAMS[variant]


def test_block_pattern_and_dilation_schedule():
    with torch.device("meta"):
        model = build_medvit("small")
    kinds = ["L" if isinstance(b, LocalFeaturePerception) else "G" for b in model.features]
    assert "".join(kinds) == "LL" + "LG" + "LLGLLG" + "GG"
    dilations = [b.attn.dilation for b in model.features if isinstance(b, LocalFeaturePerception)]
    assert dilations == [1, 8, 1, 1, 2, 1, 2]
    assert model.features[0].conv.conv[3].kernel_size == (7, 7)  # first stage: 7x7 depthwise
    assert model.features[2].conv.conv[3].kernel_size == (3, 3)


def test_classifies_non_square_images_and_checks_its_input():
    model = build_medvit("tiny", num_classes=9).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 96)).shape == (2, 9)
    with pytest.raises(InputShapeError, match="divisible"):
        model(torch.randn(1, 3, 64, 80))
    with pytest.raises(InputShapeError, match="C=3"):
        model(torch.randn(1, 1, 64, 64))
    with pytest.raises(ConfigError, match="variant"):
        build_medvit("huge")
