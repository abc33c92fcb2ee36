"""Spiking neurons.

* :class:`MultiSpike` -- the integer "multispike" neuron of E-3DSNN (Qiu et al., "Efficient 3D
  Recognition with Event-driven Spike Sparse Convolution", AAAI 2025, arXiv:2412.07360): one real
  time step, spike counts in {0, 1, ..., D} (D = 4), straight-through gradient inside (0, D).
* :class:`MultiStepLIF` -- the leaky integrate-and-fire neuron of Meta-SpikeFormer (Yao et al.,
  "Spike-driven Transformer V2", ICLR 2024, arXiv:2404.03663), with the semantics of spikingjelly's
  ``MultiStepLIFNode(tau=2.0, detach_reset=True)``: charge ``H = V + (X - V) / tau``, fire
  ``S = H >= v_threshold``, hard reset to 0, sigmoid surrogate gradient (alpha = 4).

Both keep no state between calls: the membrane potential lives only inside ``forward``, so a model
never needs ``reset_net`` between samples.
"""

from __future__ import annotations

import torch
from torch import nn


class _MultiSpikeFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u: torch.Tensor, max_spikes: int) -> torch.Tensor:
        ctx.save_for_backward(u)
        ctx.max_spikes = max_spikes
        # floor(x + 0.5) rounds halves up; torch.round would send 0.5 -> 0 and 2.5 -> 2.
        return torch.floor(u.clamp(0, max_spikes) + 0.5)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (u,) = ctx.saved_tensors
        inside = (u > 0) & (u < ctx.max_spikes)
        return grad * inside.to(grad.dtype), None


def multispike(u: torch.Tensor, max_spikes: int = 4) -> torch.Tensor:
    """Integer spike count ``floor(clamp(u, 0, D) + 0.5)`` with a straight-through gradient on (0, D)."""
    return _MultiSpikeFn.apply(u, max_spikes)


class MultiSpike(nn.Module):
    """E-3DSNN's integer spiking neuron, applied elementwise to a membrane tensor of any shape.

    At inference a count k in {0..D} is emitted as k binary spikes over D virtual time steps,
    so the following layer only accumulates (no multiplications).

    The mean spike count per neuron of the last forward is kept in ``firing_rate`` (a float, not
    state: it is for reporting and energy estimates, see ``E3DSNN.spike_rates``). It is divided by
    D, so 1.0 means every neuron fired at every virtual time step.
    """

    def __init__(self, max_spikes: int = 4):
        super().__init__()
        self.max_spikes = max_spikes
        self.firing_rate: float | None = None
        self.num_neurons: int = 0

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        s = multispike(u, self.max_spikes)
        if s.numel():
            self.firing_rate = float(s.detach().mean()) / self.max_spikes
        self.num_neurons = s.numel()
        return s

    def extra_repr(self) -> str:
        return f"max_spikes={self.max_spikes}"


class _HeavisideSigmoid(torch.autograd.Function):
    """Heaviside step forward, derivative of ``sigmoid(alpha * x)`` backward (spikingjelly's default)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        sg = torch.sigmoid(ctx.alpha * x)
        return grad * ctx.alpha * sg * (1 - sg), None


class MultiStepLIF(nn.Module):
    """Multi-step LIF neuron: input ``[T, ...]`` membrane drive, output ``[T, ...]`` binary spikes.

    ``tau=2``, ``v_reset=0`` (hard reset), ``decay_input=True``, reset detached from the graph,
    as spikingjelly's ``MultiStepLIFNode(tau=2.0, detach_reset=True)`` used by the authors.
    """

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0, alpha: float = 4.0):
        super().__init__()
        self.tau = tau
        self.v_threshold = v_threshold
        self.alpha = alpha
        self.firing_rate: float | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = torch.zeros_like(x[0])
        spikes = []
        for x_t in x:
            h = v + (x_t - v) / self.tau
            s = _HeavisideSigmoid.apply(h - self.v_threshold, self.alpha)
            v = h * (1.0 - s.detach())
            spikes.append(s)
        out = torch.stack(spikes)
        self.firing_rate = float(out.detach().mean()) if out.numel() else None
        return out

    def extra_repr(self) -> str:
        return f"tau={self.tau}, v_threshold={self.v_threshold}"
