"""zoo-medical's hook implementations: metadata only.

This module must import neither torch nor MONAI (a test checks it in a fresh interpreter): every
builder, example input and dataset reader is a lazy ``"module:function"`` string.
"""

from __future__ import annotations

from zoo import DatasetSpec, ModelSpec, Paper, hookimpl

# The readers' modules are light (pathlib, json and zoo.errors at import time); sharing their
# layout strings keeps the spec and the missing-root error saying the same thing.
from zoo_medical.data import decathlon, medmnist
from zoo_medical.plans import PLAN_2D, PLAN_3D

SCSE = Paper(
    title="Recalibrating Fully Convolutional Networks with Spatial and Channel 'Squeeze & Excitation' Blocks",
    arxiv="1808.08127", venue="IEEE TMI 2019", code="https://github.com/ai-med/squeeze_and_excitation",
)
XLSTM_UNET = Paper(
    title="xLSTM-UNet can be an Effective 2D & 3D Medical Image Segmentation Backbone with Vision-LSTM (ViL) "
          "better than its Mamba Counterpart",
    arxiv="2407.01530", venue="IEEE BHI 2024", code="https://github.com/tianrun-chen/xLSTM-UNet-PyTorch",
)
MEDVIT_V2 = Paper(
    title="Medical Image Classification with KAN-Integrated Transformers and Dilated Neighborhood Attention",
    arxiv="2502.13693", venue="Applied Soft Computing 2025", code="https://github.com/Omid-Nejati/MedViTV2",
)
MSD = Paper(title="The Medical Segmentation Decathlon", arxiv="2106.05735", venue="Nature Communications 2022",
            url="http://medicaldecathlon.com")
MEDMNIST = Paper(title="MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical image "
                       "classification", arxiv="2110.14795", venue="Scientific Data 2023", url="https://medmnist.com")

_SCSE = "zoo_medical.models.scse_unet"
_XLSTM = "zoo_medical.models.xlstm_unet"
_MEDVIT = "zoo_medical.models.medvit"

def _scse(dims: int, num_params: int) -> ModelSpec:
    return ModelSpec(
        name=f"scse-unet-{dims}d", domain="medical", task="segmentation", paper=SCSE,
        builder=f"{_SCSE}:build_scse_unet", example_input=f"{_SCSE}:example_input_{dims}d",
        bad_input=f"{_SCSE}:bad_input_{dims}d", num_params=num_params,
        default_config={"spatial_dims": dims, "in_channels": 1, "out_channels": 2,
                         "channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2,
                         "norm": "INSTANCE", "dropout": 0.0, "se": "scse", "r": 2},
        # The last decoder block (with its scSE), one level below the logits: the usual Grad-CAM
        # target for a U-Net - spatially fine, yet semantic.
        explain_layer="model.1.submodule.2",
        input_shape=f"[B, 1, {'D, H, W' if dims == 3 else 'H, W'}] float; every spatial size a multiple of 16 "
                    "and at least one of them 32 or more (the deepest level needs more than one voxel)",
        tags=("unet", "squeeze-excitation", "monai", f"{dims}d"),
        description=f"MONAI residual U-Net with a (max-out) scSE block after every encoder, bottleneck and "
                    f"decoder block, {dims}-D.",
    )


def _xlstm(variant: str, dims: int, num_params: int, patch: list[int] | None) -> ModelSpec:
    plan = dict(PLAN_3D if dims == 3 else PLAN_2D, variant=variant)
    if patch is not None:
        plan["patch_size"] = patch
    return ModelSpec(
        name=f"xlstm-unet-{variant}-{dims}d", domain="medical", task="segmentation", paper=XLSTM_UNET,
        builder=f"{_XLSTM}:build_xlstm_unet", example_input=f"{_XLSTM}:example_input",
        bad_input=f"{_XLSTM}:bad_input", num_params=num_params, default_config=plan,
        explain_layer=f"decoder_stages.{len(plan['features']) - 2}",
        tags=("unet", "xlstm", "mlstm", "vision-lstm", f"{dims}d"),
        description=("U-xLSTM-Bot: residual nnU-Net with a Vision-LSTM block at the bottleneck"
                     if variant == "bot" else
                     "U-xLSTM-Enc: residual nnU-Net with Vision-LSTM blocks after the deep encoder stages")
                    + f", {dims}-D, representative nnU-Net plan.",
    )


def _medvit(variant: str, num_params: int, last_block: int) -> ModelSpec:
    return ModelSpec(
        name=f"medvit-v2-{variant}", domain="medical", task="classification", paper=MEDVIT_V2,
        builder=f"{_MEDVIT}:build_medvit", example_input=f"{_MEDVIT}:example_input",
        bad_input=f"{_MEDVIT}:bad_input", num_params=num_params,
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 3, "kernel_size": 7,
                        "dilations": [8, 4, 2, 1]},
        explain_layer=f"features.{last_block}",
        tags=("transformer", "kan", "neighborhood-attention", "2d"),
        description=f"MedViTV2-{variant}: hybrid CNN-transformer with FasterKAN feed-forwards and dilated "
                    f"neighbourhood attention (layout bugs of the released code fixed; see the model docs).",
    )


@hookimpl
def zoo_models() -> list:
    return [
        _scse(2, 1_719_361),
        _scse(3, 4_900_681),
        _xlstm("bot", 3, 42_096_462, None),
        _xlstm("enc", 3, 42_648_144, [16, 32, 64]),
        _xlstm("bot", 2, 47_446_264, None),
        _xlstm("enc", 2, 46_043_012, [128, 128]),
        _medvit("tiny", 10_735_453, 10),
        _medvit("small", 27_336_997, 11),
        _medvit("base", 60_854_937, 11),
        _medvit("large", 107_417_019, 11),
    ]


@hookimpl
def zoo_datasets() -> list:
    return [
        DatasetSpec(
            name="medical-decathlon", domain="medical", task="segmentation",
            builder="zoo_medical.data.decathlon:load_decathlon",
            layout=decathlon.LAYOUT, homepage=decathlon.HOMEPAGE, splits=decathlon.SPLITS, paper=MSD,
            license="CC-BY-SA 4.0",
            description="Any Medical Segmentation Decathlon task (or a dataset in its layout) through MONAI's "
                        "loaders, with the task's default preprocessing.",
        ),
        DatasetSpec(
            name="medmnist", domain="medical", task="classification",
            builder="zoo_medical.data.medmnist:load_medmnist",
            layout=medmnist.LAYOUT, homepage=medmnist.HOMEPAGE, splits=medmnist.SPLITS, paper=MEDMNIST,
            license="CC-BY 4.0 (most subsets)",
            description="MedMNIST v2 / MedMNIST+ 2-D and 3-D subsets read from their published .npz files.",
        ),
    ]
