"""zoo-vision's explainers: the specs (no torch imported); the methods live in the submodules."""

from __future__ import annotations

from zoo import ExplainerSpec
from zoo_vision.explainers.ttame_specs import PAPER as TTAME_PAPER
from zoo_vision.models.bcos_resnet_specs import PAPER as BCOS_PAPER

EXPLAINERS = (
    ExplainerSpec(
        "bcos-contributions", "zoo_vision.explainers.bcos:bcos_contributions", BCOS_PAPER,
        description="B-cos contribution map: the input times the network's dynamic linear map W(x), "
                    "summed over channels; its sum is the logit less the logit bias (B-cos models only).",
    ),
    ExplainerSpec(
        "t-tame", "zoo_vision.explainers.ttame:ttame", TTAME_PAPER, needs_gradients=False,
        description="Trainable attention head over three feature layers of the frozen model (train it with "
                    "zoo_vision.explainers.ttame.train_ttame, pass head=); one forward pass per explanation.",
    ),
)
