"""DeepOrgan's P-ConvNet: 2.5-D patch classification, dense probability maps and their smoothing.

Roth, Lu, Farag, Shin, Liu, Turkbey, Summers, "DeepOrgan: Multi-level Deep Convolutional Networks
for Automated Pancreas Segmentation", MICCAI 2015, arXiv:1506.06448. No code was released; this is
the first level of the paper's pipeline as a legacy baseline:

1. :func:`extract_patches_25d`: at each sampled voxel, the axial, coronal and sagittal patches
   centred on it, stacked as 3 channels (``[N, 3, P, P]``);
2. :class:`PConvNet`: five convolutions with max-pooling, two fully connected layers with
   DropConnect and dropout, 2-way output (logits ``[N, 2]``; softmax gives P(pancreas));
3. :func:`dense_probability`: classify a regular grid of points inside the candidate region and
   fill every voxel with the probability of its nearest sampled point (nearest-neighbour fusion);
4. :func:`smooth_and_threshold`: 3-D Gaussian smoothing of the probability volume, then a threshold.

The superpixel candidate generation (random forests) and the region ConvNets (R1/R2) are not
built; the candidate region is an input (a mask), e.g. from an organ-agnostic bounding box.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import ConfigError, InputShapeError


class DropConnectLinear(nn.Linear):
    """Linear layer with DropConnect (Wan et al., ICML 2013): in training each weight is dropped
    with probability ``p`` (one mask per batch, scaled by 1/(1-p)); at inference the full weights."""

    def __init__(self, in_features: int, out_features: int, p: float = 0.5):
        super().__init__(in_features, out_features)
        if not 0 <= p < 1:
            raise ConfigError(f"DropConnect probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return super().forward(x)
        mask = torch.rand_like(self.weight) >= self.p
        return F.linear(x, self.weight * mask / (1 - self.p), self.bias)


class PConvNet(nn.Module):
    """``[B, 3, P, P]`` 2.5-D patches -> ``[B, num_classes]`` logits (P divisible by 8)."""

    def __init__(self, num_classes: int = 2, in_chans: int = 3, patch_size: int = 64, filters: int = 64,
                 hidden: int = 512, dropconnect: float = 0.5, dropout: float = 0.5):
        super().__init__()
        if patch_size % 8 or patch_size < 8:
            raise ConfigError(f"deeporgan-p-convnet: patch_size must be a multiple of 8, got {patch_size}")
        self.in_chans, self.patch_size = in_chans, patch_size
        pool = dict(kernel_size=3, stride=2, padding=1)
        self.features = nn.Sequential()
        self.features.add_module("conv1", nn.Conv2d(in_chans, filters, 5, padding=2))
        self.features.add_module("relu1", nn.ReLU(inplace=True))
        self.features.add_module("pool1", nn.MaxPool2d(**pool))
        self.features.add_module("conv2", nn.Conv2d(filters, filters, 5, padding=2))
        self.features.add_module("relu2", nn.ReLU(inplace=True))
        self.features.add_module("pool2", nn.MaxPool2d(**pool))
        for index in (3, 4, 5):
            self.features.add_module(f"conv{index}", nn.Conv2d(filters, filters, 3, padding=1))
            self.features.add_module(f"relu{index}", nn.ReLU(inplace=True))
        self.features.add_module("pool5", nn.MaxPool2d(**pool))
        flat = filters * (patch_size // 8) ** 2
        self.classifier = nn.Sequential(
            DropConnectLinear(flat, hidden, dropconnect), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_chans or tuple(x.shape[2:]) != (self.patch_size,) * 2:
            raise InputShapeError(f"deeporgan-p-convnet expects [B, {self.in_chans}, {self.patch_size}, "
                                  f"{self.patch_size}] 2.5-D patches, got {list(x.shape)}")
        return self.classifier(self.features(x).flatten(1))


def build_p_convnet(num_classes: int = 2, in_chans: int = 3, patch_size: int = 64, filters: int = 64,
                    hidden: int = 512, dropconnect: float = 0.5, dropout: float = 0.5) -> PConvNet:
    return PConvNet(num_classes, in_chans, patch_size, filters, hidden, dropconnect, dropout)


def example_input(config: dict) -> Tensor:
    return torch.randn(2, config.get("in_chans", 3), config.get("patch_size", 64), config.get("patch_size", 64))


def extract_patches_25d(volume: Tensor, points: Tensor, size: int = 64) -> Tensor:
    """Axial, coronal and sagittal ``size x size`` patches centred on each point -> ``[N, 3, size, size]``.

    ``volume``: ``[D, H, W]`` (axial slices along D); ``points``: ``[N, 3]`` integer ``(z, y, x)``.
    Outside the volume the patches are zero (pad the intensities to your background beforehand).
    """
    if volume.ndim != 3 or points.ndim != 2 or points.shape[1] != 3:
        raise InputShapeError(f"need a [D, H, W] volume and [N, 3] points, got {list(volume.shape)} and "
                              f"{list(points.shape)}")
    half = size // 2
    padded = F.pad(volume, (half,) * 6)
    offsets = torch.arange(size, device=volume.device) - half
    z, y, x = (points.long() + half).unbind(1)
    a, b = offsets[:, None], offsets[None, :]  # patch rows and columns
    axial = padded[z[:, None, None], (y[:, None, None] + a), (x[:, None, None] + b)]
    coronal = padded[(z[:, None, None] + a), y[:, None, None], (x[:, None, None] + b)]
    sagittal = padded[(z[:, None, None] + a), (y[:, None, None] + b), x[:, None, None]]
    return torch.stack((axial, coronal, sagittal), 1)


@torch.no_grad()
def dense_probability(model: PConvNet, volume: Tensor, candidate: Tensor, stride: int = 4,
                      batch_size: int = 256, target_class: int = 1) -> Tensor:
    """P(``target_class``) at every voxel of the candidate region (0 outside): ``[D, H, W]``.

    Points on a regular grid of spacing ``stride`` inside ``candidate`` (a ``[D, H, W]`` bool mask)
    are classified; every candidate voxel takes the probability of its nearest grid point
    (nearest-neighbour fusion; a grid point outside the candidate counts as probability 0).
    """
    if candidate.shape != volume.shape:
        raise InputShapeError(f"candidate mask {list(candidate.shape)} must match the volume {list(volume.shape)}")
    was_training = model.training
    model.eval()
    grid = [torch.arange(stride // 2, n, stride, device=volume.device) for n in volume.shape]
    points = torch.cartesian_prod(*grid)
    inside = candidate[points[:, 0], points[:, 1], points[:, 2]]
    values = torch.zeros(len(points), device=volume.device)
    chosen = points[inside]
    for start in range(0, len(chosen), batch_size):
        patches = extract_patches_25d(volume, chosen[start:start + batch_size], model.patch_size)
        values[inside.nonzero().squeeze(1)[start:start + batch_size]] = \
            model(patches.to(volume.dtype)).softmax(1)[:, target_class]
    model.train(was_training)
    coarse = values.view(*(len(g) for g in grid))
    index = [((torch.arange(n, device=volume.device) - stride // 2 + stride / 2) // stride).long().clamp(0, len(g) - 1)
             for n, g in zip(volume.shape, grid)]
    dense = coarse[index[0][:, None, None], index[1][None, :, None], index[2][None, None, :]]
    return dense * candidate


def smooth_and_threshold(probability: Tensor, sigma: float = 1.0, threshold: float = 0.5) -> tuple[Tensor, Tensor]:
    """3-D Gaussian smoothing (MONAI's ``GaussianSmooth``, sigma in voxels) of a ``[D, H, W]``
    probability volume, then ``> threshold``: returns the smoothed volume and the mask."""
    if probability.ndim != 3:
        raise InputShapeError(f"need a [D, H, W] probability volume, got {list(probability.shape)}")
    if sigma < 0 or not math.isfinite(sigma):
        raise ConfigError(f"sigma must be a finite non-negative number, got {sigma}")
    from monai.transforms import GaussianSmooth

    smoothed = GaussianSmooth(sigma=sigma)(probability[None])[0] if sigma > 0 else probability
    if hasattr(smoothed, "as_tensor"):  # MONAI returns a MetaTensor
        smoothed = smoothed.as_tensor()
    return smoothed, smoothed > threshold
