"""zoo: a model zoo for domain-specific deep learning with a plugin architecture.

    import zoo
    zoo.list_models("*unet*", domain="medical")
    model = zoo.load("scse-unet-3d", pretrained=True)

Importing zoo imports pluggy and the spec dataclasses only; torch is imported when a model is
built, loaded or explained.
"""

from __future__ import annotations

from importlib import metadata as _metadata

import pluggy

from zoo.errors import ZooError
from zoo.shapes import expect_shape
from zoo.specs import DatasetSpec, ExplainerSpec, FeatureLevel, ModelSpec, Paper, WeightsSpec
from zoo.training.recipe import TrainRecipe

try:  # the distribution's metadata is the one version source (VERSION, read by setuptools)
    __version__ = _metadata.version("zoo-core")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

hookimpl = pluggy.HookimplMarker("zoo")

_API = {
    "list_models", "list_datasets", "list_explainers", "info", "load", "save", "publish",
    "download", "dataset", "explain", "explain_metrics", "build", "register_plugin",
    "unregister_plugin", "plugin_report", "parse_name", "parse_reference",
}

__all__ = [
    "DatasetSpec", "ExplainerSpec", "FeatureLevel", "ModelSpec", "Paper", "TrainRecipe", "WeightsSpec", "ZooError",
    "expect_shape", "hookimpl", "train", *sorted(_API),
]


def __getattr__(name: str):
    # The API lives in zoo.api, which imports nothing heavy either; loading it lazily keeps
    # `import zoo` from a plugin's plugin.py (which only needs hookimpl and the specs) minimal.
    if name in _API:
        from zoo import api

        return getattr(api, name)
    if name == "train":  # zoo.training's engine imports torch only when a run starts
        from zoo.training import train

        return train
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
