"""The zoo conformance kit on every spec of the plugin, and the plugin's metadata rules."""

import subprocess
import sys

import pytest

import zoo
from zoo.testing import check_dataset_spec, check_model, dataset_specs, model_specs
from zoo.testing.conformance import check_plugin_is_light

SPECS = model_specs(plugin="spiking")


def test_every_model_is_registered():
    assert {s.name for s in SPECS} == {
        "edge-3dsnn", "edge-3dsnn-s", "edge-3dsnn-m", "edge-3dsnn-l", "edge-3dsnn-seg",
        "meta-spikeformer-15m", "meta-spikeformer-31m", "meta-spikeformer-55m",
    }


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_conformance(spec):
    check_model(spec)


@pytest.mark.parametrize("spec", dataset_specs(plugin="spiking"), ids=lambda s: s.name)
def test_dataset_conformance(spec):
    check_dataset_spec(spec)


def test_exact_parameter_counts_from_the_papers():
    expected = {
        "edge-3dsnn": 1_874_216, "edge-3dsnn-s": 3_271_144, "edge-3dsnn-m": 17_330_600,
        "edge-3dsnn-l": 46_574_248, "edge-3dsnn-seg": 20_049_683, "meta-spikeformer-15m": 15_112_208,
        "meta-spikeformer-31m": 31_333_864, "meta-spikeformer-55m": 55_350_248,
    }
    import torch

    for spec in SPECS:
        with torch.device("meta"):
            model = zoo.build(spec.name)
        assert sum(p.numel() for p in model.parameters()) == expected[spec.name], spec.name


def test_listing_the_plugin_imports_no_torch():
    check_plugin_is_light("spiking")


def test_plugin_module_does_not_import_torch():
    code = "import sys, zoo_spiking.plugin as p; p.zoo_models(); p.zoo_datasets(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
