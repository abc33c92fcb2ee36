"""TD3Net's temporal blocks (Lee et al., "TD3Net: A Temporal Densely Connected Multi-dilated
Convolutional Network for Lipreading", arXiv:2506.16073).

All layers are 1-D convolutions over time on ``[B, C, T]`` with "same" padding, so ``T`` is kept.
Three details decide checkpoint parity and are kept as the authors have them: BatchNorm momentum
0.01, a PReLU slope per output channel, and dropout after *every* conv unit (1x1 ones included).
"""

from __future__ import annotations

import torch
from torch import nn

from zoo_lipreading.blocks.frontend import activation


class ConvUnit(nn.Module):
    """Conv1d (no bias) -> BN (momentum 0.01) -> activation -> dropout, the authors' ``BasicConv``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, dilation: int = 1,
                 dropout: float = 0.2, act: str = "prelu"):
        super().__init__()
        padding = (kernel_size // 2) * dilation
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm1d(out_channels, momentum=0.01)
        self.act = activation(act, out_channels)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.act(self.bn(self.conv(x))))


class MultiDilatedDenseBlock(nn.Module):
    """``num_layers`` groups of ``growth`` channels; group ``i`` is convolved at dilation ``2**(i+1)``
    and its output, ``growth * (num_layers - 1 - i)`` channels, is added chunk by chunk to every later
    group. The groups are updated in order, so a group already carries the contributions of all earlier
    groups when its own turn comes: that order is part of the network.

    ``[B, growth * num_layers, T] -> [B, growth * num_layers, T]``.
    """

    def __init__(self, growth: int, num_layers: int, kernel_size: int = 3, dropout: float = 0.2, act: str = "prelu"):
        super().__init__()
        self.growth, self.num_layers = growth, num_layers
        self.layers = nn.ModuleList(
            ConvUnit(growth, growth * (num_layers - 1 - i), kernel_size, 2 ** (i + 1), dropout, act)
            for i in range(num_layers - 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = list(x.split(self.growth, dim=1))
        for i, layer in enumerate(self.layers):
            for j, chunk in enumerate(layer(groups[i]).split(self.growth, dim=1)):
                groups[i + 1 + j] = groups[i + 1 + j] + chunk
        return torch.cat(groups, dim=1)


class TD2Block(nn.Module):
    """Bottleneck 1x1 (to ``4 * growth``, when that is narrower than the input) -> k=3 conv to
    ``growth * num_layers`` -> multi-dilated dense block -> 1x1 reduction to
    ``int(growth * out_block * block_comp)`` channels.

    ``[B, C_in, T] -> [B, int(growth * out_block * block_comp), T]``.
    """

    def __init__(self, in_channels: int, growth: int, num_layers: int, out_block: int, block_comp: float,
                 kernel_size: int = 3, dropout: float = 0.2, act: str = "prelu"):
        super().__init__()
        width = 4 * growth
        self.bottleneck = ConvUnit(in_channels, width, 1, 1, dropout, act) if width < in_channels else None
        self.init = ConvUnit(width if self.bottleneck else in_channels, growth * num_layers, kernel_size, 1,
                             dropout, act)
        self.dilated = MultiDilatedDenseBlock(growth, num_layers, kernel_size, dropout, act)
        self.reduce = ConvUnit(growth * num_layers, int(growth * out_block * block_comp), 1, 1, dropout, act)
        self.out_channels = self.reduce.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bottleneck is not None:
            x = self.bottleneck(x)
        return self.reduce(self.dilated(self.init(x)))


class TD3Block(nn.Module):
    """``num_blocks`` TD2 blocks, densely connected (each sees the input and every earlier output),
    then a 1x1 transition to ``C // trans_comp`` channels (floor division, as the authors count).

    ``[B, C_in, T] -> [B, (C_in + num_blocks * growth_out) // trans_comp, T]``.
    """

    def __init__(self, in_channels: int, num_blocks: int, trans_comp: int, **td2):
        super().__init__()
        blocks = []
        for _ in range(num_blocks):
            blocks.append(TD2Block(in_channels, **td2))
            in_channels += blocks[-1].out_channels
        self.blocks = nn.ModuleList(blocks)
        self.transition = ConvUnit(in_channels, in_channels // trans_comp, 1, 1, td2.get("dropout", 0.2),
                                   td2.get("act", "prelu"))
        self.out_channels = self.transition.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = torch.cat([x, block(x)], dim=1)
        return self.transition(x)


class TD3Backend(nn.Module):
    """TD3 blocks in sequence: ``[B, C_in, T] -> [B, C_out, T]`` (``out_channels`` says C_out)."""

    def __init__(self, in_channels: int, num_blocks, trans_comp, **td2):
        super().__init__()
        stages = []
        for blocks, comp in zip(num_blocks, trans_comp):
            stages.append(TD3Block(in_channels, blocks, comp, **td2))
            in_channels = stages[-1].out_channels
        self.stages = nn.Sequential(*stages)
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)
