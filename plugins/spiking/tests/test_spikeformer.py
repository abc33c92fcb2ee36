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


def _pooled_and_logits(model, x):
    """The pooled features (input of ``lif``), the spikes after it and the model's logits."""
    seen = {}
    model.lif.register_forward_hook(lambda m, i, o: seen.update(pooled=i[0], spikes=o))
    with torch.no_grad():
        logits = model(x)
    return seen["pooled"], seen["spikes"], logits


def test_head_reads_the_spikes_of_the_pooled_features_as_in_the_authors_d95ad13():
    # BICLab/Spike-Driven-Transformer-V2 commit d95ad13 (2024-03-25): x = self.head(self.lif(x)).mean(0)
    torch.manual_seed(0)
    model = MetaSpikeFormer(T=2, **SMALL).eval()
    with torch.no_grad():
        model.head.bias.zero_()
    pooled, spikes, logits = _pooled_and_logits(model, torch.randn(2, 3, 32, 32) * 3)
    assert set(torch.unique(spikes).tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(logits, model.head(spikes).mean(0), rtol=0, atol=0)
    assert not torch.allclose(logits, model.head(pooled).mean(0))


def test_the_earlier_head_on_real_valued_features_is_an_option():
    torch.manual_seed(0)
    model = MetaSpikeFormer(T=2, spiking_head=False, kd=True, **SMALL).eval()
    pooled, spikes, logits = _pooled_and_logits(model, torch.randn(2, 3, 32, 32) * 3)
    expected = (model.head(pooled).mean(0) + model.head_kd(spikes).mean(0)) / 2  # head_kd always reads spikes
    torch.testing.assert_close(logits, expected, rtol=0, atol=0)


def test_registered_models_use_the_current_head():
    from zoo_spiking.models.spikeformer_specs import MODELS

    assert all(spec.default_config["spiking_head"] is True for spec in MODELS)
    with torch.device("meta"):
        assert zoo.build("meta-spikeformer-55m").spiking_head is True


def test_the_authors_checkpoint_layout_loads_without_renaming():
    # Names and shapes of the state dict of the authors' metaspikformer_8_512(kd=True) (their
    # classification/models.py), the module behind the released 55M_kd.pth / 55M_kd_T4.pth.
    import json
    from pathlib import Path

    from zoo_spiking.models.spikeformer import build_spikeformer, convert_spikeformer_checkpoint

    shapes = json.loads((Path(__file__).parent / "data" / "sdt_v2_55m_kd_state_dict.json").read_text())["shapes"]
    with torch.device("meta"):
        authors = {f"module.{k}": torch.empty(s) for k, s in shapes.items()}
        checkpoint = {"model": authors, "epoch": 299, "optimizer": {"state": {}}}
        model = build_spikeformer("55m", kd=True, T=4)
    state = convert_spikeformer_checkpoint(checkpoint)
    assert set(state) == set(model.state_dict())
    model.load_state_dict(state, strict=True, assign=True)
    assert sum(p.numel() for p in model.parameters()) == 55_991_248


def test_spikingjelly_lif_nodes_give_the_zoo_neurons_outputs_and_gradients():
    from spikingjelly.activation_based import neuron

    torch.manual_seed(0)
    ours = MetaSpikeFormer(T=3, kd=True, **SMALL)
    theirs = MetaSpikeFormer(T=3, kd=True, neuron="spikingjelly", **SMALL)
    theirs.load_state_dict(ours.state_dict(), strict=True)  # the neurons hold no state-dict entries
    lifs = [m for m in theirs.modules() if isinstance(m, neuron.LIFNode)]
    assert len(lifs) == sum(isinstance(m, MultiStepLIF) for m in ours.modules()) and lifs[0].step_mode == "m"
    assert theirs.block3[0].attn.attn_lif.v_threshold == 0.5
    x = torch.randn(2, 3, 32, 32) * 3
    for mode in ("eval", "train"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        a, b = ours(x), theirs(x)
        a, b = (a[0], b[0]) if mode == "train" else (a, b)
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(theirs(x)[0], b, rtol=0, atol=0)  # reset at every forward: no state carried over
    a.sum().backward()
    b.sum().backward()
    # an untrained 14-block network in training mode amplifies gradients a lot: compare relative to their size
    g_theirs, g_ours = theirs.downsample1_1.encode_conv.weight.grad, ours.downsample1_1.encode_conv.weight.grad
    assert g_ours.norm() > 0 and (g_theirs - g_ours).norm() <= 1e-5 * g_ours.norm()
    assert theirs.spike_rates().keys() == ours.spike_rates().keys()


def test_unknown_neuron_is_a_config_error():
    from zoo.errors import ConfigError

    with pytest.raises(ConfigError, match="neuron"):
        MetaSpikeFormer(neuron="izhikevich", **SMALL)
