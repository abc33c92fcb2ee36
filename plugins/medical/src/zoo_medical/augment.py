"""Training-time batch augmentations that the plugin's recipes name ("zoo_medical.augment:...")."""

from __future__ import annotations


def medvit_train(x, y, task: str):
    """MedViTV2's train transform on a [B, 3, H, W] batch: RandomResizedCrop back to H x W (area 0.08-1,
    aspect 3/4-4/3) and a horizontal flip with p = 0.4 (arXiv:2502.13693, the authors' main.py)."""
    from zoo.training.parts import resized_crop_flip

    return resized_crop_flip(x, y, task, flip_p=0.4)
