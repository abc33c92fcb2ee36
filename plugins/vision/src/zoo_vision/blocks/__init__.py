"""Reusable layers of zoo-vision."""

from zoo_vision.blocks.eca import EfficientChannelAttention, eca_kernel_size
from zoo_vision.blocks.series_activation import SeriesActivation, fold_batchnorm

__all__ = ["EfficientChannelAttention", "SeriesActivation", "eca_kernel_size", "fold_batchnorm"]
