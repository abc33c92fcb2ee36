"""zoo's explainer framework: ``zoo.explain(model, x, method=...)`` and its methods.

Methods are :class:`zoo.ExplainerSpec` objects registered through the ``zoo_explainers`` hook;
the core's own (Grad-CAM, Grad-CAM++, Smooth Grad-CAM++, Eigen-CAM, CF-CAM, saliency,
input × gradient) come from :mod:`zoo.explainers.plugin`, and a plugin adds its own the same way.
Importing this package imports no torch (the plugin module lives inside it); the framework is
loaded on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DetectionTarget", "Explanation", "Points", "TimeSteps", "canonical_name", "explain"]


def canonical_name(method: str) -> str:
    """The registered name of ``method``: spec names are kebab-case, so ``"grad-cam++"`` is
    registered as ``"grad-cam-pp"``; both spellings are accepted."""
    return method.replace("++", "-pp") if isinstance(method, str) else method


def explain(model, x, method: str = "grad-cam", *, target_layer: Any = None, targets: Any = None,
            reshape: Any = None, **options: Any):
    """Explain ``model``'s output on ``x`` with the registered explainer ``method``.

    ``target_layer``: a submodule name (``"layer4"``, ``"blocks[-1].norm1"``), a module, or a list
    of them; default: the ``explain_layer`` of the model's :class:`zoo.ModelSpec`.
    ``targets``: None (each sample's predicted class), an int, one int per sample, or a callable
    mapping the model output to one score per sample. ``reshape``: overrides the ModelSpec's
    ``explain_reshape`` (False: none). ``options`` go to the method.
    Returns an :class:`Explanation` whose ``maps`` are ``[B, *S]`` in [0, 1].
    """
    from zoo.registry import get_registry
    from zoo.specs import resolve

    spec = get_registry().explainer(canonical_name(method))
    return resolve(spec.builder)(model, x, target_layer=target_layer, targets=targets, reshape=reshape, **options)


def __getattr__(name: str):
    if name in ("Explanation", "Points", "TimeSteps"):
        from zoo.explainers import framework

        return getattr(framework, name)
    if name == "DetectionTarget":  # one detection (box + class) of a detector; see zoo.explainers.detection
        from zoo.explainers.detection import DetectionTarget

        return DetectionTarget
    raise AttributeError(f"module 'zoo.explainers' has no attribute {name!r}")
