"""T-TAME, without torch: the paper, the layer sets, the loss coefficients and the training recipe.

Ntrougkas, Gkalelis & Mezaris, "T-TAME: Trainable Attention Mechanism for Explaining Convolutional
Networks and Vision Transformers", IEEE Access 2024, arXiv:2403.04523; code github.com/IDT-ITI/T-TAME.
The head itself is in :mod:`zoo_vision.explainers.ttame`.
"""

from __future__ import annotations

from dataclasses import dataclass

from zoo import Paper, TrainRecipe

PAPER = Paper(
    title="T-TAME: Trainable Attention Mechanism for Explaining Convolutional Networks and Vision Transformers",
    arxiv="2403.04523", venue="IEEE Access 2024", code="https://github.com/IDT-ITI/T-TAME",
)


@dataclass(frozen=True)
class LayerSet:
    """The feature layers a T-TAME head reads, as module names of the backbone (hooks on their
    outputs), with their channel counts; ``num_params``: the head's size for 1000 classes."""

    layers: tuple[str, ...]
    channels: tuple[int, ...]
    num_params: int | None = None
    note: str = ""


def head_num_params(channels: tuple[int, ...] | list[int], num_classes: int = 1000) -> int:
    """Parameters of the head: per feature set a 1x1 conv C→C with bias and a BatchNorm (weight and
    bias), then the 1x1 fusion conv ΣC → classes with bias."""
    per_set = sum(c * c + c + 2 * c for c in channels)
    return per_set + sum(channels) * num_classes + num_classes


# The paper's three backbones (torchvision module names; the authors pick the same outputs by
# torch.fx node names). The counts are the authors' AttentionTAME on these channel lists.
PAPER_LAYER_SETS = {
    # pool3, pool4, pool5: 28, 14 and 7 px at 224 (pl_scripts/vgg16_TAME.py).
    "vgg16": LayerSet(("features.16", "features.23", "features.30"), (256, 512, 512), 1_874_664),
    # the last three stages: 28, 14 and 7 px (pl_scripts/resnet50_TAME.py).
    "resnet50": LayerSet(("layer2", "layer3", "layer4"), (512, 1024, 2048), 9_100_776),
    # the first LayerNorm of the last three encoder blocks (fx node "encoder_layer_9.ln" is the
    # module "ln_1"); the class token is dropped and the 196 patch tokens form a 14x14 grid.
    "vit_b_16": LayerSet(tuple(f"encoder.layers.encoder_layer_{i}.ln_1" for i in (9, 10, 11)),
                         (768, 768, 768), 4_081_384, note="tokens -> 14x14 grid, class token dropped"),
}

# The same choice (the last three stages) for the zoo's own CNNs: the head is built from these
# when a zoo model is explained or trained without an explicit layer list.
_BASIC = ("layer2", "layer3", "layer4"), (128, 256, 512)
_BOTTLENECK = ("layer2", "layer3", "layer4"), (512, 1024, 2048)
ZOO_LAYER_SETS = {
    **{f"bcos-resnet-{d}": LayerSet(*_BASIC) for d in ("18", "34")},
    **{f"bcos-resnet-{d}": LayerSet(*_BOTTLENECK) for d in ("50", "101", "152")},
    **{f"eca-resnet-{d}": LayerSet(*_BASIC) for d in ("18", "34")},
    **{f"eca-resnet-{d}": LayerSet(*_BOTTLENECK) for d in ("50", "101", "152")},
}

# The authors' classic_loss (src/tame/attention/arrangement.py): L = 1.5·CE + 2·mean((a + 5e-4)^0.3)
# + 0.01·TV(a), TV with squared differences, a 0.3 border penalty and normalised by 2·batch.
CE_COEFF = 1.5
AREA_COEFF = 2.0
AREA_POWER = 0.3
AREA_EPS = 0.0005
SMOOTH_COEFF = 0.01
SMOOTH_POWER = 2
BORDER_PENALTY = 0.3
# Maps are computed at the first feature set's size, at most this (AttentionTAME).
MAX_MAP_SIZE = 56

# pl_scripts/{vgg16,resnet50,vit}_TAME.py with src/tame/model_prep.py: SGD with Nesterov momentum
# 0.9, weight decay 5e-4 on weights (not biases), torch's OneCycleLR (max lr 1e-3, its default 30 %
# cosine warm-up from lr/25, momentum cycled 0.85-0.95) stepped per batch, 8 epochs of batch 32,
# 16-bit mixed precision on GPU. TrainRecipe has no one-cycle schedule; train_ttame runs OneCycleLR.
RECIPE = TrainRecipe(
    name="paper", optimiser="sgd", lr=1e-3, epochs=8, batch_size=32, weight_decay=5e-4, momentum=0.9,
    nesterov=True, schedule="cosine", warmup_epochs=2.4, precision="fp16", source=PAPER,
    notes="OneCycleLR (torch defaults) with max lr 1e-3; the backbone is frozen, only the head trains; "
          "the targets are the backbone's own predictions",
)
