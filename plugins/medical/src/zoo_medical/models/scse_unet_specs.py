"""What the scSE U-Nets are: the paper, the two registered sizes and their specs (torch-free)."""

from __future__ import annotations

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="Recalibrating Fully Convolutional Networks with Spatial and Channel 'Squeeze & Excitation' Blocks",
    arxiv="1808.08127", venue="IEEE TMI 2019", code="https://github.com/ai-med/squeeze_and_excitation",
)
_MODULE = "zoo_medical.models.scse_unet"
QUICKNAT_CODE = Paper(title="QuickNAT (scSE host network) training settings, settings.ini [TRAINING]",
                      code="https://github.com/ai-med/quickNAT_pytorch")

# The authors' released settings (ai-med/quickNAT_pytorch settings.ini): Adam 1e-4 (betas 0.9/0.999),
# weight decay 1e-5, batch 5, StepLR every 3 epochs x 0.1, 10 epochs. Their loss is CE weighted by
# median frequency and boundaries plus Dice; zoo's dice-ce is the unweighted sum.
RECIPES = (
    TrainRecipe(name="paper", optimiser="adam", lr=1e-4, momentum=0.9, beta2=0.999, weight_decay=1e-5,
                batch_size=5, epochs=10, schedule="step", step_epochs=3, gamma=0.1, loss="dice-ce",
                source=QUICKNAT_CODE, notes="unweighted CE + Dice (the authors weight CE per voxel)"),
)

# spatial_dims -> parameter count of the default config (MONAI residual U-Net, widths 16..256)
NUM_PARAMS = {2: 1_719_361, 3: 4_900_681}


def default_config(spatial_dims: int) -> dict:
    return {"spatial_dims": spatial_dims, "in_channels": 1, "out_channels": 2, "channels": [16, 32, 64, 128, 256],
            "strides": [2, 2, 2, 2], "num_res_units": 2, "norm": "INSTANCE", "dropout": 0.0, "se": "scse", "r": 2}


MODELS = tuple(
    ModelSpec(
        name=f"scse-unet-{dims}d", domain="medical", task="segmentation", paper=PAPER,
        builder=f"{_MODULE}:build_scse_unet", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=num_params, default_config=default_config(dims),
        # The last decoder block (with its scSE), one level below the logits: the usual Grad-CAM
        # target for a U-Net - spatially fine, yet semantic.
        explain_layer="model.1.submodule.2",
        input_shape=f"[B, 1, {'D, H, W' if dims == 3 else 'H, W'}] float; every spatial size a multiple of 16 "
                    "and at least one of them 32 or more (the deepest level needs more than one voxel)",
        tags=("unet", "squeeze-excitation", "monai", f"{dims}d"), recipes=RECIPES,
        description=f"MONAI residual U-Net with a (max-out) scSE block after every encoder, bottleneck and "
                    f"decoder block, {dims}-D.",
    )
    for dims, num_params in NUM_PARAMS.items()
)
