"""zoo-vision's hook implementations: metadata only.

This module imports neither torch nor numpy (the conformance kit checks it in a fresh
interpreter): it only collects the ``MODELS`` tuples of the torch-free ``*_specs`` modules.
"""

from __future__ import annotations

from zoo import hookimpl
from zoo_vision.models import eca_resnet_specs, inception_v4_specs, vanillanet_specs


@hookimpl
def zoo_models() -> list:
    return [*eca_resnet_specs.MODELS, *inception_v4_specs.MODELS, *vanillanet_specs.MODELS]
