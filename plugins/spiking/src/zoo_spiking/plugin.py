"""zoo-spiking's hook implementations: they only collect the spec modules' tuples (no torch is imported)."""

from __future__ import annotations

import zoo
from zoo.specs import DatasetSpec, ModelSpec
from zoo_spiking.data import modelnet40
from zoo_spiking.models import e3dsnn_specs, spikeformer_specs


@zoo.hookimpl
def zoo_models() -> list[ModelSpec]:
    return [*e3dsnn_specs.MODELS, *spikeformer_specs.MODELS]


@zoo.hookimpl
def zoo_datasets() -> list[DatasetSpec]:
    return [*modelnet40.DATASETS]
