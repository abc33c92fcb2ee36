"""RepViT, the mobile CNN designed from a ViT's point of view, as PK-YOLO uses it.

Wang et al., "RepViT: Revisiting Mobile CNN From ViT Perspective", CVPR 2024, arXiv:2307.09283.
Every block is a token mixer (a re-parameterisable 3x3 depth-wise conv, or a stride-2 depth-wise
conv and a 1x1 projection at a stage change, with an optional squeeze-excitation) followed by a
residual channel mixer (1x1 expansion by 2, GELU, 1x1 projection).

The parameter and buffer names follow the RepViT reference layout (``features.<i>.…``, ``c``/``bn``
inside a conv-BN pair, ``fc1``/``fc2`` in the squeeze-excitation) so that a RepViT checkpoint in
that layout loads by name (see :func:`zoo_medical.models.pk_yolo.load_pretrained_knowledge`).
"""

from __future__ import annotations

from torch import Tensor, nn


def make_divisible(value: float, divisor: int = 8) -> int:
    """The nearest multiple of ``divisor`` at or above ``divisor``, never more than 10% below ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class Conv2dBN(nn.Sequential):
    """A bias-free convolution followed by batch norm (``c``, ``bn``); ``bn_weight_init`` 0 zeroes a residual branch."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 1, stride: int = 1, padding: int = 0,
                 groups: int = 1, bn_weight_init: float = 1.0):
        super().__init__()
        self.add_module("c", nn.Conv2d(in_ch, out_ch, kernel, stride, padding, groups=groups, bias=False))
        self.add_module("bn", nn.BatchNorm2d(out_ch))
        nn.init.constant_(self.bn.weight, bn_weight_init)
        nn.init.zeros_(self.bn.bias)


class SqueezeExcite(nn.Module):
    """Squeeze-excitation with 1x1 convolutions (``fc1``, ReLU, ``fc2``, sigmoid); reduction to ``ratio`` x C."""

    def __init__(self, channels: int, ratio: float = 0.25):
        super().__init__()
        hidden = make_divisible(channels * ratio, 8)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True)))).sigmoid()


class RepVGGDW(nn.Module):
    """Training-time RepVGG depth-wise mixer: BN(dw3x3-BN(x) + dw1x1(x) + x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = Conv2dBN(channels, channels, 3, 1, 1, groups=channels)
        self.conv1 = nn.Conv2d(channels, channels, 1, groups=channels)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x) + self.conv1(x) + x)


class ChannelMixer(nn.Module):
    """Residual 1x1 MLP ``x + W2 GELU(W1 x)``; the output BN starts at zero so the block starts as identity."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.m = nn.Sequential(Conv2dBN(channels, hidden), nn.GELU(), Conv2dBN(hidden, channels, bn_weight_init=0.0))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.m(x)


class RepViTBlock(nn.Module):
    """One RepViT block: ``[B, C_in, H, W] -> [B, C_out, H / stride, W / stride]``."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, use_se: bool):
        super().__init__()
        se = SqueezeExcite(in_ch) if use_se else nn.Identity()
        if stride == 2:
            self.token_mixer = nn.Sequential(
                Conv2dBN(in_ch, in_ch, kernel, 2, (kernel - 1) // 2, groups=in_ch), se, Conv2dBN(in_ch, out_ch))
        elif in_ch == out_ch:
            self.token_mixer = nn.Sequential(RepVGGDW(in_ch), se)
        else:
            raise ValueError(f"a stride-1 RepViT block keeps its width, got {in_ch} -> {out_ch}")
        self.channel_mixer = ChannelMixer(out_ch, 2 * out_ch)

    def forward(self, x: Tensor) -> Tensor:
        return self.channel_mixer(self.token_mixer(x))


class RepViT(nn.Module):
    """A RepViT feature extractor: ``[B, 3, H, W]`` -> the feature maps at ``out_indices``.

    ``cfgs`` lists ``(kernel, expansion, channels, use_se, use_hardswish, stride)`` per block, as in
    the RepViT paper's tables; ``features[0]`` and ``features[1]`` are the two stride-2 stem
    convolutions (to half, then the full first width) and ``features[2 + i]`` is block ``i``. The
    activation flag is kept in the table for fidelity but every block uses GELU, as PK-YOLO's
    RepViT does. Features after the last out index are still built (their parameters count).
    """

    def __init__(self, cfgs: list[tuple[int, int, int, int, int, int]], out_indices: tuple[int, ...],
                 in_chans: int = 3):
        super().__init__()
        width = cfgs[0][2]
        layers: list[nn.Module] = [nn.Sequential(Conv2dBN(in_chans, width // 2, 3, 2, 1), nn.GELU()),
                                   nn.Sequential(Conv2dBN(width // 2, width, 3, 2, 1), nn.GELU())]
        channels = [width // 2, width]
        for kernel, expansion, out, use_se, _use_hs, stride in cfgs:
            if expansion != 2:
                raise ValueError("RepViT blocks expand their channel mixer by 2")
            out = make_divisible(out, 8)
            layers.append(RepViTBlock(width, out, kernel, stride, bool(use_se)))
            width = out
            channels.append(out)
        self.features = nn.ModuleList(layers)
        self.out_indices = tuple(out_indices)
        self.out_channels = tuple(channels[i] for i in self.out_indices)

    def forward(self, x: Tensor) -> list[Tensor]:
        outs = []
        last = max(self.out_indices)
        for index, layer in enumerate(self.features):
            if index > last:  # built but unused: computing it would change nothing
                break
            x = layer(x)
            if index in self.out_indices:
                outs.append(x)
        return outs
