"""The whole conformance kit for one plugin, as one pytest class.

A plugin's ``tests/test_conformance.py`` is one statement::

    from zoo.testing import plugin_suite

    TestConformance = plugin_suite(
        "medical",                                   # the plugin's entry-point name
        models={"scse-unet-2d", "scse-unet-3d"},     # optional: exactly these names are registered
        forbidden=("torch", "monai"),                # listing the plugin imports none of these
    )

pytest then runs, on one torch thread each: the plugin loads in strict mode and registers what it
says; every model spec passes :func:`check_model` (parameter count, explain layer, forward, wrong
shape rejected, bit-exact save/load), every dataset and explainer spec its check; and listing the
plugin imports none of ``forbidden``.
"""

from __future__ import annotations

from collections.abc import Iterable

from zoo.registry import get_registry
from zoo.testing.conformance import (
    check_dataset_spec,
    check_explainer_spec,
    check_model,
    check_plugin_is_light,
    dataset_specs,
    explainer_specs,
    model_specs,
)


def plugin_suite(plugin: str, *, models: Iterable[str] | None = None, datasets: Iterable[str] | None = None,
                 explainers: Iterable[str] | None = None, forbidden: tuple[str, ...] = ("torch",)) -> type:
    """A test class running the conformance kit on every spec of ``plugin`` (bind it to a ``Test*`` name)."""
    import pytest

    found = {"model": model_specs(plugin), "dataset": dataset_specs(plugin), "explainer": explainer_specs(plugin)}
    expected = {"model": models, "dataset": datasets, "explainer": explainers}
    checks = {"model": check_model, "dataset": check_dataset_spec, "explainer": check_explainer_spec}

    @pytest.fixture(autouse=True)
    def _one_thread(self, one_torch_thread):
        yield

    def test_plugin_loads_and_registers_what_it_says(self):
        info = get_registry().plugins.get(plugin)
        assert info is not None, f"no plugin named {plugin!r} is installed (entry point group 'zoo.plugins')"
        assert info.status == "ok", f"plugin {plugin!r} is {info.status}: {info.error}"
        assert any(found.values()), f"plugin {plugin!r} registers nothing"
        for kind, names in expected.items():
            if names is not None:
                assert {s.name for s in found[kind]} == set(names), f"{kind}s registered by {plugin!r}"

    def test_listing_is_light(self):
        check_plugin_is_light(plugin, forbidden)

    namespace = {
        "_one_thread": _one_thread,
        "test_plugin_loads_and_registers_what_it_says": test_plugin_loads_and_registers_what_it_says,
        "test_listing_is_light": test_listing_is_light,
    }
    for kind, specs in found.items():
        if specs:  # an empty parameter set would only be reported as a skip
            namespace[f"test_{kind}"] = pytest.mark.parametrize("spec", specs, ids=lambda s: s.name)(
                _checker(checks[kind]))
    return type(f"Test{plugin.title().replace('-', '')}Conformance", (), namespace)


def _checker(check):
    def test(self, spec):
        check(spec)

    return test
