"""``ZooBackbone``: any zoo vision model as an mmdet backbone, registered in mmdet's ``MODELS``.

In an mmdet config::

    custom_imports = dict(imports=["zoo_detection.backbone"])
    model = dict(..., backbone=dict(type="ZooBackbone", model="pvt-v2-b0", pretrained=True,
                                    out_indices=(0, 1, 2, 3), frozen_stages=-1, norm_eval=False), ...)

``model`` is any zoo model name whose :class:`zoo.ModelSpec` declares feature levels
(``zoo.list_models(domain="vision")``); ``pretrained=True`` (or a weights tag such as
``"pvt-v2-b0.in1k"``) loads the zoo's pinned, sha256-checked weights when the backbone is built,
so mmengine's ``init_weights`` leaves them alone. ``out_indices`` picks feature levels,
``frozen_stages=n`` freezes everything up to the end of level ``n - 1`` (the stem with level 0)
and keeps it in eval mode, ``norm_eval`` keeps every BatchNorm in eval mode while training, as
mmdet's ResNet does. Input ``[B, C, H, W]`` (the zoo model's own checks apply); output a tuple of
``[B, channels_i, H / stride_i, W / stride_i]`` maps, described by ``feature_info``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

import zoo
from zoo.errors import ConfigError


@MODELS.register_module()
class ZooBackbone(BaseModule):
    """A zoo model's feature levels as an mmdet backbone (see the module docstring)."""

    def __init__(self, model: str, pretrained: bool = False, out_indices: Sequence[int] | None = None,
                 frozen_stages: int = -1, norm_eval: bool = False, config: dict[str, Any] | None = None,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg)
        if not isinstance(model, str):
            raise ConfigError(f"ZooBackbone: model must be a zoo model name, got {model!r}")
        self.body = zoo.load(model, pretrained=pretrained, features_only=True,
                             out_indices=None if out_indices is None else tuple(out_indices), **(config or {}))
        self.feature_info = self.body.feature_info
        self.norm_eval = norm_eval
        frozen = set(self.body.frozen_parameters(frozen_stages))
        for name, parameter in self.body.named_parameters():
            if name in frozen:
                parameter.requires_grad_(False)
        # Modules all of whose parameters are frozen stay in eval mode (their BatchNorm statistics too).
        self._frozen_modules = [
            module for module in self.body.modules()
            if any(True for _ in module.parameters()) and not any(p.requires_grad for p in module.parameters())
        ]
        self.train(self.training)

    @property
    def channels(self) -> list[int]:
        return self.body.channels

    @property
    def strides(self) -> list[int]:
        return self.body.strides

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.body(x))

    def train(self, mode: bool = True) -> ZooBackbone:
        super().train(mode)
        if mode:
            for module in self._frozen_modules:
                module.eval()
            if self.norm_eval:
                for module in self.modules():
                    if isinstance(module, _BatchNorm):
                        module.eval()
        return self

