"""VanillaNet's series-informed activation and the BN folding its deploy form relies on.

Chen et al., "VanillaNet: the Power of Minimalism in Deep Learning", NeurIPS 2023,
arXiv:2305.12972. The activation is a weighted sum of 2n+1 shifted ReLUs in each spatial
direction, which is a depthwise ``(2n+1) x (2n+1)`` convolution of ``ReLU(x)``; in the training
form a BatchNorm follows it, in the deploy form that BN is folded into the depthwise weights.
"""

from __future__ import annotations

import torch
from torch import nn


def fold_batchnorm(weight: torch.Tensor, bias: torch.Tensor | None,
                   bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of one convolution equal to ``bn(conv(x))`` in eval mode (output channels first)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    folded_bias = shift if bias is None else bias * scale + shift
    return weight * scale.view(-1, *([1] * (weight.dim() - 1))), folded_bias


class SeriesActivation(nn.Module):
    """``[B, C, H, W] -> [B, C, H, W]``: ``BN(DWConv_{2n+1}(ReLU(x)))`` (training form) or
    ``DWConv_{2n+1}(ReLU(x)) + b`` (deploy form), with ``n = act_num``.

    The depthwise weight is a parameter of this module (not an ``nn.Conv2d``), as in the authors'
    code, so its checkpoints' keys (``act.weight``, ``act.bn.*``, ``act.bias``) map one to one.
    """

    def __init__(self, channels: int, act_num: int = 3, deploy: bool = False):
        super().__init__()
        self.act_num = act_num
        size = 2 * act_num + 1
        self.weight = nn.Parameter(torch.empty(channels, 1, size, size))
        nn.init.trunc_normal_(self.weight, std=0.02)
        if deploy:
            self.bias = nn.Parameter(torch.zeros(channels))
            self.bn = None
        else:
            self.bias = None
            self.bn = nn.BatchNorm2d(channels, eps=1e-6)

    @property
    def deploy(self) -> bool:
        return self.bn is None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.conv2d(torch.relu(x), self.weight, self.bias, padding=self.act_num, groups=x.shape[1])
        return y if self.bn is None else self.bn(y)

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        """Fold the BN (its running statistics) into the depthwise kernel and a bias; idempotent."""
        if self.bn is None:
            return
        weight, bias = fold_batchnorm(self.weight, None, self.bn)
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)
        self.bn = None
