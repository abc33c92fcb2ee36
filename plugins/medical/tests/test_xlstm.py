"""mLSTM / Vision-LSTM blocks and the xLSTM-UNets (Chen et al., arXiv:2407.01530)."""

import math

import pytest
import torch
from torch import nn

from zoo.errors import ConfigError, InputShapeError
from zoo_medical.blocks.mlstm import ViLBlock, ViLSpatial, mlstm_parallel, vil_block_params
from zoo_medical.models.xlstm_unet import build_xlstm_unet
from zoo_medical.models.xlstm_unet_specs import PLAN_2D, PLAN_3D


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def mlstm_recurrent(q, k, v, igate, fgate):
    """The mLSTM recurrence step by step (xLSTM paper, eqs. 19-27), unstabilised, in float64."""
    batch, heads, steps, dim = q.shape
    state = torch.zeros(batch, heads, dim, dim, dtype=torch.float64)
    norm = torch.zeros(batch, heads, dim, dtype=torch.float64)
    outputs = []
    for t in range(steps):
        i, f = torch.exp(igate[..., t]), torch.sigmoid(fgate[..., t])
        kt = k[:, :, t] / math.sqrt(dim)
        state = f[..., None, None] * state + i[..., None, None] * v[:, :, t, :, None] * kt[:, :, None, :]
        norm = f[..., None] * norm + i[..., None] * kt
        qt = q[:, :, t]
        denominator = torch.maximum((norm * qt).sum(-1).abs(), torch.ones(()))
        outputs.append((state @ qt[..., None])[..., 0] / denominator[..., None])
    return torch.stack(outputs, dim=2)


def test_parallel_mlstm_equals_the_recurrence():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 9, 4, dtype=torch.float64) for _ in range(3))
    igate, fgate = torch.randn(2, 3, 9, dtype=torch.float64), torch.randn(2, 3, 9, dtype=torch.float64) + 2
    assert torch.allclose(mlstm_parallel(q, k, v, igate, fgate, eps=0.0), mlstm_recurrent(q, k, v, igate, fgate))


def test_parallel_mlstm_is_stable_with_large_input_gates():
    q, k, v = (torch.randn(1, 1, 16, 8) for _ in range(3))
    out = mlstm_parallel(q, k, v, torch.full((1, 1, 16), 80.0), torch.zeros(1, 1, 16))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("dim", [2, 6, 8, 60, 100, 320])
def test_vil_block_parameter_count_follows_the_closed_form(dim):
    with torch.device("meta"):
        assert count(ViLBlock(dim)) == vil_block_params(dim)
    if dim % 4 == 0:
        assert vil_block_params(dim) == 6 * dim * dim + 87 * dim + 8


def test_vil_is_causal_along_the_row_major_scan():
    torch.manual_seed(0)
    block = ViLBlock(8)
    x = torch.randn(1, 10, 8)
    y = x.clone()
    y[:, 6:] += 1.0
    out_x, out_y = block(x), block(y)
    assert torch.allclose(out_x[:, :6], out_y[:, :6], atol=1e-6)
    assert not torch.allclose(out_x[:, 6:], out_y[:, 6:])


def test_vil_on_maps_with_voxel_or_channel_tokens():
    x = torch.randn(2, 16, 2, 3, 4)
    assert ViLSpatial(16)(x).shape == x.shape
    assert ViLSpatial(24, channel_token=True)(x).shape == x.shape
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert ViLSpatial(16)(x.bfloat16()).dtype == torch.bfloat16


# The paper notes' instantiation of the authors' networks (representative nnU-Net plans); their
# wrapper adds an unused LayerNorm(dim) per ViL layer, which we do not build.
AUTHORS = [
    ("bot", PLAN_3D, None, 42_097_102),
    ("enc", PLAN_3D, [64, 160, 160], 43_744_578),
    ("bot", PLAN_2D, None, 47_447_288),
    ("enc", PLAN_2D, [384, 640], 47_658_052),
]


@pytest.mark.parametrize(("variant", "plan", "patch", "authors"), AUTHORS, ids=["bot3d", "enc3d", "bot2d", "enc2d"])
def test_parameter_counts_match_the_authors_networks(variant, plan, patch, authors):
    with torch.device("meta"):
        model = build_xlstm_unet(variant, patch_size=patch, **plan)
    unused_norms = sum(2 * m.dim for m in model.modules() if isinstance(m, ViLSpatial))
    assert count(model) + unused_norms == authors


def test_enc_places_vil_where_the_authors_do():
    with torch.device("meta"):
        enc3d = build_xlstm_unet("enc", patch_size=[64, 160, 160], **PLAN_3D)
        enc2d = build_xlstm_unet("enc", patch_size=[384, 640], **PLAN_2D)
    def describe(layer):
        return f"vil{layer.dim}{'c' if layer.channel_token else ''}" if isinstance(layer, ViLSpatial) \
            else type(layer).__name__
    assert [describe(x) for x in enc3d.xlstm_layers] == ["ResBlock"] * 3 + ["vil256", "vil320", "vil100c"]
    assert [describe(x) for x in enc2d.xlstm_layers] == [
        "Identity", "ResBlock", "vil128", "Identity", "vil512", "Identity", "vil60c"]
    # 2-D: the top decoder level takes no skip; 3-D: it concatenates one.
    assert enc2d.decoder_stages[-1][0].conv1.in_channels == 32
    assert enc3d.decoder_stages[-1][0].conv1.in_channels == 64


TINY = {"features": [4, 8, 16, 16], "n_blocks_per_stage": 2, "n_conv_per_stage_decoder": 2}


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("variant", ["bot", "enc"])
def test_small_networks_segment_with_and_without_deep_supervision(dims, variant):
    strides = [[1] * dims] + [[2] * dims] * 3
    patch = [16] * dims if variant == "enc" else None
    model = build_xlstm_unet(variant, spatial_dims=dims, in_channels=2, out_channels=3, strides=strides,
                             patch_size=patch, **TINY)
    x = torch.randn(2, 2, *([16] * dims))
    out = model(x)
    assert out.shape == (2, 3, *([16] * dims))
    out.mean().backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if not n.startswith("seg_layers."))
    model.deep_supervision = True
    outputs = model(x)
    assert [o.shape[-1] for o in outputs] == [16, 8, 4]


def test_input_checks():
    bot = build_xlstm_unet("bot", spatial_dims=3, in_channels=1, out_channels=2, strides=[1, 2, 2, 2], **TINY)
    with pytest.raises(InputShapeError, match=r"W must be divisible by 8"):
        bot(torch.randn(1, 1, 16, 16, 12))
    enc = build_xlstm_unet("enc", spatial_dims=2, in_channels=1, out_channels=2, strides=[1, 2, 2, 2],
                           patch_size=[32, 32], **TINY)
    assert enc(torch.randn(1, 1, 32, 32)).shape == (1, 2, 32, 32)
    with pytest.raises(InputShapeError, match=r"must have shape \[B, C=1, H=32, W=32\]"):
        enc(torch.randn(1, 1, 64, 64))
    with pytest.raises(ConfigError, match="patch_size"):
        build_xlstm_unet("enc", spatial_dims=2, in_channels=1, out_channels=2, strides=[1, 2, 2, 2], **TINY)


def test_he_init_and_forget_gate_bias():
    model = build_xlstm_unet("bot", spatial_dims=2, in_channels=1, out_channels=2, strides=[1, 2, 2, 2], **TINY)
    conv = model.stem[0].conv1.weight
    assert conv.std().item() == pytest.approx(math.sqrt(2 / (1 + 0.01**2) / conv[0].numel()), rel=0.5)
    assert torch.allclose(model.xlstm.vil.layer.fgate.bias, torch.linspace(3, 6, 4))
    assert torch.equal(model.xlstm.vil.norm.weight, torch.zeros(16))
