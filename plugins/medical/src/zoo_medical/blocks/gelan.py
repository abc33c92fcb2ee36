"""YOLOv9's building blocks: GELAN (RepNCSPELAN4, SPPELAN, ADown) and the CBNet links (CBLinear, CBFuse).

Wang, Yeh, Liao, "YOLOv9: Learning What You Want to Learn Using Programmable Gradient
Information", ECCV 2024, arXiv:2402.13616. Written from the paper and the structure notes of
PK-YOLO (which uses these blocks unchanged); every convolution is conv-BN-SiLU unless stated.
All blocks keep the spatial size except ``ADown`` (stride 2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# YOLO trains its batch norms with these (eps 1e-3, momentum 0.03 instead of torch's 1e-5 / 0.1).
BN_EPS, BN_MOMENTUM = 1e-3, 0.03


class ConvBNAct(nn.Module):
    """Conv (no bias, "same" padding) -> BN -> SiLU (or nothing when ``act=False``)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 act: bool = True, padding: int | None = None):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2 if padding is None else padding,
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_ch, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.SiLU(inplace=True) if act else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


class RepConvN(nn.Module):
    """RepVGG-style conv without the identity branch: SiLU(conv3x3-BN(x) + conv1x1-BN(x))."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = ConvBNAct(in_ch, out_ch, 3, act=False)
        self.conv2 = ConvBNAct(in_ch, out_ch, 1, act=False)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.conv1(x) + self.conv2(x))


class RepNBottleneck(nn.Module):
    """RepConvN then a 3x3 conv, with a residual when the width is kept."""

    def __init__(self, in_ch: int, out_ch: int, shortcut: bool = True):
        super().__init__()
        self.cv1 = RepConvN(in_ch, out_ch)
        self.cv2 = ConvBNAct(out_ch, out_ch, 3)
        self.add = shortcut and in_ch == out_ch

    def forward(self, x: Tensor) -> Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class RepNCSP(nn.Module):
    """CSP block: two 1x1 branches of half width, ``depth`` RepN bottlenecks on one, concat, 1x1."""

    def __init__(self, in_ch: int, out_ch: int, depth: int = 1):
        super().__init__()
        hidden = out_ch // 2
        self.cv1 = ConvBNAct(in_ch, hidden)
        self.cv2 = ConvBNAct(in_ch, hidden)
        self.cv3 = ConvBNAct(2 * hidden, out_ch)
        self.m = nn.Sequential(*(RepNBottleneck(hidden, hidden) for _ in range(depth)))

    def forward(self, x: Tensor) -> Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class RepNCSPELAN4(nn.Module):
    """GELAN block ``(c1 -> c2)``: 1x1 to ``c3``, split in two, two chained RepNCSP+3x3 stages of
    width ``c4`` on the second half, everything concatenated and fused by a 1x1."""

    def __init__(self, c1: int, c2: int, c3: int, c4: int, depth: int = 1):
        super().__init__()
        self.cv1 = ConvBNAct(c1, c3)
        self.cv2 = nn.Sequential(RepNCSP(c3 // 2, c4, depth), ConvBNAct(c4, c4, 3))
        self.cv3 = nn.Sequential(RepNCSP(c4, c4, depth), ConvBNAct(c4, c4, 3))
        self.cv4 = ConvBNAct(c3 + 2 * c4, c2)

    def forward(self, x: Tensor) -> Tensor:
        parts = list(self.cv1(x).chunk(2, 1))
        parts.append(self.cv2(parts[-1]))
        parts.append(self.cv3(parts[-1]))
        return self.cv4(torch.cat(parts, 1))


class ADown(nn.Module):
    """Stride-2 down-sampling: 2x2 average blur, then half the channels through a 3x3/2 conv and the
    other half through a 3x3/2 max-pool and a 1x1 conv."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.cv1 = ConvBNAct(in_ch // 2, out_ch // 2, 3, 2, padding=1)
        self.cv2 = ConvBNAct(in_ch // 2, out_ch // 2, 1)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = F.avg_pool2d(x, 2, 1, 0, False, True).chunk(2, 1)
        return torch.cat((self.cv1(x1), self.cv2(F.max_pool2d(x2, 3, 2, 1))), 1)


class SPPELAN(nn.Module):
    """SPP in ELAN form: 1x1 to ``hidden``, three chained 5x5 max-pools, concat of the four, 1x1 to ``out_ch``."""

    def __init__(self, in_ch: int, out_ch: int, hidden: int):
        super().__init__()
        self.cv1 = ConvBNAct(in_ch, hidden)
        self.pool = nn.MaxPool2d(5, 1, 2)
        self.cv5 = ConvBNAct(4 * hidden, out_ch)

    def forward(self, x: Tensor) -> Tensor:
        parts = [self.cv1(x)]
        for _ in range(3):
            parts.append(self.pool(parts[-1]))
        return self.cv5(torch.cat(parts, 1))


class CBLinear(nn.Module):
    """CBNet link: one 1x1 conv (with bias) whose output is split into one map per receiving level."""

    def __init__(self, in_ch: int, out_chs: tuple[int, ...]):
        super().__init__()
        self.out_chs = tuple(out_chs)
        self.conv = nn.Conv2d(in_ch, sum(self.out_chs), 1)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        return self.conv(x).split(self.out_chs, 1)


def cb_fuse(links: list[Tensor], x: Tensor) -> Tensor:
    """CBNet fusion: each link map nearest-resized to ``x``'s size, summed into ``x``."""
    size = x.shape[-2:]
    out = x
    for link in links:
        out = out + F.interpolate(link, size=size, mode="nearest")
    return out
