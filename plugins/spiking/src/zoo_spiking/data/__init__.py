"""Data for zoo-spiking: the ModelNet40 reader, the built-in shapes set and point-cloud preprocessing."""

from zoo_spiking.data.shapes import SHAPE_NAMES, ShapesDataset, sample_shape
from zoo_spiking.data.voxel import (
    collate,
    collate_labelled,
    farthest_point_sample,
    normalize_coord,
    voxelize,
)

__all__ = [
    "SHAPE_NAMES", "ShapesDataset", "collate", "collate_labelled", "farthest_point_sample",
    "normalize_coord", "sample_shape", "voxelize",
]
