"""zoo-vision: image classification for zoo (ConViT, PVT v1/v2, ECA-Net, Inception-v4, VanillaNet, B-cos),
B-cosification (:func:`bcosify`) and vision explainers."""

from __future__ import annotations


def __getattr__(name: str):
    # lazy: importing zoo_vision (the plugin's discovery) must not import torch
    if name in ("bcosify", "finetune"):
        from zoo_vision import bcosification

        return getattr(bcosification, name)
    raise AttributeError(f"module 'zoo_vision' has no attribute {name!r}")
