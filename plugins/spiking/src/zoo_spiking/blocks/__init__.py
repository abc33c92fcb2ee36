"""Reusable spiking blocks: neurons and sparse 3-D convolution (MONAI-style building blocks)."""

from zoo_spiking.blocks.neurons import MultiSpike, MultiStepLIF, multispike
from zoo_spiking.blocks.sparse_conv import (
    SparseConv3d,
    SparseInverseConv3d,
    SparseSequential,
    SparseTensor,
    SubMConv3d,
)

__all__ = [
    "MultiSpike", "MultiStepLIF", "SparseConv3d", "SparseInverseConv3d", "SparseSequential",
    "SparseTensor", "SubMConv3d", "multispike",
]
