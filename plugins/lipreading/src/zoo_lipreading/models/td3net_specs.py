"""TD3Net, torch-free: the paper, the authors' two LRW configs, the registered models.

Lee et al., "TD3Net: A Temporal Densely Connected Multi-dilated Convolutional Network for
Lipreading", arXiv:2506.16073. Back-end sizes from ``td3net_configs/td3net_config_{base,best}.yaml``.
"""

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    "TD3Net: A Temporal Densely Connected Multi-dilated Convolutional Network for Lipreading",
    arxiv="2506.16073", venue="JVCIR (under revision)",
    code="https://github.com/Leebh-kor/TD3Net-A-Temporal-Densely-Connected-Multi-dilated-Convolutional-Network-for-Lipreading",
)

# Per TD3 stage the same values, as in both configs: growth g, layers per multi-dilated block,
# TD2 blocks per TD3 block, TD2 output int(g * out_block * block_comp), transition C // trans_comp.
VARIANTS = {
    "base": dict(growth=36, num_layers=5, num_blocks=(10, 10, 10, 10), out_block=5, block_comp=0.5,
                 trans_comp=(2, 2, 2, 1), kernel_size=3, dropout=0.2),
    "best": dict(growth=48, num_layers=5, num_blocks=(10, 10, 10, 10), out_block=5, block_comp=0.5,
                 trans_comp=(2, 2, 2, 1), kernel_size=3, dropout=0.2),
}

# Back-end parameters (the 1-D network without the classifier), computed from the authors'
# constructors; the README's 31.39M for "best" is a typo for 31.89M.
BACKEND_PARAMS = {"base": 18_689_037, "best": 31_888_204}

_MODULE = "zoo_lipreading.models.td3net"

# The authors' LRW training (arXiv:2506.16073 §4.2 and their main.py): AdamW lr 3e-4, weight decay 1e-2, cosine to 0
# over 120 epochs, batch 32, mixup alpha 0.4 with plain cross-entropy, AMP; random 88x88 crop and flip in the reader.
LRW_RECIPE = TrainRecipe(
    name="lrw", optimiser="adamw", lr=3e-4, momentum=0.9, beta2=0.999, weight_decay=1e-2, epochs=120, batch_size=32,
    schedule="cosine", loss="zoo_lipreading.recipe:mixup_cross_entropy",
    augmentation="zoo_lipreading.recipe:mixup_batch",
    precision="fp16", source=PAPER,
    notes="the authors step the cosine once per epoch, the engine once per batch",
)

# name, variant, use_boundary, whole-model parameters at 500 classes, description
_MODELS = (
    ("td3net-base", "base", False, 30_745_453, "TD3Net-Base (growth 36), 89.36% LRW top-1 reported"),
    ("td3net-best", "best", False, 44_226_120, "TD3Net-Best (growth 48), 89.54% LRW top-1 reported"),
    ("td3net-best-wb", "best", True, 44_228_896,
     "TD3Net-Best with the word-boundary vector appended to the frame features, 91.41% LRW top-1 reported"),
)

MODELS = tuple(
    ModelSpec(
        name=name, domain="lipreading", task="word-classification", paper=PAPER,
        builder=f"{_MODULE}:build_td3net", example_input=f"{_MODULE}:example_input",
        num_params=params, default_config=dict(variant=variant, num_classes=500, use_boundary=boundary),
        explain_layer="frontend.clip", tags=("lipreading", "lrw", "tcn", "video"),
        recipes=(LRW_RECIPE.replace(inputs=("video", "boundary")) if boundary else LRW_RECIPE,),
        description=f"{description}. Input [B, 1, T, 88, 88] grey mouth crops"
                    + (" and boundaries [B, T]" if boundary else "") + "; output [B, num_classes] logits.",
    )
    for name, variant, boundary, params, description in _MODELS
)
