"""LinearScope (arXiv:1908.05168): the doubled batch reproduces the network at z = x, is affine in z,
and splits f(x) into A(x)x + b(x), on the zoo's plain CNNs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo.errors import ExplainError
from zoo_vision.explainers.linearscope import linear_interpreter, linearscope_forward
from zoo_vision.models.eca_resnet import ECAResNet
from zoo_vision.models.vanillanet import VanillaNet


def _trained_like(model: nn.Module) -> nn.Module:
    """Non-trivial BN statistics and shifts, as a trained model has (so that biases matter)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 2)
            m.running_mean.normal_(0, 0.1)
            m.bias.data.normal_(0, 0.1)
    return model.eval()


def _eca() -> nn.Module:
    return _trained_like(ECAResNet(block="basic", layers=(1, 1, 1, 1), kernel_sizes=(3, 3, 3, 3), num_classes=10))


def _vanillanet() -> nn.Module:
    model = _trained_like(VanillaNet(dims=(16, 32, 64), strides=(2, 2), num_classes=10))
    model.set_lambda(0.3)  # mid deep-training: leaky ReLUs between the conv pairs
    return model


def _vanillanet_deploy() -> nn.Module:
    return _trained_like(VanillaNet(dims=(16, 32, 64), strides=(2, 2), num_classes=10)).switch_to_deploy()


class _Activations(nn.Module):
    """Every pointwise rule, both max-pool rules and both norm rules on one small net."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.GELU(), nn.Conv2d(8, 8, 3), nn.SiLU(),
            nn.Sigmoid(), nn.Conv2d(8, 8, 1), nn.Tanh(), nn.ELU(0.5), nn.Hardswish(), nn.Softplus(2.0),
            nn.MaxPool2d(2), nn.AdaptiveMaxPool2d(2), nn.Flatten(), nn.LayerNorm(32), nn.Linear(32, 5))
        for m in self.body:
            if isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
                nn.init.normal_(m.weight, 1, 0.2)
                nn.init.normal_(m.bias, 0, 0.2)

    def forward(self, x):
        return self.body(x)


def _inception() -> nn.Module:
    from zoo_vision.models.inception_v4 import build_inception_v4

    return _trained_like(build_inception_v4(num_classes=10))


MODELS = {"eca-resnet": (_eca, 32), "vanillanet": (_vanillanet, 32), "vanillanet-deploy": (_vanillanet_deploy, 32),
          "activations": (_Activations, 12)}


@pytest.fixture(scope="module", params=list(MODELS))
def case(request):
    torch.manual_seed(0)
    build, size = MODELS[request.param]
    return build().eval(), torch.randn(2, 3, size, size)


def test_first_half_is_the_network_and_second_half_at_z_equal_x_repeats_it(case):
    model, x = case
    with torch.no_grad():
        first, second = linearscope_forward(model, x, x)
        torch.testing.assert_close(first, model(x), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(second, first, rtol=1e-5, atol=1e-6)


def test_second_half_is_affine_in_z(case):
    model, x = case
    z1, z2 = torch.randn_like(x), torch.randn_like(x)
    with torch.no_grad():
        _, b = linearscope_forward(model, x, torch.zeros_like(x))
        _, y1 = linearscope_forward(model, x, z1)
        _, y2 = linearscope_forward(model, x, z2)
        _, y = linearscope_forward(model, x, 2.0 * z1 - 0.5 * z2)
    torch.testing.assert_close(y - b, 2.0 * (y1 - b) - 0.5 * (y2 - b), rtol=1e-4, atol=1e-5)


def test_interpreter_splits_the_output_into_contributions_and_bias(case):
    model, x = case
    result = linear_interpreter(model, x, targets=[1, 3])
    picked = torch.arange(2), torch.tensor([1, 3])
    torch.testing.assert_close(result.contributions.sum((1, 2)) + result.bias[picked], result.output[picked],
                               rtol=1e-4, atol=1e-5)
    assert result.rows.shape == x.shape
    with torch.no_grad():
        _, bias = linearscope_forward(model, x, torch.zeros_like(x))
    torch.testing.assert_close(result.bias, bias)


def test_inception_v4_exactness():
    torch.manual_seed(0)
    model, x = _inception(), torch.randn(1, 3, 75, 75)
    with torch.no_grad():
        first, second = linearscope_forward(model, x, x)
        torch.testing.assert_close(first, model(x), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(second, first, rtol=1e-5, atol=1e-6)


def test_rows_of_a_piecewise_linear_network_are_its_input_gradient():
    torch.manual_seed(0)
    model, x = _vanillanet(), torch.randn(2, 3, 32, 32)
    result = linear_interpreter(model, x, targets=[4, 7])
    leaf = x.clone().requires_grad_()
    (gradient,) = torch.autograd.grad(model(leaf)[torch.arange(2), torch.tensor([4, 7])].sum(), leaf)
    torch.testing.assert_close(result.rows, gradient, rtol=1e-4, atol=1e-7)


def test_zoo_explain_and_model_left_as_it_was():
    torch.manual_seed(0)
    model, x = _eca().train(), torch.randn(2, 3, 32, 32)
    explanation = zoo.explain(model, x, method="linearscope", targets=[0, 1])
    assert explanation.maps.shape == (2, 32, 32) and explanation.method == "linearscope"
    assert 0 <= explanation.maps.min() and explanation.maps.max() <= 1
    assert explanation.targets.tolist() == [0, 1]
    assert model.training and not any("forward" in vars(m) for m in model.modules())


class _Softmax(nn.Module):
    def forward(self, x):
        return F.softmax(x.flatten(1), -1)


class _Square(nn.Module):
    def forward(self, x):
        return x * x


class _BatchStatistics(nn.Module):
    def forward(self, x):
        return F.batch_norm(x, None, None, training=True)


@pytest.mark.parametrize(("unit", "message"), [(_Softmax(), "softmax"), (_Square(), "multiplies two activations"),
                                              (_BatchStatistics(), "training mode")])
def test_unsupported_non_linearities_are_named(unit, message):
    model = nn.Sequential(nn.Conv2d(3, 4, 1), unit)
    x = torch.randn(1, 3, 8, 8)
    with pytest.raises(ExplainError, match=message):
        linearscope_forward(model, x, x)


def test_bad_inputs():
    model = _Activations()
    with pytest.raises(ExplainError, match="same shape"):
        linearscope_forward(model, torch.randn(1, 3, 12, 12), torch.randn(2, 3, 12, 12))
    with pytest.raises(ExplainError, match="image batch"):
        linear_interpreter(model, torch.randn(3, 12, 12))
    with pytest.raises(ExplainError, match="no target_layer"):
        zoo.explain(model, torch.randn(1, 3, 12, 12), method="linearscope", target_layer="body")
