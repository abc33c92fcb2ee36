"""zoo-medical's hook implementations: they only collect what the spec modules and readers declare.

Nothing imported here imports torch or MONAI (the conformance kit checks it in a fresh
interpreter): every builder, example input and reader is a lazy ``"module:function"`` string.
"""

from __future__ import annotations

from zoo import hookimpl
from zoo_medical.data import decathlon, medmnist, mri_slices
from zoo_medical.models import deeporgan_specs, medvit_specs, pk_yolo_specs, scse_unet_specs, xlstm_unet_specs


@hookimpl
def zoo_models() -> list:
    return [*scse_unet_specs.MODELS, *xlstm_unet_specs.MODELS, *medvit_specs.MODELS, *pk_yolo_specs.MODELS,
            *deeporgan_specs.MODELS]


@hookimpl
def zoo_datasets() -> list:
    return [*decathlon.DATASETS, *medmnist.DATASETS, *mri_slices.DATASETS]
