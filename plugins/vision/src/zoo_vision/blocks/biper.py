"""BiPer: binarisation with a periodic function, and the 1-bit convolution built on it.

Vargas, Correa, Hinojosa & Arguello, "BiPer: Binary Neural Networks using a Periodic Function",
CVPR 2024, arXiv:2404.01278; code github.com/edmav4/BiPer (``modules/binarized_modules.py``).

Weights: a latent real ``w`` becomes ``b(w) = sign(sin(ω₀ w))`` — a square wave of period 2π/ω₀ —
and the backward pass differentiates its sine surrogate of the same period, ``∂b/∂w = ω₀ cos(ω₀ w)``
(the sign is passed straight through; the sine is differentiated exactly). The frequency ω₀ sets the
quantisation error ``|sin(ω₀ w) − sign(sin(ω₀ w))|`` the latent weights settle into.
Activations: ``sign(a)`` with the piecewise-linear ApproxSign gradient ``max(0, 2 − 2|a|)``
(Bi-Real Net's), the activation first divided by its per-sample standard deviation in training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ConfigError


class _SignStraightThrough(torch.autograd.Function):
    """``sign`` forward, identity backward (what wraps ``sin(ω₀ w)``: the sine carries the gradient)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


class _SignApprox(torch.autograd.Function):
    """``sign`` forward, ``max(0, 2 − 2|a|) · grad`` backward (ApproxSign)."""

    @staticmethod
    def forward(ctx, a: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a)
        return torch.sign(a)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (a,) = ctx.saved_tensors
        return (2 - 2 * a.abs()).clamp(min=0) * grad


def biper_binarize(w: torch.Tensor, freq: float) -> torch.Tensor:
    """``sign(sin(freq · w))`` with the gradient ``freq · cos(freq · w)`` (BiPer's weight binariser)."""
    return _SignStraightThrough.apply(torch.sin(freq * w))


def sign_approx(a: torch.Tensor) -> torch.Tensor:
    """``sign(a)`` with the ApproxSign gradient ``max(0, 2 − 2|a|)`` (BiPer's activation binariser)."""
    return _SignApprox.apply(a)


def quantization_error(w: torch.Tensor, freq: float) -> torch.Tensor:
    """The mean ``|sin(freq · w) − sign(sin(freq · w))|``: how far the surrogate is from the binary
    weights it stands for (the paper's QE, which a higher frequency lowers for the same latent spread)."""
    s = torch.sin(freq * w)
    return (s - torch.sign(s)).abs().mean()


class BiPerConv2d(nn.Conv2d):
    """A BiPer convolution: binary activations, periodic-binarised weights, a learnt per-channel scale.

    ``stage=2`` (the released networks): weights ``sign(sin(ω₀ w)) ∈ {−1, 0, +1}`` (0 only where
    ``sin`` is exactly 0). ``stage=1`` (the first training stage): the continuous ``sin(ω₀ w)`` as
    weights, activations already binary. Output ``α ⊙ conv(sign(a), b(w))``, ``α`` of shape ``[C_out, 1, 1]``
    initialised ``U(0, 1)``. Both forms compute the hard signs forward and differentiate the
    surrogates backward. Training form: the activation is first divided by its per-sample standard
    deviation over (C, H, W) (the sign is scale-invariant, so this moves only ApproxSign's gradient
    window). Eval form: no normalisation, so ``out = α ⊙ conv(sign(a), sign(sin(ω₀ w)))`` exactly;
    :meth:`binary_weight` gives the ±1 kernel a deployment packs into bits.
    Input ``[B, C_in, H, W]`` -> ``[B, C_out, H', W']``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 *, freq: float = 20.0, stage: int = 2):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        if stage not in (1, 2):
            raise ConfigError(f"BiPer: stage must be 1 (real weights) or 2 (binary weights), got {stage!r}")
        if not freq > 0:
            raise ConfigError(f"BiPer: the frequency must be positive, got {freq!r}")
        self.freq, self.stage = float(freq), stage
        self.alpha = nn.Parameter(torch.rand(out_channels, 1, 1))

    def binary_weight(self) -> torch.Tensor:
        """The kernel of the eval form: ``sign(sin(ω₀ w))`` (stage 2), ``sin(ω₀ w)`` (stage 1)."""
        if self.stage == 1:
            return torch.sin(self.freq * self.weight)
        return biper_binarize(self.weight, self.freq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            x = x / torch.sqrt(x.var((1, 2, 3), keepdim=True) + 1e-5)
        # the surrogate gradient is kept in eval too: input-gradient explainers run on eval models
        out = F.conv2d(sign_approx(x), self.binary_weight(), None, self.stride, self.padding)
        return out * self.alpha

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, freq={self.freq:g}, stage={self.stage}"
