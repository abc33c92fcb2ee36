"""DeiT-Ti/S/B: what the family is (torch-free; the architecture module reads VARIANTS)."""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="Training data-efficient image transformers & distillation through attention",
    arxiv="2012.12877", venue="ICML 2021", code="https://github.com/facebookresearch/deit",
)

# Width and heads per size (64 per head); all sizes: 12 blocks, patch 16, MLP ratio 4, qkv bias,
# LayerNorm eps 1e-6, a class token and a learned position embedding (the authors' models.py).
VARIANTS = {
    "tiny": {"dim": 192, "heads": 3},
    "small": {"dim": 384, "heads": 6},
    "base": {"dim": 768, "heads": 12},
}
LABELS = {"tiny": "Ti", "small": "S", "base": "B"}  # the paper's names
DEPTH = 12
PATCH = 16
MLP_RATIO = 4
IMAGE_SIZE = 224
LN_EPS = 1e-6

# With a 1000-class head at 224 x 224: the paper's 5M / 22M / 86M (Table 1), exactly timm's deit_*_patch16_224
# and the sizes SN-Net's results list for its three anchors.
NUM_PARAMS = {"tiny": 5_717_416, "small": 22_050_664, "base": 86_567_656}
TOP1 = {"tiny": 72.2, "small": 79.8, "base": 81.8}  # paper Table 1, without distillation

# The paper's recipe (Table 9 and the authors' main.py defaults): AdamW, lr 5e-4 · batch / 512 (batch 1024
# -> 1e-3), weight decay 0.05, 300 epochs, cosine to 1e-5 after 5 warm-up epochs, label smoothing 0.1,
# stochastic depth 0.1 (the build default).
PAPER_RECIPE = TrainRecipe(
    name="paper", optimiser="adamw", lr=1e-3, momentum=0.9, beta2=0.999, weight_decay=0.05, epochs=300,
    batch_size=1024, schedule="cosine", warmup_epochs=5, min_lr=1e-5, loss="cross-entropy", label_smoothing=0.1,
    augmentation="resized-crop-flip", source=PAPER,
    notes="not applied: RandAugment (m9, mstd 0.5), Mixup 0.8 / CutMix 1.0, random erasing 0.25, repeated "
          "augmentation; the warm-up starts at 1e-6 in the authors' code",
)

_MODULE = "zoo_vision.models.deit"


def _spec(variant: str) -> ModelSpec:
    v = VARIANTS[variant]
    return ModelSpec(
        name=f"deit-{variant}", domain="vision", task="classification", paper=PAPER,
        builder=f"{_MODULE}:build_deit", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=NUM_PARAMS[variant],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 3, "img_size": IMAGE_SIZE,
                        "drop_path": 0.1},
        # Input of the last block's attention: all [B, 1 + 14·14, C] tokens still carry the gradient
        # of their patch (after the final norm only the class token reaches the head).
        # blocks a quarter of the depth apart (as ViT backbones for dense prediction tap them), class token dropped
        features=tuple(FeatureLevel(f"blocks.{DEPTH * k // 4 - 1}", v["dim"], PATCH, prefix_tokens=1)
                       for k in range(1, 5)),
        explain_layer=f"blocks.{DEPTH - 1}.norm1",
        explain_reshape="zoo.explainers.reshapes:vit_tokens",
        input_shape="[B, 3, H, W] with H and W multiples of 16 (224 x 224 as trained; other sizes resample "
                    "the position embedding bicubically)",
        tags=("transformer", "vit", "imagenet", "2d"),
        license="apache-2.0",
        recipes=(PAPER_RECIPE,),
        description=f"DeiT-{LABELS[variant]}: ViT with "
                    f"{DEPTH} blocks of width {v['dim']} and {v['heads']} heads on 16 x 16 patches; ImageNet "
                    f"top-1 {TOP1[variant]} (paper).",
    )


MODELS = tuple(_spec(variant) for variant in VARIANTS)
