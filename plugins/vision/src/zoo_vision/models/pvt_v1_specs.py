"""PVT v1 tiny/small/medium/large: what the family is (torch-free; the architecture module reads VARIANTS)."""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper
from zoo_vision.recipes import deit_recipe

PAPER = Paper(
    title="Pyramid Vision Transformer: A Versatile Backbone for Dense Prediction without Convolutions",
    arxiv="2102.12122", venue="ICCV 2021", code="https://github.com/whai362/PVT",
)

# Depths per size; widths (64, 128, 320, 512), heads (1, 2, 5, 8), MLP ratios (8, 8, 4, 4) and
# reductions (8, 4, 2, 1) are shared (the authors' classification/pvt.py).
VARIANTS = {
    "tiny": {"depths": (2, 2, 2, 2)},
    "small": {"depths": (3, 4, 6, 3)},
    "medium": {"depths": (3, 4, 18, 3)},
    "large": {"depths": (3, 8, 27, 3)},
}
DIMS = (64, 128, 320, 512)
HEADS = (1, 2, 5, 8)
MLP_RATIOS = (8, 8, 4, 4)
SR_RATIOS = (8, 4, 2, 1)
IMAGE_SIZE = 224

# With a 1000-class head at 224 x 224; the authors' code gives the same totals (13.23M ... 61.37M).
NUM_PARAMS = {"tiny": 13_229_288, "small": 24_485_864, "medium": 44_208_104, "large": 61_369_320}
TOP1 = {"tiny": 75.1, "small": 79.8, "medium": 81.2, "large": 81.7}

_MODULE = "zoo_vision.models.pvt_v1"


# PVT v1 follows DeiT's ImageNet recipe (arXiv:2102.12122 §4.1: AdamW, lr 1e-3 at batch 128 x 8, wd 0.05, 300
# epochs, cosine, label smoothing, the DeiT augmentations).
RECIPES = (deit_recipe(PAPER),)
def _features(variant: str) -> tuple[FeatureLevel, ...]:
    """The tokens of each stage's last block (stride 4, 8, 16), then stage 4 after the final norm,
    whose leading class token is dropped."""
    depths = VARIANTS[variant]["depths"]
    levels = [FeatureLevel(f"block{i + 1}.{depths[i] - 1}", DIMS[i], 4 * 2**i, prefix_tokens=0) for i in range(3)]
    return (*levels, FeatureLevel("norm", DIMS[3], 32, prefix_tokens=1))


def _spec(variant: str) -> ModelSpec:
    return ModelSpec(
        name=f"pvt-v1-{variant}", domain="vision", task="classification", paper=PAPER, recipes=RECIPES,
        builder=f"{_MODULE}:build_pvt_v1", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=NUM_PARAMS[variant],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 3, "img_size": IMAGE_SIZE,
                        "drop_path": 0.1},
        # Input of the last block's attention: [B, 1 + 7·7, C]; every patch token still carries gradient.
        explain_layer=f"block4.{VARIANTS[variant]['depths'][3] - 1}.norm1",
        explain_reshape="zoo.explainers.reshapes:vit_tokens",
        features=_features(variant),
        tags=("transformer", "pyramid", "spatial-reduction-attention", "2d"),
        license="apache-2.0",
        description=f"PVT-{variant.capitalize()}: four-stage transformer with spatial-reduction attention and "
                    f"per-stage position embeddings; ImageNet top-1 {TOP1[variant]} (paper).",
    )


MODELS = tuple(_spec(variant) for variant in VARIANTS)
