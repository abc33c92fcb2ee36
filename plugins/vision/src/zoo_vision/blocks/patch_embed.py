"""Non-overlapping patch embedding of the ViT family (DeiT, ConViT): one strided convolution.

``[B, in_chans, H, W] -> [B, dim, H / patch, W / patch]``; the module holds ``proj`` as timm's does, so
timm's key names (``patch_embed.proj.weight``) load unchanged.
"""

from __future__ import annotations

import torch
from torch import nn


class PatchEmbed(nn.Module):
    def __init__(self, in_chans: int, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)
