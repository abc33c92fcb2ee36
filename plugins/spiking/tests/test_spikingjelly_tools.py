"""spikingjelly's tools on zoo spiking models: monitors, reset_net and set_step_mode.

spikingjelly is installed with the workspace (``make setup``, ``--no-deps``; its monitor module
needs tensorboard, in this plugin's test extra), so these tests import it unconditionally.
"""

import torch
from spikingjelly.activation_based import functional, monitor, neuron

from zoo_spiking.blocks.neurons import MultiSpike, MultiStepLIF
from zoo_spiking.models.e3dsnn import E3DSNN, example_input
from zoo_spiking.models.spikeformer import MetaSpikeFormer

SMALL = dict(embed_dim=[16, 32, 64, 80], num_heads=8, num_classes=10)


def _trained_like(model):
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5, generator=g)
            m.running_var.uniform_(0.002, 0.01, generator=g)
    return model.eval()


def test_output_monitor_gives_e3dsnn_firing_per_layer():
    torch.manual_seed(0)
    model = _trained_like(E3DSNN())
    rates = monitor.OutputMonitor(model, MultiSpike, function_on_output=lambda s: float(s.mean()) / 4)
    with torch.no_grad():
        model(*example_input({}))
    assert len(rates.monitored_layers) == 18
    assert dict(zip(rates.monitored_layers, rates.records)) == model.spike_rates()
    assert rates["stem.2"] == [model.spike_rates()["stem.2"]]  # records by layer name, one per forward
    rates.remove_hooks()


def test_output_monitor_on_meta_spikeformer_zoo_and_spikingjelly_neurons_alike():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32) * 3
    ours = MetaSpikeFormer(T=2, **SMALL).eval()
    theirs = MetaSpikeFormer(T=2, neuron="spikingjelly", **SMALL).eval()
    theirs.load_state_dict(ours.state_dict())
    rates = {}
    for key, model, kind in (("zoo", ours, MultiStepLIF), ("sj", theirs, neuron.LIFNode)):
        mon = monitor.OutputMonitor(model, kind, function_on_output=lambda s: float(s.mean()))
        with torch.no_grad():
            model(x)
        rates[key] = dict(zip(mon.monitored_layers, mon.records))
        mon.remove_hooks()
    assert len(rates["zoo"]) == 77 and rates["zoo"] == rates["sj"] == ours.spike_rates()


def test_attribute_monitor_reads_spikingjelly_membrane_potentials():
    # spikingjelly's neurons keep their membrane potential ``v``; the zoo's LIF keeps none (stateless).
    torch.manual_seed(0)
    model = MetaSpikeFormer(T=2, neuron="spikingjelly", **SMALL).eval()
    mon = monitor.AttributeMonitor("v", pre_forward=False, net=model, instance=neuron.LIFNode)
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    assert mon["lif"][0].shape == (1, 80)  # the head's LIF after pooling: [B, C] at the last step
    mon.remove_hooks()


def test_reset_net_and_set_step_mode_apply_where_they_mean_something():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32) * 3
    ours = MetaSpikeFormer(T=2, **SMALL).eval()
    theirs = MetaSpikeFormer(T=2, neuron="spikingjelly", **SMALL).eval()
    theirs.load_state_dict(ours.state_dict())
    with torch.no_grad():
        expected = ours(x)
        functional.reset_net(ours)  # nothing to reset in the zoo's stateless neurons: a no-op
        functional.set_step_mode(theirs, "m")  # the mode the model runs its neurons in
        got = theirs(x)
        assert not all(isinstance(m.v, float) for m in theirs.modules() if isinstance(m, neuron.LIFNode))
        functional.reset_net(theirs)
        assert all(isinstance(m.v, float) and m.v == 0.0 for m in theirs.modules() if isinstance(m, neuron.LIFNode))
        assert torch.equal(ours(x), expected) and torch.equal(got, expected)
    e3 = _trained_like(E3DSNN())
    functional.reset_net(e3)  # the integer multispike neuron has one real step and no state
    with torch.no_grad():
        a = e3(*example_input({}))
        functional.reset_net(e3)
        assert torch.equal(e3(*example_input({})), a)
