"""zoo-vision's hook implementations: they only collect the spec modules' tuples (no torch imported)."""

from __future__ import annotations

from zoo import hookimpl
from zoo_vision.data import idx, image_folder
from zoo_vision.explainers import EXPLAINERS
from zoo_vision.models import (
    bcos_convnext_specs,
    bcos_densenet_specs,
    bcos_resnet_specs,
    bcos_vit_specs,
    biper_resnet_specs,
    convit_specs,
    deit_specs,
    eca_resnet_specs,
    inception_v4_specs,
    lowformer_specs,
    pvt_v1_specs,
    pvt_v2_specs,
    snnet_specs,
    vanillanet_specs,
)


@hookimpl
def zoo_models() -> list:
    return [*pvt_v2_specs.MODELS, *pvt_v1_specs.MODELS, *convit_specs.MODELS, *eca_resnet_specs.MODELS,
            *inception_v4_specs.MODELS, *vanillanet_specs.MODELS, *bcos_resnet_specs.MODELS,
            *bcos_densenet_specs.MODELS, *bcos_convnext_specs.MODELS,
            *bcos_vit_specs.MODELS, *deit_specs.MODELS, *snnet_specs.MODELS, *biper_resnet_specs.MODELS,
            *lowformer_specs.MODELS]


@hookimpl
def zoo_datasets() -> list:
    return [*image_folder.DATASETS, *idx.DATASETS]


@hookimpl
def zoo_explainers() -> list:
    return [*EXPLAINERS]
