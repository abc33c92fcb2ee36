"""LowFormer: a hardware-efficient convolution/attention hybrid with attention at a lower resolution.

Nottebaum, Dunnhofer & Micheloni, "LowFormer: Hardware Efficient Design for Convolutional Transformer
Backbones", WACV 2025, arXiv:2409.03460; code github.com/altair199797/LowFormer (``lowformer_model.py``).
The sizes are in :mod:`zoo_vision.models.lowformer_specs`.

A 3x3 stride-2 stem, two stages of (Fused)MBConvs, then two stages that open with a stride-2
(Fused)MBConv and stack LowFormer blocks: pre-GroupNorm residual *ConvAttention*, pre-GroupNorm
residual MLP (1x1, GELU, 1x1), residual (Fused)MBConv. ConvAttention works on a smaller map: a
depthwise conv (5x5 stride 2 in stage 3, 3x3 stride 1 in stage 4) + BN, a 1x1 conv to per-head
``[q, k, v]``, softmax attention, then a transposed conv back up (kernel 2s, stride s, padding s/2;
3x3 when s = 1), cropped to the input's H x W. Head: 1x1 conv + BN + Hardswish, global pool,
linear + LayerNorm + Hardswish, linear.

``fused=True`` (the released ``fastit`` form, the default) uses FusedMBConvs (a full 3x3 conv in
place of expand-1x1 + depthwise-3x3) below 256 channels, an MLP expansion of 4, and one *dense*
transposed conv from the attention's values straight to C channels. ``fused=False`` is the authors'
unfused network: MBConvs, MLP expansion 2, and a 1x1 output projection followed by a *depthwise*
transposed conv. The two are different networks (different parameter counts), not one network in
two forms; only the attention's output path folds exactly (see :func:`fold_output_projection`).

Input ``[B, 3, H, W]`` (ImageNet-normalised, H, W >= 32); output logits ``[B, num_classes]``.
Module names are the authors' (``backbone.stages.2.op_list.1.total.0.0.main.1.pwise.0.weight``), so their
checkpoints load as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.models.lowformer_specs import VARIANTS

MIN_SIZE = 32


class OpSequential(nn.Module):
    """A sequence of layers kept under ``op_list`` (the authors' key names)."""

    def __init__(self, ops: list[nn.Module]):
        super().__init__()
        self.op_list = nn.ModuleList(ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.op_list:
            x = op(x)
        return x


class ConvLayer(nn.Module):
    """``act(norm(conv(x)))`` with 'same' padding; ``norm`` and ``act`` optional."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 3, stride: int = 1, groups: int = 1,
                 bias: bool = False, norm: bool = True, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride, kernel_size // 2, groups=groups, bias=bias)
        self.norm = nn.BatchNorm2d(cout) if norm else None
        self.act = nn.Hardswish() if act else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        return x if self.act is None else self.act(x)


class MBConv(nn.Module):
    """Inverted residual body: 1x1 expand + Hardswish, depthwise 3x3 + Hardswish, 1x1 project + BN.

    ``inner_bias`` gives the first two convs a bias (the LowFormer blocks'); the backbone's MBConvs
    have none, and, as the authors', no BN but the last."""

    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: float, inner_bias: bool):
        super().__init__()
        mid = round(cin * expand_ratio)
        self.inverted_conv = ConvLayer(cin, mid, 1, bias=inner_bias, norm=False)
        self.depth_conv = ConvLayer(mid, mid, 3, stride, groups=mid, bias=inner_bias, norm=False)
        self.point_conv = ConvLayer(mid, cout, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.depth_conv(self.inverted_conv(x)))


class FusedMBConv(nn.Module):
    """Fused inverted residual body: full 3x3 conv + BN + Hardswish, 1x1 project + BN."""

    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: float, spatial_bias: bool):
        super().__init__()
        mid = round(cin * expand_ratio)
        self.spatial_conv = ConvLayer(cin, mid, 3, stride, bias=spatial_bias)
        self.point_conv = ConvLayer(mid, cout, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.spatial_conv(x))


class ResidualBlock(nn.Module):
    """``main(x) + x`` (``residual=True``) or ``main(x)`` (the downsampling blocks)."""

    def __init__(self, main: nn.Module, residual: bool):
        super().__init__()
        self.main, self.residual = main, residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + x if self.residual else self.main(x)


class ConvAttention(nn.Module):
    """LowFormer's attention at a lower resolution; ``[B, C, H, W] -> [B, C, H, W]``.

    Heads ``max(1, ⌊C/2 / 30⌋)``, head dimension ``⌊C / heads⌋ / 2``. ``stride`` 2: a 5x5 depthwise conv
    halves the map first and a 4x4 stride-2 transposed conv restores it; ``stride`` 1: 3x3 and 3x3.
    """

    def __init__(self, dim: int, stride: int, fused: bool):
        super().__init__()
        self.num_heads = int(max(1, (dim * 0.5) // 30))
        self.head_dim = int((dim // self.num_heads) * 0.5)
        inner = self.num_heads * self.head_dim
        kernel = 5 if stride > 1 else 3
        self.conv_proj = nn.Sequential(nn.Conv2d(dim, dim, kernel, stride, kernel // 2, groups=dim, bias=False),
                                       nn.BatchNorm2d(dim))
        self.pwise = nn.Sequential(nn.Conv2d(dim, 3 * inner, 1, bias=False))
        up_kernel, up_padding = (2 * stride, stride // 2) if stride > 1 else (3, 1)
        if fused:
            self.o_proj = nn.Identity()
            self.upsampling = nn.ConvTranspose2d(inner, dim, up_kernel, stride, up_padding)
        else:
            self.o_proj = nn.Conv2d(inner, dim, 1)
            self.upsampling = nn.ConvTranspose2d(dim, dim, up_kernel, stride, up_padding, groups=dim)

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        """The attention's values on the reduced map, ``[B, heads · head_dim, h, w]``."""
        qkv = self.pwise(self.conv_proj(x))
        batch, _, h, w = qkv.shape
        # each head's channels are [q | k | v] (the authors' layout), tokens are the reduced map's positions
        qkv = qkv.reshape(batch, self.num_heads, 3 * self.head_dim, h * w).transpose(-1, -2)
        q, k, v = qkv.chunk(3, dim=-1)
        values = F.scaled_dot_product_attention(q, k, v)
        return values.transpose(-1, -2).reshape(batch, self.num_heads * self.head_dim, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.upsampling(self.o_proj(self.attend(x)))
        return out[:, :, : x.shape[-2], : x.shape[-1]]


def fold_output_projection(attention: ConvAttention) -> ConvAttention:
    """The fused twin of an unfused :class:`ConvAttention`: the 1x1 output projection ``P`` and the
    depthwise transposed conv ``K`` become one dense transposed conv with kernel
    ``W[d, c] = P[c, d] · K[c]`` and the upsampling's bias. Exact when ``P`` has no bias (zero); a
    non-zero one would, after the transposed conv, add a pattern that varies with the output position
    modulo the stride and at the border, which no per-channel bias can hold - so it is refused."""
    if not isinstance(attention.o_proj, nn.Conv2d):
        raise ConfigError("fold_output_projection: the attention is fused already")
    if attention.o_proj.bias is not None and bool(attention.o_proj.bias.detach().ne(0).any()):
        raise ConfigError("fold_output_projection: the output projection's bias must be zero for an exact fold")
    fused = copy.deepcopy(attention)
    up = attention.upsampling
    projection = attention.o_proj.weight.detach()[:, :, 0, 0]  # [C, D]
    kernel = up.weight.detach()[:, 0]  # [C, k, k]
    dense = nn.ConvTranspose2d(projection.shape[1], projection.shape[0], up.kernel_size, up.stride, up.padding)
    with torch.no_grad():
        dense.weight.copy_(projection.t()[:, :, None, None] * kernel[None])
        dense.bias.copy_(up.bias.detach())
    fused.o_proj, fused.upsampling = nn.Identity(), dense
    return fused


class LowFormerBlock(nn.Module):
    """Residual pre-GN attention, residual pre-GN MLP, residual (Fused)MBConv; ``[B, C, H, W]`` kept."""

    def __init__(self, dim: int, stride: int, fused: bool, expand_ratio: float = 4):
        super().__init__()
        hidden = dim * (4 if fused else 2)
        attention = ResidualBlock(nn.Sequential(nn.GroupNorm(1, dim), ConvAttention(dim, stride, fused)), True)
        mlp = ResidualBlock(nn.Sequential(nn.GroupNorm(1, dim), nn.Conv2d(dim, hidden, 1), nn.GELU(),
                                          nn.Conv2d(hidden, dim, 1)), True)
        if fused and dim < 256:
            local = FusedMBConv(dim, dim, 1, expand_ratio, spatial_bias=True)
        else:
            local = MBConv(dim, dim, 1, expand_ratio, inner_bias=True)
        self.total = nn.Sequential(nn.Sequential(attention, mlp), ResidualBlock(local, True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.total(x)


def _local(cin: int, cout: int, stride: int, expand_ratio: float, fused: bool) -> nn.Module:
    if fused:
        return FusedMBConv(cin, cout, stride, expand_ratio, spatial_bias=False)
    return MBConv(cin, cout, stride, expand_ratio, inner_bias=False)


class LowFormerBackbone(nn.Module):
    """Stem and four stages; :meth:`forward` returns the last stage ``[B, widths[4], H/32, W/32]``."""

    def __init__(self, widths: list[int], depths: list[int], down_expand: float, stem_expand: float, fused: bool):
        super().__init__()
        stem: list[nn.Module] = [ConvLayer(3, widths[0], 3, 2)]
        stem += [ResidualBlock(_local(widths[0], widths[0], 1, stem_expand, fused), True) for _ in range(depths[0])]
        self.input_stem = OpSequential(stem)
        stages, cin = [], widths[0]
        for index in (1, 2):
            blocks = []
            for i in range(depths[index]):
                stride = 2 if i == 0 else 1
                expand = down_expand if stride == 2 else 4
                blocks.append(ResidualBlock(_local(cin, widths[index], stride, expand, fused), stride == 1))
                cin = widths[index]
            stages.append(OpSequential(blocks))
        for index in (3, 4):
            blocks = [ResidualBlock(_local(cin, widths[index], 2, down_expand, fused), False)]
            cin = widths[index]
            # the authors' stage numbering counts the stem: attention is strided in their stage 3 only
            blocks += [LowFormerBlock(cin, 2 if index == 3 else 1, fused) for _ in range(depths[index])]
            stages.append(OpSequential(blocks))
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_stem(x)
        for stage in self.stages:
            x = stage(x)
        return x


class LinearLayer(nn.Module):
    """``act(norm(linear(x)))`` with optional norm (LayerNorm) and Hardswish (the head's layers)."""

    def __init__(self, cin: int, cout: int, bias: bool, hidden: bool):
        super().__init__()
        self.linear = nn.Linear(cin, cout, bias=bias)
        self.norm = nn.LayerNorm(cout) if hidden else None
        self.act = nn.Hardswish() if hidden else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x.flatten(1))
        return x if self.norm is None else self.act(self.norm(x))


class LowFormer(nn.Module):
    """A LowFormer classifier; see the module docstring for shapes."""

    def __init__(self, *, widths: list[int], depths: list[int], down_expand: float, stem_expand: float,
                 head: list[int], num_classes: int = 1000, fused: bool = True, name: str = "lowformer"):
        super().__init__()
        if num_classes < 1:
            raise ConfigError(f"{name}: num_classes must be positive, got {num_classes}")
        self.name = name
        self.backbone = LowFormerBackbone(widths, depths, down_expand, stem_expand, fused)
        self.head = OpSequential([ConvLayer(widths[-1], head[0], 1), nn.AdaptiveAvgPool2d(1),
                                  LinearLayer(head[0], head[1], bias=False, hidden=True),
                                  LinearLayer(head[1], num_classes, bias=True, hidden=False)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zoo.expect_shape(x, "B 3 H W", dtype="float", model=self.name)
        if min(x.shape[-2:]) < MIN_SIZE:
            raise InputShapeError(f"{self.name}: input must be at least {MIN_SIZE} x {MIN_SIZE}, "
                                  f"got {list(x.shape[-2:])}")
        return self.head(self.backbone(x))


def build_lowformer(variant: str = "b1", num_classes: int = 1000, fused: bool = True) -> LowFormer:
    """LowFormer ``variant`` ("b0", "b1", "b15", "b3"); ``fused`` False: the authors' unfused network."""
    if variant not in VARIANTS:
        raise ConfigError(f"lowformer: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    hp = VARIANTS[variant]
    return LowFormer(widths=hp["widths"], depths=hp["depths"], down_expand=hp["down_expand"],
                     stem_expand=hp["stem_expand"], head=hp["head"], num_classes=num_classes, fused=bool(fused),
                     name=f"lowformer-{variant}")


def example_input(config: Mapping) -> torch.Tensor:
    """``[2, 3, 64, 64]``: the last stage is 2 x 2, its attention runs on 1 x 1 after stage 3's on 2 x 2."""
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
