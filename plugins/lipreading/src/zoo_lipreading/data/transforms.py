"""mpc001's LRW video transforms, on uint8 mouth crops ``[T, 96, 96]`` -> float ``[1, T, 88, 88]``:
/255, random 88x88 crop + horizontal flip with p=0.5 (train) or a centre crop (val/test), then
(x - 0.421) / 0.165. Random draws come from ``generator`` when one is given (reproducible loaders)."""

from __future__ import annotations

CROP = 88


def lrw_transform(split: str, generator=None):
    train = split == "train"

    def transform(clip):
        import torch

        from zoo_lipreading.video import MEAN, STD

        clip = torch.as_tensor(clip).to(torch.float32) / 255.0
        height, width = clip.shape[-2:]
        if train:
            top = int(torch.randint(0, height - CROP + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - CROP + 1, (1,), generator=generator))
        else:
            top, left = (height - CROP) // 2, (width - CROP) // 2
        clip = clip[..., top:top + CROP, left:left + CROP]
        if train and float(torch.rand((), generator=generator)) < 0.5:
            clip = clip.flip(-1)
        return ((clip - MEAN) / STD).unsqueeze(0)

    return transform
