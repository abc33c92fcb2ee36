"""What DeepOrgan's P-ConvNet is: the paper, the legacy entry's config, count and recipe (torch-free)."""

from __future__ import annotations

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="DeepOrgan: Multi-level Deep Convolutional Networks for Automated Pancreas Segmentation",
    arxiv="1506.06448", venue="MICCAI 2015",
)
_MODULE = "zoo_medical.models.deeporgan"

# 2.5-D patches (axial, coronal, sagittal views as 3 channels) resized to 64 x 64; five convolutions
# with max-pooling, two fully connected layers (DropConnect, dropout), 2-way softmax (paper Sec. 2.2
# and Fig. 3). The filter counts and kernel sizes were not released: 64 filters, 5x5 then 3x3, and
# 512-unit fully connected layers are the cuda-convnet-era choices of the authors' earlier 2.5-D
# lymph-node ConvNet (Roth et al., MICCAI 2014), stated as ours in the docs.
DEFAULT_CONFIG = {"num_classes": 2, "in_chans": 3, "patch_size": 64, "filters": 64, "hidden": 512,
                  "dropconnect": 0.5, "dropout": 0.5}
NUM_PARAMS = 2_579_458

# No training hyper-parameters are published (no code was released). The paper trains on GPU with
# cuda-convnet2 on balanced pancreas/background patches from 4-fold, patient-level splits; the
# values below are cuda-convnet's usual SGD settings, not the paper's.
PAPER_RECIPE = TrainRecipe(
    name="paper", optimiser="sgd", lr=1e-3, momentum=0.9, weight_decay=5e-4, schedule="constant", epochs=100,
    batch_size=128, loss="cross-entropy", augmentation="flip", source=PAPER,
    notes="the paper gives the architecture and data protocol, not the optimiser: lr, momentum, weight decay, "
          "batch and epochs are conventional cuda-convnet values; train on patient-level folds",
)

MODELS = (
    ModelSpec(
        name="deeporgan-p-convnet", domain="medical", task="classification", paper=PAPER,
        builder=f"{_MODULE}:build_p_convnet", example_input=f"{_MODULE}:example_input",
        num_params=NUM_PARAMS, default_config=DEFAULT_CONFIG, explain_layer="features.conv5",
        input_shape="[B, 3, 64, 64] float: axial, coronal and sagittal CT patches around one voxel",
        tags=("legacy", "cnn", "2.5d", "ct", "pancreas"), recipes=(PAPER_RECIPE,), license="Apache-2.0",
        description="DeepOrgan's P-ConvNet (legacy baseline): 2.5-D patch classifier for dense pancreas "
                    "probability maps, with nearest-neighbour fusion and 3-D Gaussian smoothing.",
    ),
)
