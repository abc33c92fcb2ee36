"""B-cos layers (B-cos v2): alignment-scaled linear maps that make a network a dynamic linear map.

Böhle, Singh, Fritz & Schiele, "B-cos Alignment for Inherently Interpretable CNNs and Vision
Transformers", TPAMI 2024, arXiv:2306.10898 (v1: "B-cos Networks: Alignment is All We Need for
Interpretability", CVPR 2022, arXiv:2205.10268); code github.com/B-cos/B-cos-v2.

A B-cos unit with unit-norm weight ``ŵ`` maps ``x`` to ``|cos(x, ŵ)|^(B-1) · ŵᵀx`` (no bias). With
every dynamic factor (the scale ``|cos|^(B-1)``, a norm's variance) detached — *explanation mode* —
the gradient of the whole network is the dynamic linear map ``W(x)`` with ``y = W(x)ᵀx``.
Module and parameter names follow the authors' (``linear.weight`` inside each B-cos layer) so their
checkpoints' keys fit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class DetachableModule(nn.Module):
    """A module whose dynamic factors are detached from the graph in explanation mode."""

    def __init__(self) -> None:
        super().__init__()
        self.detach = False

    def set_explanation_mode(self, activate: bool = True) -> None:
        self.detach = activate


@contextlib.contextmanager
def explanation_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Detach every dynamic factor of ``model``'s B-cos modules inside the block (restored after),
    so that ``∂y/∂x`` is the dynamic linear map ``W(x)``."""
    modules = [m for m in model.modules() if isinstance(m, DetachableModule)]
    modes = [m.detach for m in modules]
    for m in modules:
        m.set_explanation_mode(True)
    try:
        yield model
    finally:
        for m, mode in zip(modules, modes):
            m.set_explanation_mode(mode)


def add_inverse(x: Tensor, dim: int = 1) -> Tensor:
    """The B-cos input encoding: ``[r, g, b] -> [r, g, b, 1-r, 1-g, 1-b]`` along ``dim``.

    ``x`` in [0, 1] (no mean/std normalisation): ``[B, 3, H, W] -> [B, 6, H, W]``. Every pixel
    then has the same norm whatever its colour, so a dark pixel can still align with a weight.
    """
    return torch.cat([x, 1 - x], dim=dim)


def _bcos_scale(out: Tensor, norm: Tensor, b: float, detach: bool) -> Tensor:
    """``out · |out / norm|^(B-1)``; the B=2 fast path has no epsilon, as the authors'."""
    if detach:
        out_d, norm = out.detach(), norm.detach()
    else:
        out_d = out
    if b == 2:
        return out_d.abs() / norm * out
    return ((out_d / norm).abs() + 1e-6).pow(b - 1) * out


class NormedConv2d(nn.Conv2d):
    """A convolution whose every output filter is divided by its L2 norm at each forward."""

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight / torch.linalg.vector_norm(self.weight, dim=(1, 2, 3), keepdim=True)
        return self._conv_forward(x, w, self.bias)


class NormedLinear(nn.Linear):
    """A linear layer whose every output row is divided by its L2 norm at each forward."""

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight / torch.linalg.vector_norm(self.weight, dim=1, keepdim=True)
        return F.linear(x, w, self.bias)


class BcosConv2d(DetachableModule):
    """B-cos convolution: ``[B, C_in, H, W] -> [B, C_out, H', W']``, bias-free.

    ``max_out`` > 1: ``C_out · max_out`` filters, the ``max_out`` adjacent ones of an output channel
    maxed before the B-scaling (MaxOut, as the v1 networks). ``‖x‖`` is the norm of each input patch
    over all channels of its group (plus 1e-6 inside the square root).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                 padding: int = 0, dilation: int = 1, groups: int = 1, b: float = 2, max_out: int = 1):
        super().__init__()
        if max_out < 1:
            raise ValueError(f"max_out must be at least 1, got {max_out}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.b, self.max_out = b, max_out
        self.linear = NormedConv2d(in_channels, out_channels * max_out, kernel_size, stride, padding, dilation,
                                   groups, bias=False)

    def patch_norms(self, x: Tensor) -> Tensor:
        """``‖patch‖`` per output position: ``[B, C_out, H', W']`` (or ``[B, 1, H', W']`` when groups = 1)."""
        conv = self.linear
        squares = x**2
        squares = squares.sum(1, keepdim=True) if self.groups == 1 else squares.unflatten(
            1, (self.groups, self.in_channels // self.groups)).sum(2)
        if conv.dilation == (1, 1):
            # avg-pool with padded zeros counted, times the kernel area = the windowed sum
            area = conv.kernel_size[0] * conv.kernel_size[1]
            sums = F.avg_pool2d(squares, conv.kernel_size, conv.stride, conv.padding) * area
        else:
            ones = squares.new_ones(squares.shape[1], 1, *conv.kernel_size)
            sums = F.conv2d(squares, ones, None, conv.stride, conv.padding, conv.dilation, squares.shape[1])
        norms = (sums + 1e-6).sqrt()
        if self.groups > 1:
            norms = norms.repeat_interleave(self.out_channels // self.groups, dim=1)
        return norms

    def forward(self, x: Tensor) -> Tensor:
        out = self.linear(x)
        if self.max_out > 1:
            out = out.unflatten(1, (self.out_channels, self.max_out)).amax(2)
        if self.b == 1:
            return out
        return _bcos_scale(out, self.patch_norms(x), self.b, self.detach)

    def extra_repr(self) -> str:
        return f"B={self.b}" + (f", max_out={self.max_out}" if self.max_out > 1 else "")


class BcosLinear(DetachableModule):
    """B-cos linear layer: ``[*, in_features] -> [*, out_features]``, bias-free; ``‖x‖ + 1e-12``."""

    def __init__(self, in_features: int, out_features: int, b: float = 2, max_out: int = 1):
        super().__init__()
        if max_out < 1:
            raise ValueError(f"max_out must be at least 1, got {max_out}")
        self.in_features, self.out_features = in_features, out_features
        self.b, self.max_out = b, max_out
        self.linear = NormedLinear(in_features, out_features * max_out, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out = self.linear(x)
        if self.max_out > 1:
            out = out.unflatten(-1, (self.out_features, self.max_out)).amax(-1)
        if self.b == 1:
            return out
        return _bcos_scale(out, torch.linalg.vector_norm(x, dim=-1, keepdim=True) + 1e-12, self.b, self.detach)

    def extra_repr(self) -> str:
        return f"B={self.b}" + (f", max_out={self.max_out}" if self.max_out > 1 else "")


class BatchNormUncentered2d(nn.BatchNorm2d, DetachableModule):
    """Batch norm without centring (``x / sqrt(var + eps) · γ (+ β)``), the B-cos CNNs' "bnu".

    ``bias=False`` drops β (the authors' ``NoBias``): the layer is then linear in ``x`` for fixed
    statistics. Training uses the biased batch variance over (N, H, W) — detached in explanation
    mode — and updates ``running_var`` with it; eval uses ``running_var``. ``running_mean`` is kept
    (unused) so the authors' checkpoints load.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, bias: bool = False):
        DetachableModule.__init__(self)
        super().__init__(num_features, eps, momentum)
        if not bias:
            del self.bias
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            factor = self.momentum
            if self.track_running_stats and self.num_batches_tracked is not None:
                self.num_batches_tracked.add_(1)
                if self.momentum is None:
                    factor = 1.0 / float(self.num_batches_tracked)
            var = (x.detach() if self.detach else x).var(dim=(0, 2, 3), unbiased=False)
            if self.track_running_stats:
                with torch.no_grad():
                    self.running_var.mul_(1 - factor).add_(factor * var.detach())
        else:
            var = self.running_var
        out = x / (var + self.eps).sqrt()[None, :, None, None]
        if self.weight is not None:
            out = out * self.weight[None, :, None, None]
        if self.bias is not None:
            out = out + self.bias[None, :, None, None]
        return out


class DetachableLayerNorm(nn.LayerNorm, DetachableModule):
    """LayerNorm over the last axis (the B-cos ViTs'): centred, ``bias=False`` drops β; in explanation
    mode the variance is detached. ``[*, C] -> [*, C]``."""

    def __init__(self, num_features: int, eps: float = 1e-5, bias: bool = False):
        DetachableModule.__init__(self)
        super().__init__(num_features, eps=eps)
        if not bias:
            del self.bias
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.detach:
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        var, mean = torch.var_mean(x, dim=-1, unbiased=False, keepdim=True)
        out = (x - mean) / (var.detach() + self.eps).sqrt()
        if self.weight is not None:
            out = self.weight * out
        return out if self.bias is None else out + self.bias


class DetachableGroupNorm2d(nn.GroupNorm, DetachableModule):
    """GroupNorm of ``[B, C, H, W]`` (default one group: a layer norm over C, H, W — the B-cos ViT-C
    stems' "GN layer norm"); ``bias=False`` drops β; in explanation mode the variance is detached."""

    def __init__(self, num_channels: int, num_groups: int = 1, eps: float = 1e-5, bias: bool = False):
        DetachableModule.__init__(self)
        super().__init__(num_groups, num_channels, eps=eps)
        if not bias:
            del self.bias
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.detach:
            return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
        grouped = x.unflatten(1, (self.num_groups, -1))
        var, mean = torch.var_mean(grouped, dim=tuple(range(2, grouped.ndim)), unbiased=False, keepdim=True)
        out = ((grouped - mean) / (var.detach() + self.eps).sqrt()).reshape(x.shape)
        if self.weight is not None:
            out = self.weight[None, :, None, None] * out
        return out if self.bias is None else out + self.bias[None, :, None, None]


class DetachablePositionNorm2d(nn.LayerNorm, DetachableModule):
    """LayerNorm over the channels of each position of ``[B, C, H, W]`` ("pn", the B-cos ConvNeXts').

    Centred (the mean is a linear map of ``x``); ``bias=False`` drops β (the authors' ``NoBias``). In
    explanation mode the variance is detached, so the layer is a linear map of ``x`` for the graph.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, bias: bool = False):
        DetachableModule.__init__(self)
        super().__init__(num_features, eps=eps)
        if not bias:
            del self.bias
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.detach:
            return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                                self.eps).permute(0, 3, 1, 2)
        var, mean = torch.var_mean(x, dim=1, unbiased=False, keepdim=True)
        out = (x - mean) / (var.detach() + self.eps).sqrt()
        if self.weight is not None:
            out = out * self.weight[None, :, None, None]
        if self.bias is not None:
            out = out + self.bias[None, :, None, None]
        return out


class LogitLayer(nn.Module):
    """``y / T + b`` on the logits: a fixed temperature and a fixed (not learned) logit bias."""

    def __init__(self, logit_temperature: float | None = None, logit_bias: float | None = None):
        super().__init__()
        self.logit_temperature, self.logit_bias = logit_temperature, logit_bias

    def forward(self, x: Tensor) -> Tensor:
        if self.logit_temperature is not None:
            x = x / self.logit_temperature
        return x if self.logit_bias is None else x + self.logit_bias

    def extra_repr(self) -> str:
        return f"logit_temperature={self.logit_temperature}, logit_bias={self.logit_bias}"
