"""zoo-vision's explainers: the specs (no torch imported); the methods live in the submodules."""

from __future__ import annotations

from zoo import ExplainerSpec, Paper
from zoo_vision.explainers.ttame_specs import PAPER as TTAME_PAPER
from zoo_vision.models.bcos_resnet_specs import PAPER as BCOS_PAPER

LINEARSCOPE_PAPER = Paper("A Tour of Convolutional Networks Guided by Linear Interpreters", arxiv="1908.05168",
                          venue="ICCV 2019")

EXPLAINERS = (
    ExplainerSpec(
        "bcos-contributions", "zoo_vision.explainers.bcos:bcos_contributions", BCOS_PAPER,
        description="B-cos contribution map: the input times the network's dynamic linear map W(x), "
                    "summed over channels; its sum is the logit less the logit bias (B-cos models only).",
    ),
    ExplainerSpec(
        "linearscope", "zoo_vision.explainers.linearscope:linearscope", LINEARSCOPE_PAPER,
        description="LinearScope linear interpreter f(x) = A(x)x + b(x), by a doubled batch whose second half "
                    "sees every non-linear unit linearised at x: the input times A(x)'s target row, summed over "
                    "channels (b(x) and the rows: zoo_vision.explainers.linearscope.linear_interpreter).",
    ),
    ExplainerSpec(
        "t-tame", "zoo_vision.explainers.ttame:ttame", TTAME_PAPER, needs_gradients=False,
        description="Trainable attention head over three feature layers of the frozen model (train it with "
                    "zoo_vision.explainers.ttame.train_ttame, pass head=); one forward pass per explanation.",
    ),
)
