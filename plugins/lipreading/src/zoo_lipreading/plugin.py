"""zoo-lipreading's hooks: they only collect the spec modules' tuples (no torch is imported here)."""

from __future__ import annotations

import zoo
from zoo_lipreading.data import lrw, lrw1000
from zoo_lipreading.models import dctcn_specs, mstcn_specs, td3net_specs


@zoo.hookimpl
def zoo_models() -> list:
    return [*td3net_specs.MODELS, *mstcn_specs.MODELS, *dctcn_specs.MODELS]


@zoo.hookimpl
def zoo_datasets() -> list:
    return [*lrw.DATASETS, *lrw1000.DATASETS]


@zoo.hookimpl
def zoo_cli(subparsers) -> None:
    from zoo_lipreading.cli import add_commands

    add_commands(subparsers)
