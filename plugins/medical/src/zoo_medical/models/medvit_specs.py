"""What MedViTV2 is: the paper, the four sizes and their specs (torch-free; the model reads VARIANTS)."""

from __future__ import annotations

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="Medical Image Classification with KAN-Integrated Transformers and Dilated Neighborhood Attention",
    arxiv="2502.13693", venue="Applied Soft Computing 2025", code="https://github.com/Omid-Nejati/MedViTV2",
)
_MODULE = "zoo_medical.models.medvit"

VARIANTS = {
    "tiny": {"depths": [2, 2, 6, 1], "dims": [64, 128, 192, 384], "drop_path": 0.1},
    "small": {"depths": [2, 2, 6, 2], "dims": [64, 128, 256, 512], "drop_path": 0.1},
    "base": {"depths": [2, 2, 6, 2], "dims": [96, 192, 384, 768], "drop_path": 0.2},
    "large": {"depths": [2, 2, 6, 2], "dims": [96, 256, 512, 1024], "drop_path": 0.2},
}

# The authors' totals with a 1000-class head (their code instantiated by the paper notes'
# author, natten replaced by a parameter-exact stub): they include the unused feed-forward of
# every global block and 8 frozen KAN grid values per KAN layer, which we do not build.
AUTHORS_NUM_PARAMS = {"tiny": 11_719_845, "small": 30_087_295, "base": 66_995_571, "large": 118_291_477}

# Our counts with a 1000-class head: the authors' minus the modules we do not build (see medvit.py).
NUM_PARAMS = {"tiny": 10_735_453, "small": 27_336_997, "base": 60_854_937, "large": 107_417_019}


# The paper's MedMNIST recipe (Sec. 4 and the authors' main.py): AdamW 1e-4 (betas 0.9/0.999), weight
# decay 0.05, cosine to 5e-6 over all iterations, batch 24, 100 epochs, cross-entropy (BCE for the
# multi-label ChestMNIST); RandomResizedCrop(224) + horizontal flip p=0.4 (AugMix is left out).
PAPER_RECIPE = TrainRecipe(name="paper", optimiser="adamw", lr=1e-4, momentum=0.9, beta2=0.999, weight_decay=0.05,
                           schedule="cosine", min_lr=5e-6, batch_size=24, epochs=100, loss="cross-entropy",
                           augmentation="zoo_medical.augment:medvit_train", source=PAPER,
                           notes="AugMix(alpha 0.4) of the paper is not applied")
RECIPES = (PAPER_RECIPE, PAPER_RECIPE.replace(name="chestmnist", loss="bce",
                                              notes="multi-label ChestMNIST: BCE with logits; no AugMix"))


def _spec(variant: str) -> ModelSpec:
    return ModelSpec(
        name=f"medvit-v2-{variant}", domain="medical", task="classification", paper=PAPER,
        builder=f"{_MODULE}:build_medvit", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=NUM_PARAMS[variant],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 3, "kernel_size": 7,
                        "dilations": [8, 4, 2, 1]},
        explain_layer=f"features.{sum(VARIANTS[variant]['depths']) - 1}",  # the last block
        tags=("transformer", "kan", "neighborhood-attention", "2d"), recipes=RECIPES,
        description=f"MedViTV2-{variant}: hybrid CNN-transformer with FasterKAN feed-forwards and dilated "
                    f"neighbourhood attention (layout bugs of the released code fixed; see the model docs).",
    )


MODELS = tuple(_spec(variant) for variant in VARIANTS)
