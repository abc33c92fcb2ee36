"""ConViT Ti/Ti+/S/S+/B/B+: what the family is (torch-free; the architecture module reads VARIANTS)."""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper, WeightsSpec
from zoo_vision.recipes import deit_recipe

PAPER = Paper(
    title="ConViT: Improving Vision Transformers with Soft Convolutional Inductive Biases",
    arxiv="2103.10697", venue="ICML 2021", code="https://github.com/facebookresearch/convit",
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Heads and width per head (48, or 64 for the "+" sizes); 12 blocks, the first 10 GPSA, for all sizes.
VARIANTS = {
    "ti": {"heads": 4, "head_dim": 48},
    "ti-plus": {"heads": 4, "head_dim": 64},
    "s": {"heads": 9, "head_dim": 48},
    "s-plus": {"heads": 9, "head_dim": 64},
    "b": {"heads": 16, "head_dim": 48},
    "b-plus": {"heads": 16, "head_dim": 64},
}
DEPTH = 12
LOCAL_UP_TO_LAYER = 10
PATCH = 16
IMAGE_SIZE = 224

# With a 1000-class head at 224 x 224 (5.71M ... 153.13M in the paper notes; ConViT-Ti = timm's convit_tiny).
NUM_PARAMS = {
    "ti": 5_710_512, "ti-plus": 9_972_912, "s": 27_777_322, "s-plus": 48_979_882,
    "b": 86_540_040, "b-plus": 153_134_856,
}
TOP1 = {"ti": 73.1, "ti-plus": 76.7, "s": 81.3, "s-plus": 82.2, "b": 82.4, "b-plus": 82.5}

WEIGHTS = {
    "ti": WeightsSpec(
        tag="in1k", repo_id="timm/convit_tiny.fb_in1k", revision="fc81905f258732e94e40076f0f80a109685996b9",
        sha256="31bf3d57d91da954675df2d22841993a9c25805dd96acc9228459066dfda7de1",
        filename="pytorch_model.bin", converter="zoo_vision.models.convit:from_timm",
        dataset="imagenet-1k", metrics={"top1": 73.1}, license="apache-2.0",
        preprocessing={"input_size": 224, "crop_pct": 0.875, "interpolation": "bicubic",
                       "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
        description="The authors' ImageNet-1k weights as republished by timm (a pickle, read weights-only).",
    ),
}

_MODULE = "zoo_vision.models.convit"


# ConViT trains with DeiT's recipe unchanged (arXiv:2103.10697 §4; the authors' code is a DeiT fork).
RECIPES = (deit_recipe(PAPER),)
def _features(variant: str) -> tuple[FeatureLevel, ...]:
    """Blocks 3, 6, 9 and 12 (a quarter of the depth apart, as ViT backbones for dense prediction
    tap them), all at stride 16; the class token joins after block LOCAL_UP_TO_LAYER."""
    dim = VARIANTS[variant]["heads"] * VARIANTS[variant]["head_dim"]
    return tuple(FeatureLevel(f"blocks.{i}", dim, PATCH, prefix_tokens=int(i >= LOCAL_UP_TO_LAYER))
                 for i in (DEPTH * k // 4 - 1 for k in range(1, 5)))


def _spec(variant: str) -> ModelSpec:
    weights = WEIGHTS.get(variant)
    label = variant.replace("-plus", "+").capitalize()
    return ModelSpec(
        name=f"convit-{variant}", domain="vision", task="classification", paper=PAPER, recipes=RECIPES,
        builder=f"{_MODULE}:build_convit", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=NUM_PARAMS[variant],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 3, "img_size": IMAGE_SIZE,
                        "drop_path": 0.1},
        weights=(weights,) if weights else (),
        # Input of the last block's attention: [B, 1 + 14·14, C] tokens that still carry the gradient
        # of every patch (after the final norm only the class token reaches the head).
        explain_layer=f"blocks.{DEPTH - 1}.norm1",
        explain_reshape="zoo.explainers.reshapes:vit_tokens",
        features=_features(variant),
        tags=("transformer", "gpsa", "soft-convolution", "imagenet", "2d"),
        license="apache-2.0",
        description=f"ConViT-{label}: ViT whose first {LOCAL_UP_TO_LAYER} blocks use gated positional "
                    f"self-attention initialised as a soft convolution; ImageNet top-1 {TOP1[variant]} (paper).",
    )


MODELS = tuple(_spec(variant) for variant in VARIANTS)
