"""Reusable layers of zoo-vision (torch), in the style of ``monai.networks.blocks``: import them from here."""

from zoo_vision.blocks.attention import MultiHeadSelfAttention, SpatialReductionAttention
from zoo_vision.blocks.bcos import (
    BatchNormUncentered2d,
    BcosConv2d,
    BcosLinear,
    DetachableGroupNorm2d,
    DetachableLayerNorm,
    DetachableModule,
    DetachablePositionNorm2d,
    LogitLayer,
    NormedConv2d,
    NormedLinear,
    add_inverse,
    explanation_mode,
)
from zoo_vision.blocks.biper import BiPerConv2d, biper_binarize, quantization_error, sign_approx
from zoo_vision.blocks.drop_path import DropPath
from zoo_vision.blocks.eca import EfficientChannelAttention, eca_kernel_size
from zoo_vision.blocks.mlp import ConvMlp, Mlp
from zoo_vision.blocks.patch_embed import PatchEmbed
from zoo_vision.blocks.series_activation import SeriesActivation, fold_batchnorm

__all__ = ["BatchNormUncentered2d", "BcosConv2d", "BcosLinear", "BiPerConv2d", "ConvMlp", "DetachableGroupNorm2d",
           "DetachableLayerNorm", "DetachableModule", "DetachablePositionNorm2d", "DropPath",
           "EfficientChannelAttention", "LogitLayer", "Mlp", "MultiHeadSelfAttention", "NormedConv2d", "PatchEmbed",
           "NormedLinear", "SeriesActivation", "SpatialReductionAttention", "add_inverse", "biper_binarize",
           "eca_kernel_size", "explanation_mode", "fold_batchnorm", "quantization_error", "sign_approx"]
