"""VanillaNet: counts of both forms for every depth, the authors' structure, deep training and
``switch_to_deploy`` (outputs equal before and after)."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.blocks import SeriesActivation
from zoo_vision.models.vanillanet import VanillaNet, build_vanillanet, deep_training_lambda
from zoo_vision.models.vanillanet_specs import VARIANTS

from ._timm_cnn import meta_count, randomise_batchnorm

# The authors' README (deploy form, millions) and the training-form counts of their code, as
# printed by the paper notes (papers-vision-explain.md section 3).
README_DEPLOY_M = {"5": 15.5, "6": 32.5, "7": 32.8, "8": 37.1, "9": 41.4, "10": 45.7, "11": 50.0, "12": 54.3,
                   "13": 58.6}
TRAINING_FORM_M = {"5": 22.33, "6": 56.12, "7": 56.67, "8": 65.18, "9": 73.68, "10": 82.19, "11": 90.69,
                   "12": 99.20, "13": 107.70}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_parameter_counts_of_both_forms(variant):
    training = meta_count(build_vanillanet, variant=variant)
    deploy = meta_count(build_vanillanet, variant=variant, deploy=True)
    assert training == VARIANTS[variant]["num_params"]
    assert deploy == VARIANTS[variant]["deploy_params"]
    assert round(deploy / 1e6, 1) == README_DEPLOY_M[variant]
    assert round(training / 1e6, 2) == TRAINING_FORM_M[variant]


def test_layout_is_the_authors():
    """Depth = stem + stages + head convs at deploy; the authors' key names (their checkpoints load 1:1)."""
    with torch.device("meta"):
        training, deploy = build_vanillanet("6"), build_vanillanet("6", deploy=True)
    assert len(deploy.stages) + 2 == 6
    assert {"stem1.0.weight", "stem2.2.bn.running_var", "stages.3.conv1.0.weight", "stages.3.conv2.1.weight",
            "stages.3.act.weight", "cls1.2.weight", "cls1.3.running_mean",
            "cls2.0.weight"} <= set(training.state_dict())
    assert {"stem.0.weight", "stem.1.bias", "stages.3.conv.weight", "stages.3.act.bias",
            "cls.2.weight"} <= set(deploy.state_dict())
    assert training.state_dict()["stages.0.act.weight"].shape == (1024, 1, 7, 7)  # act_num 3: 7x7 depthwise


def test_deep_training_schedule():
    assert [deep_training_lambda(e, 100) for e in (0, 50, 100, 250)] == [0.0, 0.5, 1.0, 1.0]
    assert deep_training_lambda(50, 100, "cosine") == pytest.approx(0.5)
    assert deep_training_lambda(25, 100, "cosine") < deep_training_lambda(25, 100)
    with pytest.raises(ConfigError):
        deep_training_lambda(1, 100, "step")


def _tiny(deploy: bool = False) -> VanillaNet:
    torch.manual_seed(0)
    model = VanillaNet(dims=[8, 16, 16, 24], strides=[2, 1, 2], num_classes=5, act_num=1, deploy=deploy)
    for m in model.modules():  # O(1) outputs, so that 1e-5 means something
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.normal_(m.weight, std=(1 / m.weight[0].numel()) ** 0.5)
            torch.nn.init.normal_(m.bias, std=0.1)
        if isinstance(m, SeriesActivation):
            torch.nn.init.normal_(m.weight, std=0.3)
    randomise_batchnorm(model)
    return model.eval()


def test_lambda_is_the_leaky_relu_slope():
    model = _tiny()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        model.set_lambda(0.0)
        nonlinear = model(x)
        model.set_lambda(1.0)
        linear = model(x)
    assert (nonlinear - linear).abs().max() > 1e-3  # the non-linearity between the 1x1 pairs is real
    assert all(stage.act_learn == 1.0 for stage in model.stages)


def test_switch_to_deploy_keeps_the_outputs():
    model = _tiny()
    x = torch.randn(3, 3, 40, 48)
    with torch.no_grad():
        before = model(x)
        model.switch_to_deploy()
        after = model(x)
    assert before.abs().max() > 0.1
    assert (before - after).abs().max() <= 1e-5
    deployed = _tiny(deploy=True)
    assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in deployed.state_dict().items()}
    assert model.deploy and not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())


def test_switch_to_deploy_needs_the_end_of_deep_training():
    model = _tiny()
    model.set_lambda(0.5)
    with pytest.raises(ConfigError, match="lambda = 1"):
        model.switch_to_deploy()


def test_deployed_registry_model_saves_and_reloads_in_deploy_form(tmp_path):
    model = zoo.build("vanillanet-5", num_classes=10).eval()
    randomise_batchnorm(model)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = model(x)
        model.switch_to_deploy()
        assert (model(x) - before).abs().max() <= 1e-5 * max(1.0, before.abs().max().item())
    zoo.save(model, tmp_path / "deployed")
    loaded = zoo.load(tmp_path / "deployed")
    assert loaded.deploy and loaded.zoo_config["deploy"] is True
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_bad_input_and_variant_are_clear_errors():
    model = _tiny()
    with pytest.raises(InputShapeError, match="at least 16"):
        model(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ConfigError, match="unknown variant"):
        build_vanillanet("4")


@pytest.mark.parametrize("deploy", [False, True])
def test_grad_cam_on_the_last_stage_in_both_forms(deploy):
    torch.manual_seed(0)
    model = zoo.build("vanillanet-5", num_classes=4, deploy=deploy).eval()
    randomise_batchnorm(model)
    x = torch.randn(2, 3, 64, 64)
    explanation = zoo.explain(model, x, method="grad-cam")
    assert explanation.target_layer == "stages.2"
    assert explanation.maps.shape == (2, 64, 64) and explanation.maps.std() > 0
    assert explanation.targets.tolist() == model(x).argmax(1).tolist()


def test_deep_training_steps_lower_the_loss_then_deploy():
    torch.manual_seed(0)
    model = VanillaNet(dims=[8, 16, 16], strides=[2, 2], num_classes=3, act_num=1)
    x, y = torch.randn(8, 3, 32, 32), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for epoch in range(40):
        model.set_lambda(deep_training_lambda(epoch, decay_epochs=10))
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    with torch.no_grad():
        before = model(x)
        model.switch_to_deploy()
        assert (model(x) - before).abs().max() <= 1e-5 * max(1.0, before.abs().max().item())
