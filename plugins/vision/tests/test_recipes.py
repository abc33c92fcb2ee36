"""The vision recipes' hooks: B-cos's uniform-off-label BCE and 6-channel input, VanillaNet's BCE and
deep-training lambda, and timm's LAMB behind ``optimiser="lamb"``."""

import pytest
import torch
import torch.nn.functional as F

from zoo.errors import InputShapeError
from zoo.registry import get_registry
from zoo.training import parts
from zoo_vision.training import AddInverse, add_inverse, one_hot_bce, uniform_off_label_bce, vanillanet_lambda


def test_bce_hooks_by_hand():
    logits, target = torch.tensor([[2.0, -1.0, 0.5, 0.0]]), torch.tensor([2])
    off = torch.tensor([[0.25, 0.25, 1.0, 0.25]])  # every off label raised to 1/C
    assert torch.allclose(uniform_off_label_bce(logits, target), F.binary_cross_entropy_with_logits(logits, off))
    hot = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    assert torch.allclose(one_hot_bce(logits, target), F.binary_cross_entropy_with_logits(logits, hot))
    with pytest.raises(InputShapeError, match="class indices"):
        one_hot_bce(logits, hot)


def test_add_inverse_gives_bcos_inputs():
    images = [(torch.rand(3, 4, 4), 1), (torch.rand(3, 4, 4), 0)]
    train, validation = add_inverse(images, images[:1], None, {})
    x, label = train[0]
    assert x.shape == (6, 4, 4) and torch.allclose(x[3:], 1 - images[0][0]) and label == 1
    assert len(validation) == 1 and AddInverse.in_channels == 6
    with pytest.raises(InputShapeError, match="RGB images"):
        AddInverse([(torch.rand(1, 4, 4), 0)])[0]


def test_vanillanet_recipe_ramps_lambda_and_trains_with_lamb(timm):
    import zoo

    spec = get_registry().model("vanillanet-5")
    recipe = spec.get_recipe()
    model = zoo.build("vanillanet-5", num_classes=3)
    for epoch, expected in ((0, 0.0), (50, 0.5), (150, 1.0)):
        vanillanet_lambda(model, epoch, recipe)
        assert model.act_learn == expected and all(stage.act_learn == expected for stage in model.stages)
    net = torch.nn.Linear(3, 2)
    optimiser = parts.optimiser(recipe, net.parameters())
    assert type(optimiser).__module__.startswith("timm.optim") and optimiser.defaults["weight_decay"] == 0.35
    net(torch.ones(1, 3)).sum().backward()
    before = net.weight.detach().clone()
    optimiser.step()
    assert not torch.equal(before, net.weight)
    assert parts.loss_fn(recipe)(torch.zeros(2, 3), torch.tensor([0, 2]), net) > 0
