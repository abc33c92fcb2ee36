"""What xLSTM-UNet is: the paper, representative nnU-Net plans and the registered specs (torch-free).

The paper's exact plans are per dataset: these are a 3-D AMOS-like abdomen MR plan (14 classes) and
a 2-D endoscopy-like RGB plan (8 classes). The enc patch sizes of the registered specs are small
(CPU tests; the parallel mLSTM needs S^2 memory): pass the plan's patch_size to train.
"""

from __future__ import annotations

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="xLSTM-UNet can be an Effective 2D & 3D Medical Image Segmentation Backbone with Vision-LSTM (ViL) "
          "better than its Mamba Counterpart",
    arxiv="2407.01530", venue="IEEE BHI 2024", code="https://github.com/tianrun-chen/xLSTM-UNet-PyTorch",
)
_MODULE = "zoo_medical.models.xlstm_unet"
VARIANTS = ("bot", "enc")

PLAN_3D = {"spatial_dims": 3, "in_channels": 1, "out_channels": 14, "features": [32, 64, 128, 256, 320, 320],
           "strides": [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]], "kernel_sizes": 3,
           "n_blocks_per_stage": 2, "n_conv_per_stage_decoder": 2, "deep_supervision": False}
PLAN_2D = {"spatial_dims": 2, "in_channels": 3, "out_channels": 8, "features": [32, 64, 128, 256, 512, 512, 512],
           "strides": [[1, 1], [2, 2], [2, 2], [2, 2], [2, 2], [2, 2], [2, 2]], "kernel_sizes": 3,
           "n_blocks_per_stage": 2, "n_conv_per_stage_decoder": 2, "deep_supervision": False}

# The authors' modified nnUNetTrainer: SGD (Nesterov, momentum 0.99), weight decay 3e-5, PolyLR (power
# 0.9) per iteration, epochs of 250 iterations, Dice+CE, nnU-Net's gradient clipping at norm 12 and its
# mirroring. Their lr and batch come from command-line flags: nnU-Net's defaults (lr 1e-2; batch 2 for
# 3-D plans, 12 for 2-D) stand in. nnU-Net's rotation/scaling/elastic/gamma augmentations are not built.
def _nnunet_recipe(dims: int) -> TrainRecipe:
    return TrainRecipe(name="paper", optimiser="sgd", lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5,
                       schedule="poly", poly_power=0.9, epochs=4000, steps_per_epoch=250,
                       batch_size=2 if dims == 3 else 12, loss="dice-ce", augmentation="flip", grad_clip=12.0,
                       source=PAPER, notes="nnU-Net trainer; lr and batch are nnU-Net's defaults (the authors "
                                           "pass them as flags); mirroring only, no deep supervision")


# (variant, spatial_dims) -> (parameter count, the enc variant's patch size)
REGISTERED = {
    ("bot", 3): (42_096_462, None),
    ("enc", 3): (42_648_144, [16, 32, 64]),
    ("bot", 2): (47_446_264, None),
    ("enc", 2): (46_043_012, [128, 128]),
}


def _spec(variant: str, dims: int, num_params: int, patch: list[int] | None) -> ModelSpec:
    plan = dict(PLAN_3D if dims == 3 else PLAN_2D, variant=variant)
    if patch is not None:
        plan["patch_size"] = patch
    return ModelSpec(
        name=f"xlstm-unet-{variant}-{dims}d", domain="medical", task="segmentation", paper=PAPER,
        builder=f"{_MODULE}:build_xlstm_unet", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=num_params, default_config=plan,
        explain_layer=f"decoder_stages.{len(plan['features']) - 2}",
        tags=("unet", "xlstm", "mlstm", "vision-lstm", f"{dims}d"), recipes=(_nnunet_recipe(dims),),
        description=("U-xLSTM-Bot: residual nnU-Net with a Vision-LSTM block at the bottleneck"
                     if variant == "bot" else
                     "U-xLSTM-Enc: residual nnU-Net with Vision-LSTM blocks after the deep encoder stages")
                    + f", {dims}-D, representative nnU-Net plan.",
    )


MODELS = tuple(_spec(variant, dims, *registered) for (variant, dims), registered in REGISTERED.items())
