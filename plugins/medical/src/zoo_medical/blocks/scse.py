"""Spatial and channel squeeze & excitation (sSE, cSE, scSE) for 1-, 2- and 3-D feature maps.

Roy, Navab, Wachinger, "Recalibrating Fully Convolutional Networks with Spatial and Channel
'Squeeze & Excitation' Blocks", IEEE TMI 38(2), 2019, arXiv:1808.08127 (conference version:
"Concurrent Spatial and Channel Squeeze & Excitation in Fully Convolutional Networks",
MICCAI 2018, arXiv:1803.02579).

cSE is MONAI's :class:`monai.networks.blocks.ChannelSELayer` (global average pool, C -> C/r -> C
with biases, sigmoid gate). MONAI has no spatial SE and no concurrent block, so those two are
written here. Every block maps ``[B, C, *spatial]`` to a tensor of the same shape, so it can be
dropped after any convolution block of any MONAI network.
"""

from __future__ import annotations

import torch
from monai.networks.blocks import ChannelSELayer
from monai.networks.layers.factories import Conv
from torch import nn

__all__ = ["ChannelSELayer", "ChannelSpatialSELayer", "SpatialSELayer", "make_se", "scse_params"]

COMBINE_MODES = ("max", "add")


class SpatialSELayer(nn.Module):
    """sSE: squeeze the channels with a 1x1(x1) convolution, excite every position.

    ``out = U * sigmoid(conv1x1(U))`` with the gate broadcast over channels; ``C + 1`` parameters.
    Input and output: ``[B, C, *spatial]`` with ``spatial_dims`` spatial axes.
    """

    def __init__(self, spatial_dims: int, in_channels: int):
        super().__init__()
        self.conv = Conv[Conv.CONV, spatial_dims](in_channels, 1, kernel_size=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.conv(x))


class ChannelSpatialSELayer(nn.Module):
    """scSE: run cSE and sSE concurrently on the same input and aggregate the two results.

    ``combine="max"`` is the element-wise max-out of the TMI 2019 paper and of the authors'
    released ``squeeze_and_excitation`` package (the default); ``combine="add"`` is the addition
    of the MICCAI 2018 paper. ``r`` is cSE's reduction ratio (2 in the paper). Parameters:
    ``2*C*C/r + C/r + C`` (cSE) ``+ C + 1`` (sSE), e.g. 4,257 at C=64.

    Input and output: ``[B, C, *spatial]``.
    """

    def __init__(self, spatial_dims: int, in_channels: int, r: int = 2, combine: str = "max"):
        super().__init__()
        if combine not in COMBINE_MODES:
            # ValueError rather than a ZooError: this is a programming error inside a network
            # definition, raised while building, never a user's input tensor.
            raise ValueError(f"combine must be one of {COMBINE_MODES}, got {combine!r}")
        self.combine = combine
        self.cse = ChannelSELayer(spatial_dims, in_channels, r=r)
        self.sse = SpatialSELayer(spatial_dims, in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Same arithmetic as cse(x) and sse(x), with the gates computed first and, at inference,
        # the full-size products combined in place: scSE is memory-bound, so every full-size
        # temporary shows in the sliding-window latency.
        batch, channels = x.shape[:2]
        channel_gate = self.cse.fc(x.mean(tuple(range(2, x.ndim)))).view(batch, channels, *([1] * (x.ndim - 2)))
        spatial_gate = torch.sigmoid(self.sse.conv(x))
        out, other = x * channel_gate, x * spatial_gate
        combine = torch.maximum if self.combine == "max" else torch.add
        if torch.is_grad_enabled():
            return combine(out, other)
        return combine(out, other, out=out)

    def extra_repr(self) -> str:
        return f"combine={self.combine!r}"


def scse_params(channels: int, r: int = 2) -> int:
    """Closed-form parameter count of one scSE block (the paper's overhead arithmetic)."""
    hidden = channels // r
    return (channels * hidden + hidden) + (hidden * channels + channels) + (channels + 1)


def make_se(kind: str, spatial_dims: int, channels: int, r: int = 2) -> nn.Module:
    """Build one recalibration block by name: ``"cse"``, ``"sse"``, ``"scse"`` (max) or ``"scse-add"``."""
    if kind == "cse":
        return ChannelSELayer(spatial_dims, channels, r=r)
    if kind == "sse":
        return SpatialSELayer(spatial_dims, channels)
    if kind == "scse":
        return ChannelSpatialSELayer(spatial_dims, channels, r=r, combine="max")
    if kind == "scse-add":
        return ChannelSpatialSELayer(spatial_dims, channels, r=r, combine="add")
    raise ValueError(f"unknown squeeze-excitation kind {kind!r}; use 'cse', 'sse', 'scse' or 'scse-add'")
