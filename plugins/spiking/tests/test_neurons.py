"""The spiking neurons: E-3DSNN's integer multispike and Meta-SpikeFormer's LIF."""

import pytest
import torch

from zoo_spiking.blocks.neurons import MultiSpike, MultiStepLIF, multispike


def test_multispike_rounds_half_up_and_clamps():
    u = torch.tensor([-1.0, 0.0, 0.49, 0.5, 1.5, 2.5, 3.49, 3.5, 4.0, 9.0])
    assert multispike(u).tolist() == [0, 0, 0, 1, 2, 3, 3, 4, 4, 4]  # torch.round would give 2 for 2.5


def test_multispike_straight_through_gradient_only_inside_the_range():
    u = torch.tensor([-0.5, 0.0, 0.3, 2.7, 3.99, 4.0, 5.0], requires_grad=True)
    multispike(u).sum().backward()
    assert u.grad.tolist() == [0, 0, 1, 1, 1, 0, 0]


def test_multispike_module_reports_its_firing_rate():
    neuron = MultiSpike()
    neuron(torch.tensor([4.0, 4.0, 0.0, 0.0]))
    assert neuron.firing_rate == pytest.approx(0.5)


def test_lif_matches_the_membrane_equations():
    # tau = 2: H = V + (X - V) / 2; fire at H >= 1; hard reset to 0
    x = torch.tensor([[1.5], [1.5], [0.4], [3.0]])
    s = MultiStepLIF()(x)
    # H: 0.75 (no spike) -> 1.125 (spike, V=0) -> 0.2 -> 1.6 (spike)
    assert s.flatten().tolist() == [0, 1, 0, 1]
    assert MultiStepLIF(v_threshold=0.5)(torch.tensor([[1.0]])).item() == 1


def test_lif_keeps_no_state_between_calls():
    lif = MultiStepLIF()
    x = torch.rand(4, 3, 5) * 3
    assert torch.equal(lif(x), lif(x))


def test_lif_equals_spikingjelly_forward_and_backward():
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    surrogate = pytest.importorskip("spikingjelly.activation_based.surrogate")
    torch.manual_seed(0)
    x = (torch.rand(6, 4, 8) * 4 - 1).requires_grad_()
    reference = neuron.LIFNode(tau=2.0, detach_reset=True, step_mode="m",
                               surrogate_function=surrogate.Sigmoid(alpha=4.0))
    expected = reference(x)
    (expected * torch.arange(8.0)).sum().backward()
    grad_ref, x.grad = x.grad.clone(), None
    ours = MultiStepLIF()(x)
    (ours * torch.arange(8.0)).sum().backward()
    assert torch.equal(ours, expected)
    torch.testing.assert_close(x.grad, grad_ref)
