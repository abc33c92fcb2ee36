"""The evaluation preprocessing that goes with a model's weights, in torch (no torchvision).

``transforms_for("pvt-v2-b0")`` returns the resize / centre-crop / normalise of the pinned
weights' preprocessing (timm's eval transform: resize the shorter side to ``size / crop_pct``,
crop ``size`` x ``size`` in the centre, subtract the mean and divide by the std)::

    model = zoo.load("pvt-v2-b0", pretrained=True)
    prep = transforms_for(model)
    top = model(prep(image).unsqueeze(0)).softmax(-1).topk(5)   # prep.classes[i] names class i
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from zoo.errors import ConfigError, InputShapeError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT = {"input_size": 224, "crop_pct": 0.875, "interpolation": "bicubic", "mean": IMAGENET_MEAN,
           "std": IMAGENET_STD}


class ImageTransform:
    """Image -> normalised ``[C, size, size]`` (or ``[B, C, size, size]`` for a batch).

    Accepts a tensor ``[C, H, W]`` / ``[B, C, H, W]`` (uint8 in 0..255 or float in [0, 1]) or a
    NumPy / Pillow image ``[H, W(, C)]``. ``classes`` names the model's output indices when known.
    """

    def __init__(self, input_size: int = 224, crop_pct: float = 0.875, interpolation: str = "bicubic",
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                 classes: Sequence[str] | None = None):
        if interpolation not in ("bicubic", "bilinear", "nearest"):
            raise ConfigError(f"interpolation must be bicubic, bilinear or nearest, got {interpolation!r}")
        self.size = int(input_size)
        self.crop_pct = float(crop_pct)
        self.resize_to = math.floor(self.size / self.crop_pct)
        self.interpolation = interpolation
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.classes = tuple(classes) if classes is not None else None

    def __repr__(self) -> str:
        return (f"ImageTransform(resize shorter side to {self.resize_to} ({self.interpolation}), "
                f"centre crop {self.size}, mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()})")

    def _as_tensor(self, image: Any) -> torch.Tensor:
        if not isinstance(image, torch.Tensor):
            import numpy as np

            array = np.asarray(image)
            if array.ndim == 2:
                array = array[:, :, None]
            if array.ndim != 3:
                raise InputShapeError(f"an image array must be [H, W] or [H, W, C], got shape {list(array.shape)}")
            image = torch.from_numpy(array.copy()).permute(2, 0, 1)
        if image.ndim not in (3, 4):
            raise InputShapeError(f"image tensor must be [C, H, W] or [B, C, H, W], got {list(image.shape)}")
        if image.dtype == torch.uint8:
            return image.float() / 255.0
        if not image.is_floating_point():
            raise InputShapeError(f"image tensor must be uint8 or floating point, got {image.dtype}")
        return image.float()

    def __call__(self, image: Any) -> torch.Tensor:
        x = self._as_tensor(image)
        single = x.ndim == 3
        x = x.unsqueeze(0) if single else x
        if x.shape[1] != self.mean.shape[0]:
            if x.shape[1] == 1:  # grey image for an RGB model
                x = x.expand(-1, self.mean.shape[0], -1, -1)
            else:
                raise InputShapeError(f"image has {x.shape[1]} channels, the model expects {self.mean.shape[0]}")
        h, w = x.shape[-2:]
        scale = self.resize_to / min(h, w)
        new = (max(self.resize_to, round(h * scale)), max(self.resize_to, round(w * scale)))
        antialias = self.interpolation != "nearest"
        x = F.interpolate(x, size=new, mode=self.interpolation, antialias=antialias,
                          **({} if self.interpolation == "nearest" else {"align_corners": False}))
        if self.interpolation == "bicubic":  # bicubic overshoots; keep the image range
            x = x.clamp_(0.0, 1.0)
        top, left = (new[0] - self.size) // 2, (new[1] - self.size) // 2
        x = x[..., top:top + self.size, left:left + self.size]
        x = (x - self.mean) / self.std
        return x[0] if single else x


def _spec_and_tag(model_or_name: Any):
    from zoo.registry import get_registry

    if isinstance(model_or_name, str):
        name, _, tag = model_or_name.partition(".")
        tag = tag or None
    else:
        name = getattr(model_or_name, "zoo_name", None)
        tag = getattr(model_or_name, "zoo_weights", None)
        if name is None:
            raise ConfigError("transforms_for needs a registered model name or a model built by zoo")
    return get_registry().model(name), tag


def preprocessing_for(model_or_name: Any) -> dict[str, Any]:
    """The preprocessing dict of the model's weights (the tag it was loaded with, else its default
    weights); models without pinned weights get ImageNet's statistics at their input size."""
    spec, tag = _spec_and_tag(model_or_name)
    weights = spec.get_weights(tag) if tag else spec.default_weights
    if weights is not None and weights.preprocessing:
        return {**DEFAULT, **dict(weights.preprocessing)}
    config = dict(spec.default_config)
    if not isinstance(model_or_name, str):
        config.update(getattr(model_or_name, "zoo_config", {}))
    return {**DEFAULT, "input_size": config.get("img_size", config.get("input_size", DEFAULT["input_size"]))}


def transforms_for(model_or_name: Any) -> ImageTransform:
    """The eval transform of a model (a zoo model or a registered name, optionally ``name.tag``), with
    ``.classes`` = the ImageNet-1k class names when the model has 1,000 outputs."""
    from zoo_vision.imagenet_classes import NAMES

    spec, _ = _spec_and_tag(model_or_name)
    prep = preprocessing_for(model_or_name)
    config: Mapping[str, Any] = {**spec.default_config, **getattr(model_or_name, "zoo_config", {})}
    classes = NAMES if config.get("num_classes") == len(NAMES) else None
    return ImageTransform(prep["input_size"], prep["crop_pct"], prep["interpolation"], prep["mean"], prep["std"],
                          classes=classes)
