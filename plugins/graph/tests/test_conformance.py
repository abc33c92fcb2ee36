"""Every model and dataset spec of zoo-graph passes zoo's conformance kit."""

from __future__ import annotations

import pytest

from zoo.testing import check_dataset_spec, check_model, check_plugin_is_light, dataset_specs, model_specs

MODELS = model_specs(plugin="graph")
DATASETS = dataset_specs(plugin="graph")


def test_plugin_registers_everything():
    assert {s.name for s in MODELS} == {
        "ultragcn", "lightgcn", "catgcn", "evolvegcn-h", "evolvegcn-o", "gcn", "elliptic-gcn", "elliptic-skip-gcn",
        "la-gcn", "la-gat", "lagnn-cvae",
    }
    assert {s.name for s in DATASETS} >= {"planetoid-cora", "amazon-cds", "amazon-electronics", "elliptic"}


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_model_conformance(spec):
    check_model(spec)


@pytest.mark.parametrize("spec", DATASETS, ids=lambda s: s.name)
def test_dataset_conformance(spec):
    check_dataset_spec(spec)


def test_plugin_module_imports_no_torch():
    check_plugin_is_light("graph", forbidden=("torch", "torch_geometric", "numpy", "scipy"))
