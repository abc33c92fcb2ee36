"""VanillaNet: what the family is, without torch.

Chen et al., "VanillaNet: the Power of Minimalism in Deep Learning", NeurIPS 2023,
arXiv:2305.12972; authors' code github.com/huawei-noah/VanillaNet. ``VARIANTS`` gives each
depth's stage widths (stem width first) and the stride of each stage, as in the authors'
``vanillanet_<depth>`` constructors; :mod:`zoo_vision.models.vanillanet` builds from it.

Each model is registered in its training form (two 1x1 convs per stage with BN, the deep
training non-linearity between them, BN after every activation); ``deploy=True`` in the config
builds the inference form, and ``model.switch_to_deploy()`` turns a trained model into it.
"""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="VanillaNet: the Power of Minimalism in Deep Learning",
    arxiv="2305.12972", venue="NeurIPS 2023", code="https://github.com/huawei-noah/VanillaNet",
)

_W = 512  # 128 x 4: the authors write every width as a multiple of 128 x 4


def _deep(extra: int) -> dict:
    """VanillaNet-7 and deeper: a stride-1 512 stage first, then ``extra`` stride-1 2048 stages."""
    return {"dims": [_W, _W, 2 * _W, 4 * _W, *([4 * _W] * extra), 8 * _W, 8 * _W],
            "strides": [1, 2, 2, *([1] * extra), 2, 1]}


# num_params / deploy_params: 1000 classes, training and deploy form, equal to the authors' code's
# counts (their README lists the deploy counts: 15.5, 32.5, 32.8, 37.1, 41.4, 45.7, 50.0, 54.3, 58.6 M).
VARIANTS = {
    "5": {"dims": [_W, 2 * _W, 4 * _W, 8 * _W], "strides": [2, 2, 2],
          "num_params": 22_328_800, "deploy_params": 15_523_304, "top1": 72.49},
    "6": {"dims": [_W, 2 * _W, 4 * _W, 8 * _W, 8 * _W], "strides": [2, 2, 2, 1],
          "num_params": 56_116_704, "deploy_params": 32_509_416, "top1": 76.36},
    "7": {**_deep(0), "num_params": 56_670_176, "deploy_params": 32_797_672, "top1": 77.98},
    "8": {**_deep(1), "num_params": 65_175_520, "deploy_params": 37_096_424, "top1": 79.13},
    "9": {**_deep(2), "num_params": 73_680_864, "deploy_params": 41_395_176, "top1": 79.87},
    "10": {**_deep(3), "num_params": 82_186_208, "deploy_params": 45_693_928, "top1": 80.57},
    "11": {**_deep(4), "num_params": 90_691_552, "deploy_params": 49_992_680, "top1": 81.08},
    "12": {**_deep(5), "num_params": 99_196_896, "deploy_params": 54_291_432, "top1": 81.55},
    "13": {**_deep(6), "num_params": 107_702_240, "deploy_params": 58_590_184, "top1": 82.05},
}

_MODULE = "zoo_vision.models.vanillanet"


# VanillaNet's ImageNet recipe (arXiv:2305.12972 §4, the authors' README command): LAMB lr 3.5e-3, weight decay 0.35,
# global batch 1024, 300 epochs cosine, BCE loss, EMA 0.99996, AMP, and deep training: the leaky-ReLU lambda rises
# linearly from 0 to 1 over the first 100 epochs (``decay_epochs``), set before each epoch.
RECIPES = (TrainRecipe(
    name="imagenet", optimiser="lamb", lr=3.5e-3, momentum=0.9, beta2=0.999, weight_decay=0.35, epochs=300,
    batch_size=1024, schedule="cosine", loss="zoo_vision.training:one_hot_bce", augmentation="resized-crop-flip",
    precision="fp16", ema_decay=0.99996, epoch_start="zoo_vision.training:vanillanet_lambda",
    options={"decay_epochs": 100}, source=PAPER,
    notes="RandAugment m7, mixup 0.1, dropout schedule and layer-wise lr decay are left out",
),)
def _features(hp: dict) -> tuple[FeatureLevel, ...]:
    """The last stage at each stride: 8, 16 and 32, and 4 for VanillaNet-7 and deeper, whose first
    stage keeps the 4 x 4 stem's stride (stage names survive the switch to the deploy form)."""
    levels, stride = {}, 4
    for i, (step, width) in enumerate(zip(hp["strides"], hp["dims"][1:])):
        stride *= step
        levels[stride] = FeatureLevel(f"stages.{i}", width, stride)
    return tuple(levels[s] for s in sorted(levels))


def _spec(variant: str, hp: dict) -> ModelSpec:
    return ModelSpec(
        name=f"vanillanet-{variant}", domain="vision", task="classification", paper=PAPER, recipes=RECIPES,
        builder=f"{_MODULE}:build_vanillanet", example_input=f"{_MODULE}:example_input",
        num_params=hp["num_params"],
        default_config={"variant": variant, "num_classes": 1000, "in_chans": 3, "act_num": 3, "drop_rate": 0.0,
                        "deploy": False},
        features=_features(hp),
        explain_layer=f"stages.{len(hp['strides']) - 1}",  # the last stage's activation output: 7 x 7 at 224
        tags=("cnn", "no-residual", "imagenet"),
        license="MIT",
        description=f"VanillaNet-{variant} ({len(hp['strides']) + 2} layers at deploy, no residuals, no attention; "
                    f"reported ImageNet top-1 {hp['top1']}%), training form; deploy=True or "
                    f"switch_to_deploy() gives the {hp['deploy_params'] / 1e6:.1f}M-parameter inference form.",
    )


MODELS = tuple(_spec(variant, hp) for variant, hp in VARIANTS.items())
