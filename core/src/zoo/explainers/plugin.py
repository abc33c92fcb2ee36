"""The core's explainers, registered through the same hook a plugin uses (imports no torch).

Spec names are kebab-case, so Grad-CAM++ is registered as ``grad-cam-pp``; :func:`zoo.explain`
also accepts the spelling ``grad-cam++`` (see :func:`zoo.explainers.canonical_name`).
"""

from __future__ import annotations

import zoo
from zoo.specs import ExplainerSpec, Paper

_CAM = "zoo.explainers.cam"
_GRAD = "zoo.explainers.gradients"


@zoo.hookimpl
def zoo_explainers() -> list[ExplainerSpec]:
    return [
        ExplainerSpec(
            "grad-cam", f"{_CAM}:grad_cam",
            Paper("Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization",
                  arxiv="1610.02391", venue="ICCV 2017"),
            description="Channel weights = spatial mean of the target's gradient at the layer.",
        ),
        ExplainerSpec(
            "grad-cam-pp", f"{_CAM}:grad_cam_pp",
            Paper("Grad-CAM++: Generalized Gradient-based Visual Explanations for Deep Convolutional Networks",
                  arxiv="1710.11063", venue="WACV 2018"),
            description="Pixel-weighted gradients (pytorch-grad-cam convention; "
                        "convention='original' for the authors').",
        ),
        ExplainerSpec(
            "smooth-grad-cam-pp", f"{_CAM}:smooth_grad_cam_pp",
            Paper("Smooth Grad-CAM++: An Enhanced Inference Level Visualization Technique for Deep "
                  "Convolutional Neural Network Models", arxiv="1908.01224"),
            description="Grad-CAM++ with derivatives averaged over noisy copies of the input (one batch).",
        ),
        ExplainerSpec(
            "eigen-cam", f"{_CAM}:eigen_cam",
            Paper("Eigen-CAM: Class Activation Map using Principal Components", arxiv="2008.00299",
                  venue="IJCNN 2020"),
            needs_gradients=False,
            description="First principal component of the layer's activations; no backward pass.",
        ),
        ExplainerSpec(
            "cf-cam", f"{_CAM}:cf_cam",
            Paper("CF-CAM: Cluster Filter Class Activation Mapping for Reliable Gradient-Based Interpretability",
                  arxiv="2504.00060", code="https://github.com/jerryp-hfut/CF-CAM"),
            description="DBSCAN channel clusters with filtered gradients, softmax channel weights.",
        ),
        ExplainerSpec(
            "saliency", f"{_GRAD}:saliency",
            Paper("Deep Inside Convolutional Networks: Visualising Image Classification Models and Saliency Maps",
                  arxiv="1312.6034"),
            description="Largest absolute input gradient over channels (baseline).",
        ),
        ExplainerSpec(
            "input-x-gradient", f"{_GRAD}:input_x_gradient",
            Paper("Not Just a Black Box: Learning Important Features Through Propagating Activation Differences",
                  arxiv="1605.01713"),
            description="Input times its gradient, summed over channels (baseline).",
        ),
    ]


@zoo.hookimpl
def zoo_cli(subparsers) -> None:
    from zoo.explainers.cli import add_explain_command

    add_explain_command(subparsers)
