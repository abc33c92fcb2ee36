"""Reusable layers of zoo-vision (torch), in the style of ``monai.networks.blocks``: import them from here."""

from zoo_vision.blocks.attention import SpatialReductionAttention
from zoo_vision.blocks.drop_path import DropPath
from zoo_vision.blocks.eca import EfficientChannelAttention, eca_kernel_size
from zoo_vision.blocks.mlp import ConvMlp, Mlp
from zoo_vision.blocks.series_activation import SeriesActivation, fold_batchnorm

__all__ = ["ConvMlp", "DropPath", "EfficientChannelAttention", "Mlp", "SeriesActivation", "SpatialReductionAttention",
           "eca_kernel_size", "fold_batchnorm"]
