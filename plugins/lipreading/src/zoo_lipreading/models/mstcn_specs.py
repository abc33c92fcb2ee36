"""MS-TCN (mpc001), torch-free: the paper, the released LRW config, the registered model.

Martinez et al., "Lipreading using Temporal Convolutional Networks", ICASSP 2020, arXiv:2001.08702;
sizes from mpc001's ``configs/lrw_resnet18_mstcn.json`` (hidden 256 per kernel, 3 kernels, 4 layers).
"""

from zoo import ModelSpec, Paper

PAPER = Paper("Lipreading using Temporal Convolutional Networks", arxiv="2001.08702", venue="ICASSP 2020",
              code="https://github.com/mpc001/Lipreading_using_Temporal_Convolutional_Networks")

VARIANTS = {"lrw": dict(hidden=256, kernels=(3, 5, 7), width_mult=1, num_layers=4, dropout=0.2)}

_MODULE = "zoo_lipreading.models.mstcn"

MODELS = (
    ModelSpec(
        name="ms-tcn", domain="lipreading", task="word-classification", paper=PAPER,
        builder=f"{_MODULE}:build_mstcn", example_input=f"{_MODULE}:example_input", num_params=36_361_396,
        default_config=dict(variant="lrw", num_classes=500, use_boundary=False),
        explain_layer="frontend.clip", tags=("lipreading", "lrw", "tcn", "video"),
        description="ResNet-18 (5x7x7 stem, Swish) + multi-scale multi-branch TCN, mpc001's LRW model "
                    "(85.3% LRW top-1 in the paper, 88.9% for the released checkpoint). "
                    "Input [B, 1, T, 88, 88]; output [B, num_classes] logits.",
    ),
)
