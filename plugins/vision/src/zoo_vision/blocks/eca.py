"""Efficient Channel Attention (ECA).

Wang et al., "ECA-Net: Efficient Channel Attention for Deep Convolutional Neural Networks",
CVPR 2020, arXiv:1910.03151. Global average pooling gives one descriptor per channel; a 1-D
convolution of kernel ``k`` across the channel axis (one input and one output channel, no bias)
and a sigmoid turn it into per-channel gates: local cross-channel interaction without the
dimensionality reduction of squeeze-and-excitation, at ``k`` parameters per module.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def eca_kernel_size(channels: int, gamma: int = 2, beta: int = 1) -> int:
    """The paper's adaptive kernel size ``psi(C) = |log2(C) / gamma + beta / gamma|_odd``.

    Rounded down, then up to the next odd number (64 -> 3, 128 to 1024 -> 5, 2048 -> 7).
    """
    t = int(abs((math.log2(channels) + beta) / gamma))
    return t if t % 2 else t + 1


class EfficientChannelAttention(nn.Module):
    """``[B, C, H, W] -> [B, C, H, W]``: the input scaled by ``sigmoid(conv1d_k(GAP(x)))`` per channel.

    ``kernel_size=None`` takes :func:`eca_kernel_size` of ``channels``; the authors' released
    ResNets pass the kernel size per stage instead.
    """

    def __init__(self, channels: int, kernel_size: int | None = None):
        super().__init__()
        k = eca_kernel_size(channels) if kernel_size is None else kernel_size
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel gates ``[B, C, 1, 1]`` of ``x`` ``[B, C, H, W]``."""
        y = x.mean((2, 3)).unsqueeze(1)  # [B, 1, C]: the channels become the sequence the 1-D conv slides over
        return torch.sigmoid(self.conv(y)).view(x.shape[0], -1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)
