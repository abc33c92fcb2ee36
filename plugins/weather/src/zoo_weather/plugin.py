"""zoo-weather's hook implementations: they only collect the spec modules' tuples (no torch, no xarray)."""

from __future__ import annotations

from zoo import hookimpl
from zoo_weather.data import gridded
from zoo_weather.models import puyun_specs


@hookimpl
def zoo_models() -> list:
    return [*puyun_specs.MODELS]


@hookimpl
def zoo_datasets() -> list:
    return [*gridded.DATASETS]
