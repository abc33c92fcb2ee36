"""Occlusion sensitivity (Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks",
arXiv 1311.2901): the drop of the target score when a patch of the input is hidden.

Input ``[B, C, H, W]``; maps ``[B, H, W]`` in [0, 1]. All patch positions of a sample run as one batch.
"""

import torch

from zoo.errors import ExplainError
from zoo.explainers import Explanation


def occlusion(model, x, *, target_layer=None, targets=None, reshape=None, patch: int = 8, stride: int = 4,
              fill: float = 0.0):
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ExplainError("occlusion needs an image batch [B, C, H, W]")
    batch, _, height, width = x.shape
    with torch.no_grad():
        base = model(x)
        chosen = base.argmax(1) if targets is None else torch.as_tensor(targets).expand(batch)
        rows = range(0, max(height - patch, 0) + 1, stride)
        cols = range(0, max(width - patch, 0) + 1, stride)
        maps = torch.zeros(batch, height, width)
        counts = torch.zeros(height, width)
        for sample in range(batch):
            hidden = x[sample].repeat(len(rows) * len(cols), 1, 1, 1)
            for index, (top, left) in enumerate((r, c) for r in rows for c in cols):
                hidden[index, :, top:top + patch, left:left + patch] = fill
            drops = base[sample, chosen[sample]] - model(hidden)[:, chosen[sample]]
            for index, (top, left) in enumerate((r, c) for r in rows for c in cols):
                maps[sample, top:top + patch, left:left + patch] += drops[index]
                if sample == 0:
                    counts[top:top + patch, left:left + patch] += 1
        maps = maps / counts.clamp(min=1)
        low = maps.amin((1, 2), keepdim=True)
        maps = (maps - low) / (maps.amax((1, 2), keepdim=True) - low).clamp(min=1e-12)
    return Explanation(maps=maps, method="occlusion", targets=chosen)
