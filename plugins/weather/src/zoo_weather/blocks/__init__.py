"""Reusable layers of zoo-weather."""

from zoo_weather.blocks.lka import (
    ConvMlp,
    LargeKernelAttention,
    SpatialAttention,
    SphereConv2d,
    VANBlock,
    sphere_pad,
)

__all__ = ["ConvMlp", "LargeKernelAttention", "SpatialAttention", "SphereConv2d", "VANBlock", "sphere_pad"]
