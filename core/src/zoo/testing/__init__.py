"""Testing tools for plugin authors: the conformance kit and a local Hub server.

Importing this package imports no torch; the checks import it when they run.
"""

from zoo.testing.conformance import (
    ConformanceError,
    call_model,
    check_dataset_spec,
    check_explainer_spec,
    check_model,
    check_plugin_is_light,
    dataset_specs,
    explainer_specs,
    model_specs,
)
from zoo.testing.hub_server import LocalHub
from zoo.testing.suite import plugin_suite

__all__ = [
    "ConformanceError", "LocalHub", "call_model", "check_dataset_spec", "check_explainer_spec", "check_model",
    "check_plugin_is_light", "dataset_specs", "explainer_specs", "model_specs", "plugin_suite",
]
