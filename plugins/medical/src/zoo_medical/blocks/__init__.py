"""Reusable network blocks in the style of ``monai.networks.blocks``: import them from here.

Importing this package imports torch and MONAI; the plugin module never does.
"""

from zoo_medical.blocks.kan import FasterKAN, FasterKANLayer
from zoo_medical.blocks.mlstm import ViLBlock, ViLLayer, ViLSpatial, mlstm_parallel
from zoo_medical.blocks.neighborhood_attention import NeighborhoodAttention2D
from zoo_medical.blocks.scse import ChannelSpatialSELayer, SpatialSELayer, make_se

__all__ = [
    "ChannelSpatialSELayer", "FasterKAN", "FasterKANLayer", "NeighborhoodAttention2D", "SpatialSELayer",
    "ViLBlock", "ViLLayer", "ViLSpatial", "make_se", "mlstm_parallel",
]
