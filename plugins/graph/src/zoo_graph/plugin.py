"""zoo-graph's hook implementations: they only collect the spec modules' and readers' tuples.

This module must import neither torch nor torch_geometric (the conformance kit checks it in a
fresh interpreter): the spec modules and the readers are torch-free at import time.
"""

from __future__ import annotations

from zoo import DatasetSpec, ModelSpec, hookimpl
from zoo_graph.data import elliptic, planetoid, recsys, textgraph
from zoo_graph.models import (
    catgcn_specs,
    elliptic_specs,
    evolvegcn_specs,
    gcn_specs,
    lagnn_specs,
    lightgcn_specs,
    mt_text_gcn_specs,
    ultragcn_specs,
)


@hookimpl
def zoo_models() -> list[ModelSpec]:
    return [*ultragcn_specs.MODELS, *lightgcn_specs.MODELS, *catgcn_specs.MODELS, *evolvegcn_specs.MODELS,
            *gcn_specs.MODELS, *elliptic_specs.MODELS, *lagnn_specs.MODELS, *mt_text_gcn_specs.MODELS]


@hookimpl
def zoo_datasets() -> list[DatasetSpec]:
    return [*planetoid.DATASETS, *recsys.DATASETS, *elliptic.DATASETS, *textgraph.DATASETS]
