"""The visual front-end shared by TD3Net and the MS-TCN/DC-TCN baselines: a 3-D stem over the grey
mouth clip, then a ResNet-18 trunk applied to every frame.

TD3Net (Lee et al., "TD3Net: A Temporal Densely Connected Multi-dilated Convolutional Network for
Lipreading", arXiv:2506.16073) uses a 3x7x7 stem and PReLU; mpc001's baselines (Ma et al.,
"Towards Practical Lipreading with Distilled and Efficient Models", arXiv:2007.06504, and
"Lip-reading with Densely Connected Temporal Convolutional Networks", arXiv:2009.14233) a 5x7x7
stem and, in their released LRW configs, Swish.

Input ``[B, 1, T, H, W]`` (88x88 crops for LRW), output ``[B, 512, T]``.
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = ("prelu", "swish", "relu")


def activation(kind: str, channels: int) -> nn.Module:
    """The authors' ``relu_type`` switch; PReLU has one slope per channel."""
    if kind == "prelu":
        return nn.PReLU(num_parameters=channels)
    if kind == "swish":
        return nn.SiLU()
    if kind == "relu":
        return nn.ReLU()
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {kind!r}")


class BasicBlock2d(nn.Module):
    """ResNet basic block with the activation of the config and a 1x1 conv + BN shortcut."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1, act: str = "prelu"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.act1 = activation(act, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.act2 = activation(act, channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                                            nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.act2(out + shortcut)


class ResNetTrunk(nn.Module):
    """ResNet-18 without its stem, pooling and classifier: ``[N, 64, h, w] -> [N, 512, h / 8, w / 8]``."""

    def __init__(self, act: str = "prelu", depths=(2, 2, 2, 2), widths=(64, 128, 256, 512)):
        super().__init__()
        in_channels = 64
        for index, (depth, width) in enumerate(zip(depths, widths)):
            stride = 1 if index == 0 else 2
            blocks = [BasicBlock2d(in_channels, width, stride, act)]
            blocks += [BasicBlock2d(width, width, 1, act) for _ in range(depth - 1)]
            self.add_module(f"layer{index + 1}", nn.Sequential(*blocks))
            in_channels = width
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class FramesToClip(nn.Module):
    """``[B * T, C, h, w] -> [B, C, T, h, w]``: the trunk's per-frame maps put back on the clip's time
    axis. It holds no weights; it is the front-end's explain layer, where Grad-CAM sees one
    (T, h, w) volume per clip and so gives temporal and spatial saliency at once."""

    def forward(self, x: torch.Tensor, batch: int) -> torch.Tensor:
        return x.reshape(batch, -1, *x.shape[1:]).transpose(1, 2)


class VisualFrontend(nn.Module):
    """3-D stem (``temporal_kernel`` x7x7, stride 1x2x2) + max-pool, then the trunk per frame and
    a global average pool per frame.

    ``[B, 1, T, H, W] -> [B, 512, T]``; the time axis keeps its length.
    """

    def __init__(self, temporal_kernel: int = 3, act: str = "prelu"):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(1, 64, (temporal_kernel, 7, 7), (1, 2, 2), (temporal_kernel // 2, 3, 3), bias=False),
            nn.BatchNorm3d(64),
            activation(act, 64),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        self.trunk = ResNetTrunk(act)
        self.clip = FramesToClip()
        self.out_channels = self.trunk.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        batch, channels, frames, height, width = x.shape
        x = x.transpose(1, 2).reshape(batch * frames, channels, height, width)
        return self.clip(self.trunk(x), batch).mean(dim=(3, 4))
