"""PVT v2 B0-B5 and B2-Li: what the family is (torch-free; the architecture module reads VARIANTS)."""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper, WeightsSpec
from zoo_vision.recipes import deit_recipe

PAPER = Paper(
    title="PVT v2: Improved Baselines with Pyramid Vision Transformer",
    arxiv="2106.13797", venue="Computational Visual Media 2022", code="https://github.com/whai362/PVT",
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_WIDE = (64, 128, 320, 512)
# Per size: stage widths, depths, MLP ratios, linear SRA; heads (1, 2, 5, 8) and reductions (8, 4, 2, 1)
# are shared by all sizes (the authors' configs and timm's pvt_v2_* builders).
VARIANTS = {
    "b0": {"dims": (32, 64, 160, 256), "depths": (2, 2, 2, 2), "mlp_ratios": (8, 8, 4, 4), "linear": False},
    "b1": {"dims": _WIDE, "depths": (2, 2, 2, 2), "mlp_ratios": (8, 8, 4, 4), "linear": False},
    "b2": {"dims": _WIDE, "depths": (3, 4, 6, 3), "mlp_ratios": (8, 8, 4, 4), "linear": False},
    "b2-li": {"dims": _WIDE, "depths": (3, 4, 6, 3), "mlp_ratios": (8, 8, 4, 4), "linear": True},
    "b3": {"dims": _WIDE, "depths": (3, 4, 18, 3), "mlp_ratios": (8, 8, 4, 4), "linear": False},
    "b4": {"dims": _WIDE, "depths": (3, 8, 27, 3), "mlp_ratios": (8, 8, 4, 4), "linear": False},
    "b5": {"dims": _WIDE, "depths": (3, 6, 40, 3), "mlp_ratios": (4, 4, 4, 4), "linear": False},
}
HEADS = (1, 2, 5, 8)
SR_RATIOS = (8, 4, 2, 1)

# Parameter counts with a 1000-class head: the authors' and timm's models give the same totals
# (3.67M ... 81.96M in the paper notes, exact values from timm 1.0.31 here).
NUM_PARAMS = {
    "b0": 3_666_760, "b1": 14_009_000, "b2": 25_362_856, "b2-li": 22_553_512,
    "b3": 45_238_696, "b4": 62_556_072, "b5": 81_956_008,
}
TOP1 = {"b0": 70.5, "b1": 78.7, "b2": 82.0, "b2-li": 82.1, "b3": 83.1, "b4": 83.6, "b5": 83.8}

# timm's eval preprocessing for its pvt_v2_*.in1k weights (timm 1.0.31 pretrained config).
PREPROCESSING = {"input_size": 224, "crop_pct": 0.9, "interpolation": "bicubic",
                 "mean": IMAGENET_MEAN, "std": IMAGENET_STD}

WEIGHTS = {
    "b0": WeightsSpec(
        tag="in1k", repo_id="timm/pvt_v2_b0.in1k", revision="49dc8313e71a48d663725f72de23fcffffd09485",
        sha256="d0927f8c963fa7ae1ca6cd459449a076a954c561245ca6025103fceffd2df34c",
        dataset="imagenet-1k", metrics={"top1": 70.5}, license="apache-2.0",
        preprocessing=PREPROCESSING,
        description="The authors' ImageNet-1k weights as republished by timm (same key names as ours).",
    ),
}

_MODULE = "zoo_vision.models.pvt_v2"


# PVT v2 keeps PVT v1's (DeiT's) ImageNet recipe (arXiv:2106.13797 §4.1: AdamW, lr 5e-4 x batch / 512 = 1e-3 at 1024,
# wd 0.05, 300 epochs, cosine after 5 warm-up epochs, drop-path in the model).
RECIPES = (deit_recipe(PAPER),)


def _spec(variant: str) -> ModelSpec:
    weights = WEIGHTS.get(variant)
    return ModelSpec(
        name=f"pvt-v2-{variant}", domain="vision", task="classification", paper=PAPER, recipes=RECIPES,
        builder=f"{_MODULE}:build_pvt_v2", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=NUM_PARAMS[variant],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 3, "drop_path": 0.1},
        weights=(weights,) if weights else (),
        # The last stage's output (after its LayerNorm) is already a [B, C, H/32, W/32] map.
        explain_layer="stages.3",
        # Each stage ends in its LayerNorm and gives a [B, C, H/s, W/s] map (mmdet's PVTv2 outputs).
        features=tuple(FeatureLevel(f"stages.{i}", dim, 4 * 2**i) for i, dim in enumerate(VARIANTS[variant]["dims"])),
        tags=("transformer", "pyramid", "spatial-reduction-attention", "imagenet", "2d"),
        license="apache-2.0",
        description=f"PVT v2-{variant.upper()}: overlapping patch embedding, "
                    + ("linear SRA (7x7 pooled keys)" if VARIANTS[variant]["linear"] else "spatial-reduction attention")
                    + f", depthwise-conv feed-forward; ImageNet top-1 {TOP1[variant]} (paper).",
    )


MODELS = tuple(_spec(variant) for variant in VARIANTS)
