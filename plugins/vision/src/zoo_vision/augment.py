"""Training-time batch augmentations that zoo-vision's recipes name ("zoo_vision.augment:...")."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.errors import ConfigError


def pad_crop_flip(x: torch.Tensor, y: torch.Tensor, task: str, padding: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """The CIFAR augmentation: zero-pad by ``padding``, crop a random window of the input size, then
    mirror horizontally with probability 1/2 (torchvision's ``RandomCrop(size, padding=4)`` +
    ``RandomHorizontalFlip()``), per sample of a ``[B, C, H, W]`` classification batch."""
    if x.dim() != 4 or task != "classification":
        raise ConfigError("the pad-crop-flip augmentation is for 2-D classification batches [B, C, H, W]")
    batch, _, height, width = x.shape
    padded = F.pad(x, (padding,) * 4)
    tops = torch.randint(0, 2 * padding + 1, (batch,)).tolist()
    lefts = torch.randint(0, 2 * padding + 1, (batch,)).tolist()
    flips = (torch.rand(batch) < 0.5).tolist()
    out = []
    for image, top, left, flip in zip(padded, tops, lefts, flips):
        crop = image[:, top:top + height, left:left + width]
        out.append(crop.flip(-1) if flip else crop)
    return torch.stack(out), y
