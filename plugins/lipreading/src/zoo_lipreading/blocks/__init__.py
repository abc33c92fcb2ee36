"""Reusable lipreading layers (re-exported here, as MONAI does with its blocks)."""

from zoo_lipreading.blocks.frontend import BasicBlock2d, FramesToClip, ResNetTrunk, VisualFrontend, activation
from zoo_lipreading.blocks.lipreader import Lipreader, init_like_authors
from zoo_lipreading.blocks.tcn import (
    ChompedConv,
    DCTCNBackend,
    DenseTCNBlock,
    MSTCNBackend,
    MultiBranchBlock,
    SqueezeExcite,
    Transition,
)
from zoo_lipreading.blocks.td3 import ConvUnit, MultiDilatedDenseBlock, TD2Block, TD3Backend, TD3Block

__all__ = [
    "BasicBlock2d", "ChompedConv", "ConvUnit", "DCTCNBackend", "DenseTCNBlock", "FramesToClip", "Lipreader",
    "MSTCNBackend", "MultiBranchBlock", "MultiDilatedDenseBlock", "ResNetTrunk", "SqueezeExcite", "TD2Block",
    "TD3Backend", "TD3Block", "Transition", "VisualFrontend", "activation", "init_like_authors",
]
