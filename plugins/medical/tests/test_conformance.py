"""The core's conformance kit on every model and dataset spec of zoo-medical."""

import pytest

from zoo.testing import check_dataset_spec, check_model, check_plugin_is_light, dataset_specs, model_specs

MODELS = model_specs(plugin="medical")
DATASETS = dataset_specs(plugin="medical")


def test_the_plugin_registers_its_models_and_datasets():
    assert {s.name for s in MODELS} == {
        "scse-unet-2d", "scse-unet-3d", "xlstm-unet-bot-2d", "xlstm-unet-bot-3d", "xlstm-unet-enc-2d",
        "xlstm-unet-enc-3d", "medvit-v2-tiny", "medvit-v2-small", "medvit-v2-base", "medvit-v2-large",
    }
    assert {s.name for s in DATASETS} == {"medical-decathlon", "medmnist"}


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_conformance(spec):
    check_model(spec)


@pytest.mark.parametrize("spec", DATASETS, ids=lambda s: s.name)
def test_dataset_conformance(spec):
    check_dataset_spec(spec)


def test_listing_imports_neither_torch_nor_monai():
    check_plugin_is_light("medical", forbidden=("torch", "monai", "numpy", "nibabel"))
