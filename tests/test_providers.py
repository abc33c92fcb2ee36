"""The provider table that names a missing first-party plugin matches what the plugins register."""

import pytest

import zoo
from zoo.providers import PROVIDERS, provider_of
from zoo.registry import get_registry


@pytest.mark.parametrize("distribution", sorted(PROVIDERS))
def test_every_first_party_model_is_attributed_to_its_distribution(distribution):
    registry = get_registry()
    names = [s.name for s in registry.models()
             if registry.plugins[registry.plugin_of("model", s.name)].distribution == distribution]
    assert names, f"{distribution} registers no models: is it installed?"
    assert {name: provider_of(name) for name in names} == dict.fromkeys(names, distribution)


def test_every_first_party_plugin_has_a_row():
    from pathlib import Path

    plugins = Path(__file__).resolve().parents[1] / "plugins"
    distributions = {f"zoo-{folder.name}" for folder in plugins.iterdir() if (folder / "pyproject.toml").exists()}
    assert distributions == set(PROVIDERS)


def test_a_model_of_a_disabled_plugin_names_it(monkeypatch):
    from zoo.errors import UnknownNameError
    from zoo.registry import reset_registry

    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "medical")
    reset_registry()
    try:
        with pytest.raises(UnknownNameError, match="provided by zoo-medical, which is installed but disabled"):
            zoo.load("scse-unet-3d")
    finally:
        monkeypatch.delenv("ZOO_DISABLE_PLUGINS")
        reset_registry()
