"""DC-TCN (mpc001), torch-free: the paper, the released LRW config, the registered models.

Ma et al., "Lip-reading with Densely Connected Temporal Convolutional Networks", WACV 2021,
arXiv:2009.14233; sizes from mpc001's ``configs/lrw_resnet18_dctcn{,_boundary}.json``.
"""

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper("Lip-reading with Densely Connected Temporal Convolutional Networks", arxiv="2009.14233",
              venue="WACV 2021", code="https://github.com/mpc001/Lipreading_using_Temporal_Convolutional_Networks")

VARIANTS = {
    "lrw": dict(block_layers=(3, 3, 3, 3), growth=(384, 384, 384, 384), kernels=(3, 5, 7), dilations=(1, 2, 5),
                reduced=512, squeeze_excitation=True, dropout=0.2),
}

_MODULE = "zoo_lipreading.models.dctcn"

# mpc001's LRW training (main.py defaults and lipreading/optim_utils.py of the code in PAPER): AdamW lr 3e-4 with
# weight decay 1e-2, cosine to 0 over 80 epochs, batch 32, mixup alpha 0.4; random 88x88 crop and flip in the reader.
LRW_RECIPE = TrainRecipe(
    name="lrw", optimiser="adamw", lr=3e-4, momentum=0.9, beta2=0.999, weight_decay=1e-2, epochs=80, batch_size=32,
    schedule="cosine", loss="zoo_lipreading.recipe:mixup_cross_entropy",
    augmentation="zoo_lipreading.recipe:mixup_batch",
    source=PAPER, notes="mpc001 steps the cosine once per epoch, the engine once per batch",
)


# name, use_boundary, parameters, description
_MODELS = (
    ("dc-tcn", False, 52_548_532, "88.36% LRW top-1 in the paper, 89.6% for the released checkpoint"),
    ("dc-tcn-wb", True, 52_549_044, "with the word-boundary vector appended to the frame features (92.1% released)"),
)

MODELS = tuple(
    ModelSpec(
        name=name, domain="lipreading", task="word-classification", paper=PAPER,
        builder=f"{_MODULE}:build_dctcn", example_input=f"{_MODULE}:example_input", num_params=params,
        default_config=dict(variant="lrw", num_classes=500, use_boundary=boundary),
        explain_layer="frontend.clip", tags=("lipreading", "lrw", "tcn", "video"),
        recipes=(LRW_RECIPE.replace(inputs=("video", "boundary")) if boundary else LRW_RECIPE,),
        description=f"ResNet-18 (5x7x7 stem, Swish) + densely connected TCN with SE, mpc001's LRW model, "
                    f"{description}. Input [B, 1, T, 88, 88]" + (" and boundaries [B, T]" if boundary else "")
                    + "; output [B, num_classes] logits.",
    )
    for name, boundary, params, description in _MODELS
)
