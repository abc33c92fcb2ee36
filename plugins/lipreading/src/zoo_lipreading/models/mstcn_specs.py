"""MS-TCN (mpc001), torch-free: the paper, the released LRW config, the registered model.

Martinez et al., "Lipreading using Temporal Convolutional Networks", ICASSP 2020, arXiv:2001.08702;
sizes from mpc001's ``configs/lrw_resnet18_mstcn.json`` (hidden 256 per kernel, 3 kernels, 4 layers).
"""

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper("Lipreading using Temporal Convolutional Networks", arxiv="2001.08702", venue="ICASSP 2020",
              code="https://github.com/mpc001/Lipreading_using_Temporal_Convolutional_Networks")

VARIANTS = {"lrw": dict(hidden=256, kernels=(3, 5, 7), width_mult=1, num_layers=4, dropout=0.2)}

_MODULE = "zoo_lipreading.models.mstcn"

# mpc001's LRW training (main.py defaults and lipreading/optim_utils.py of the code in PAPER): AdamW lr 3e-4 with
# weight decay 1e-2, cosine to 0 over 80 epochs, batch 32, mixup alpha 0.4; random 88x88 crop and flip in the reader.
LRW_RECIPE = TrainRecipe(
    name="lrw", optimiser="adamw", lr=3e-4, momentum=0.9, beta2=0.999, weight_decay=1e-2, epochs=80, batch_size=32,
    schedule="cosine", loss="zoo_lipreading.recipe:mixup_cross_entropy",
    augmentation="zoo_lipreading.recipe:mixup_batch",
    source=PAPER, notes="mpc001 steps the cosine once per epoch, the engine once per batch",
)


MODELS = (
    ModelSpec(
        name="ms-tcn", domain="lipreading", task="word-classification", paper=PAPER,
        builder=f"{_MODULE}:build_mstcn", example_input=f"{_MODULE}:example_input", num_params=36_361_396,
        default_config=dict(variant="lrw", num_classes=500, use_boundary=False),
        explain_layer="frontend.clip", tags=("lipreading", "lrw", "tcn", "video"),
        recipes=(LRW_RECIPE,),
        description="ResNet-18 (5x7x7 stem, Swish) + multi-scale multi-branch TCN, mpc001's LRW model "
                    "(85.3% LRW top-1 in the paper, 88.9% for the released checkpoint). "
                    "Input [B, 1, T, 88, 88]; output [B, num_classes] logits.",
    ),
)
