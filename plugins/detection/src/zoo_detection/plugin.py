"""zoo-detection's hook implementations: they only collect the spec modules' tuples (no torch, no mmdet)."""

from __future__ import annotations

from zoo import hookimpl
from zoo_detection.models import fcos_specs, retinanet_specs


@hookimpl
def zoo_models() -> list:
    return [*retinanet_specs.MODELS, *fcos_specs.MODELS]
