import pytest
import torch
from zoo_core_fixtures import SpecPlugin, tiny_spec

import zoo
from zoo.testing import ConformanceError, check_model


class Unchecked(torch.nn.Module):
    """Accepts anything: no input validation."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.linear(x)


def build_unchecked():
    return Unchecked()


def example_vector(config):
    return torch.randn(3, 4)


def test_a_conforming_model_passes_including_the_save_load_round_trip(fresh_registry):
    spec = tiny_spec()
    zoo.register_plugin(SpecPlugin(spec), name="tiny")
    check_model(spec)


def test_a_wrong_parameter_count_fails():
    with pytest.raises(ConformanceError, match="the spec says 5, the model has"):
        check_model(tiny_spec(num_params=5))


def test_a_missing_explain_layer_fails():
    with pytest.raises(ConformanceError, match="no sub-module named 'features.9'"):
        check_model(tiny_spec(explain_layer="features.9"))


def test_a_model_that_accepts_wrong_shapes_fails():
    spec = tiny_spec(name="unchecked", builder="test_conformance:build_unchecked",
                     example_input="test_conformance:example_vector", num_params=10, default_config={},
                     explain_layer=None)
    with pytest.raises(ConformanceError, match="InputShapeError"):
        check_model(spec)
