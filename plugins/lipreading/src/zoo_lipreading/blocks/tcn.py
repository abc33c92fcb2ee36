"""The temporal back-ends of mpc001's lipreading baselines, on ``[B, C, T]``:

* MS-TCN, the multi-scale multi-branch TCN of Martinez et al., "Lipreading using Temporal
  Convolutional Networks", ICASSP 2020, arXiv:2001.08702;
* DC-TCN, the densely connected TCN of Ma et al., "Lip-reading with Densely Connected Temporal
  Convolutional Networks", WACV 2021, arXiv:2009.14233.

Both convolve with the full causal padding ``(k - 1) * d``, normalise, and only then trim ``(k - 1) * d / 2``
frames at each end: in training the batch statistics include the padded ends, so the order is kept.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo_lipreading.blocks.frontend import activation


class ChompedConv(nn.Module):
    """Conv1d (with bias) padded by ``(k-1)*d`` -> BN -> symmetric trim back to ``T`` -> activation."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int, act: str):
        super().__init__()
        self.trim = (kernel_size - 1) * dilation // 2
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=2 * self.trim, dilation=dilation)
        self.bn = nn.BatchNorm1d(out_channels)
        self.act = activation(act, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        if self.trim:
            x = x[:, :, self.trim:-self.trim]
        return self.act(x)


class SqueezeExcite(nn.Module):
    """Channel gate over time: mean over T -> Linear (c / reduction) -> Swish -> Linear -> sigmoid."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.reduce = nn.Linear(channels, channels // reduction, bias=False)
        self.expand = nn.Linear(channels // reduction, channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.expand(nn.functional.silu(self.reduce(x.mean(dim=2)))))
        return x * gate.unsqueeze(2)


class MultiBranchBlock(nn.Module):
    """Two multi-branch conv sets (one branch per kernel size, ``out / len(kernels)`` channels each,
    concatenated), dropout after each, a 1x1 residual projection, a final activation.

    ``with_se`` puts a squeeze-excitation gate before each first-set branch (DC-TCN).
    ``[B, C_in, T] -> [B, C_out, T]``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernels, dilation: int, dropout: float, act: str,
                 project: bool, with_se: bool = False):
        super().__init__()
        branch = out_channels // len(kernels)
        self.se = nn.ModuleList(SqueezeExcite(in_channels) for _ in kernels) if with_se else None
        self.first = nn.ModuleList(ChompedConv(in_channels, branch, k, dilation, act) for k in kernels)
        self.second = nn.ModuleList(ChompedConv(out_channels, branch, k, dilation, act) for k in kernels)
        self.dropout = nn.Dropout(dropout)
        self.downsample = nn.Conv1d(in_channels, out_channels, 1) if project else None
        self.act = activation(act, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gates = self.se if self.se is not None else [None] * len(self.first)
        out = torch.cat([conv(x if se is None else se(x)) for se, conv in zip(gates, self.first)], dim=1)
        out = self.dropout(out)
        out = self.dropout(torch.cat([conv(out) for conv in self.second], dim=1))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.act(out + shortcut)


class MSTCNBackend(nn.Module):
    """``num_layers`` multi-branch blocks of ``width`` channels at dilations 1, 2, 4, ...

    mpc001 adds the 1x1 residual projection whenever ``C_in // len(kernels) != width``, which is
    every block of their configs, so every block here has one too.
    ``[B, C_in, T] -> [B, width, T]``.
    """

    def __init__(self, in_channels: int, width: int, num_layers: int, kernels, dropout: float, act: str):
        super().__init__()
        blocks = []
        for i in range(num_layers):
            channels = in_channels if i == 0 else width
            blocks.append(MultiBranchBlock(channels, width, kernels, 2 ** i, dropout, act,
                                           project=channels // len(kernels) != width))
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class Transition(nn.Module):
    """1x1 conv (no bias) -> BN -> activation."""

    def __init__(self, in_channels: int, out_channels: int, act: str):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm1d(out_channels)
        self.act = activation(act, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class DenseTCNBlock(nn.Module):
    """Dense block: layer ``i`` sees the input and all earlier outputs, adds ``growth`` channels, and
    takes its dilation from ``dilations`` in turn. ``[B, C, T] -> [B, C + len(layers) * growth, T]``."""

    def __init__(self, in_channels: int, num_layers: int, growth: int, kernels, dilations, dropout: float,
                 act: str, with_se: bool):
        super().__init__()
        self.layers = nn.ModuleList(
            MultiBranchBlock(in_channels + i * growth, growth, kernels, dilations[i % len(dilations)], dropout, act,
                             project=in_channels + i * growth != growth, with_se=with_se)
            for i in range(num_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class DCTCNBackend(nn.Module):
    """1x1 reduction to ``reduced`` channels (always PReLU, as mpc001 hard-codes it), then dense
    blocks separated by reductions, then a final BatchNorm. ``[B, C_in, T] -> [B, reduced + L * g, T]``."""

    def __init__(self, in_channels: int, block_layers, growth, kernels, dilations, reduced: int, dropout: float,
                 act: str, squeeze_excitation: bool):
        super().__init__()
        self.transitions = nn.ModuleList([Transition(in_channels, reduced, "prelu")])
        self.blocks = nn.ModuleList()
        channels = reduced
        for i, (layers, rate) in enumerate(zip(block_layers, growth)):
            self.blocks.append(DenseTCNBlock(channels, layers, rate, kernels, dilations, dropout, act,
                                             squeeze_excitation))
            channels += layers * rate
            if i < len(block_layers) - 1:
                self.transitions.append(Transition(channels, reduced, act))
                channels = reduced
        self.norm = nn.BatchNorm1d(channels)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.transitions[0](x)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i + 1 < len(self.transitions):
                x = self.transitions[i + 1](x)
        return self.norm(x)
