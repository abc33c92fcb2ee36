"""Inception-v4: what the model is, without torch.

Szegedy et al., "Inception-v4, Inception-ResNet and the Impact of Residual Connections on
Learning", AAAI 2017, arXiv:1602.07261. One size; the stage layout below is read by
:mod:`zoo_vision.models.inception_v4`.
"""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper, TrainRecipe, WeightsSpec

PAPER = Paper(
    title="Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning",
    arxiv="1602.07261", venue="AAAI 2017",
    code="https://github.com/tensorflow/models/tree/master/research/slim",
)

# Blocks after the stem (Figure 9 of the paper): 4 x Inception-A, Reduction-A, 7 x Inception-B,
# Reduction-B, 3 x Inception-C; 1536 features into the classifier; 299 x 299 input.
VARIANTS = {
    "v4": {"inception_a": 4, "inception_b": 7, "inception_c": 3, "num_features": 1536, "input_size": 299,
           "num_params": 42_679_816},
}

_MODULE = "zoo_vision.models.inception_v4"

WEIGHTS = (
    WeightsSpec(
        tag="tf-in1k", repo_id="timm/inception_v4.tf_in1k", revision="24edbb8f3ca9aab790ab91929a4101165581b168",
        sha256="a756a086851c8d5a8de135ec15c76b90ea56cb5aef450e3299107e659e725bb1",
        dataset="imagenet-1k", metrics={"top1": 80.0}, license="apache-2.0",
        preprocessing={"input_size": 299, "crop_pct": 0.875, "interpolation": "bicubic",
                       "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
        description="The TensorFlow-Slim ImageNet-1k checkpoint as ported by timm (same key names as ours); "
                    "top-1 is the paper's single-crop figure.",
    ),
)

INCEPTION_V3 = Paper(title="Rethinking the Inception Architecture for Computer Vision", arxiv="1512.00567",
                     venue="CVPR 2016")
# Inception-v4 §4 (arXiv:1602.07261): RMSProp with decay 0.9 and epsilon 1.0, lr 0.045 decayed every two epochs by
# 0.94; the batch of 32, the 100 epochs and the gradient clipping at 2.0 are Inception-v3's (§8, arXiv:1512.00567),
# which v4 says it follows.
RECIPES = (TrainRecipe(
    name="imagenet", optimiser="rmsprop", lr=0.045, momentum=0.9, beta2=0.9, eps=1.0, epochs=100, batch_size=32,
    schedule="step", step_epochs=2, gamma=0.94, grad_clip=2.0, augmentation="resized-crop-flip", source=PAPER,
    notes="the paper trains asynchronously on 50 replicas of batch 32; here one synchronous batch of 32",
),)


MODELS = (
    ModelSpec(
        name="inception-v4", domain="vision", task="classification", paper=PAPER, recipes=RECIPES,
        builder=f"{_MODULE}:build_inception_v4", example_input=f"{_MODULE}:example_input",
        num_params=VARIANTS["v4"]["num_params"],
        default_config={"num_classes": 1000, "in_chans": 3, "drop_rate": 0.0},
        weights=WEIGHTS,
        # The stem's last conv and the last block of each reduction level, as timm's inception_v4 taps
        # them; the convs are unpadded, so the maps are a little smaller than input / stride.
        features=(FeatureLevel("features.2", 64, 2), FeatureLevel("features.3", 160, 4),
                  FeatureLevel("features.9", 384, 8), FeatureLevel("features.17", 1024, 16),
                  FeatureLevel("features.21", 1536, 32)),
        explain_layer="features.21",  # the last Inception-C block: 8 x 8 at 299
        tags=("cnn", "inception", "imagenet"),
        license="apache-2.0",
        description="Inception-v4 (pure Inception blocks, no residuals), 299 x 299 input.",
    ),
)
