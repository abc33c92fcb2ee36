"""Meta-SpikeFormer: time steps, statelessness, binary spikes, attention arithmetic, errors."""

import pytest
import torch

import zoo
from zoo.errors import InputShapeError
from zoo_spiking.blocks.neurons import MultiStepLIF
from zoo_spiking.models.spikeformer import BNAndPad, MetaSpikeFormer, MS_Attention_RepConv_qkv_id

SMALL = dict(embed_dim=[16, 32, 64, 80], num_heads=8, num_classes=10)


def test_t_steps_stateless_and_binary():
    torch.manual_seed(0)
    model = MetaSpikeFormer(T=3, **SMALL).eval()
    x = torch.randn(2, 3, 32, 32) * 3
    spikes = []
    for m in model.modules():
        if isinstance(m, MultiStepLIF):
            m.register_forward_hook(lambda mod, inp, out: spikes.append(out))
    with torch.no_grad():
        a = model(x)
        b = model(x)  # no reset_net needed: the membrane lives only inside forward
        frames = model(x[:, None].expand(2, 3, 3, 32, 32))  # [B, T, C, H, W] frames
    assert a.shape == (2, 10)
    assert torch.equal(a, b) and torch.equal(a, frames)
    assert spikes[0].shape[0] == 3
    assert set(torch.unique(torch.cat([s.flatten() for s in spikes])).tolist()) == {0.0, 1.0}
    assert model.spike_rates()["downsample1_2.encode_lif"] > 0


def test_a_sample_does_not_depend_on_the_rest_of_the_batch():
    torch.manual_seed(0)
    model = MetaSpikeFormer(T=2, **SMALL).eval()
    x = torch.randn(3, 3, 32, 32) * 3
    with torch.no_grad():
        torch.testing.assert_close(model(x)[1:2], model(x[1:2]))


def test_attention_is_linear_spike_attention_with_fixed_scale():
    torch.manual_seed(0)
    attn = MS_Attention_RepConv_qkv_id(16, num_heads=8).eval()
    x = torch.randn(1, 1, 16, 4, 4) * 4
    captured = {}
    for name in ("q_lif", "k_lif", "v_lif", "attn_lif"):
        getattr(attn, name).register_forward_hook(lambda m, i, o, name=name: captured.update({name: (i[0], o)}))
    with torch.no_grad():
        attn(x)
    q, k, v = (captured[n][1].flatten(3).transpose(-1, -2).reshape(1, 1, 16, 8, 2).transpose(2, 3)
               for n in ("q_lif", "k_lif", "v_lif"))
    expected = ((q @ k.transpose(-2, -1)) @ v * 0.125).transpose(3, 4).reshape(1, 1, 16, 4, 4)
    torch.testing.assert_close(captured["attn_lif"][0], expected)  # softmax-free, same as Q (K^T V)
    assert attn.attn_lif.v_threshold == 0.5


def test_bn_and_pad_pads_with_the_bn_response_to_zero():
    layer = BNAndPad(2).eval()
    layer.bn.running_mean.fill_(1.0)
    layer.bn.bias.data.fill_(0.5)
    out = layer(torch.zeros(1, 2, 3, 3))
    assert out.shape == (1, 2, 5, 5)
    torch.testing.assert_close(out[:, :, 0], out[:, :, 2, 2:3].expand(1, 2, 5))


def test_kd_head_averages_in_eval_and_returns_both_in_training():
    model = MetaSpikeFormer(kd=True, **SMALL)
    x = torch.randn(2, 3, 32, 32)
    assert isinstance(model.train()(x), tuple)
    assert model.eval()(x).shape == (2, 10)


@pytest.mark.parametrize("x", [torch.zeros(3, 32, 32), torch.zeros(2, 1, 32, 32), torch.zeros(2, 2, 3, 32, 32),
                               torch.zeros(1, 3, 8, 8)])
def test_bad_inputs(x):
    with pytest.raises(InputShapeError):
        MetaSpikeFormer(T=1, **SMALL)(x)


@pytest.mark.parametrize("name, params", [
    ("meta-spikeformer-15m", 15_112_208), ("meta-spikeformer-31m", 31_333_864), ("meta-spikeformer-55m", 55_350_248),
])
def test_exact_parameter_counts_from_the_authors_class(name, params):
    with torch.device("meta"):
        model = zoo.build(name)
    assert sum(p.numel() for p in model.parameters()) == params
