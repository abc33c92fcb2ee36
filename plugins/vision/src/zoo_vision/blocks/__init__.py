"""Reusable layers of zoo-vision."""

from zoo_vision.blocks.attention import SpatialReductionAttention
from zoo_vision.blocks.drop_path import DropPath
from zoo_vision.blocks.mlp import ConvMlp, Mlp

__all__ = ["ConvMlp", "DropPath", "Mlp", "SpatialReductionAttention"]
