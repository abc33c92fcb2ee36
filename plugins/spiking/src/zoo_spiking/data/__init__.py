"""Data for zoo-spiking: the ModelNet40 reader, the built-in shapes set and point-cloud preprocessing.

The names below are imported on first use, so that the plugin can read
:data:`zoo_spiking.data.modelnet40.DATASETS` without importing torch.
"""

from importlib import import_module

_EXPORTS = {
    "SHAPE_NAMES": "shapes", "ShapesDataset": "shapes", "sample_shape": "shapes",
    "collate": "voxel", "collate_labelled": "voxel", "farthest_point_sample": "voxel",
    "normalize_coord": "voxel", "voxelize": "voxel",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
