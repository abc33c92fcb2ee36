"""A word-level lipreader: visual front-end per frame, temporal back-end, mean over time, classifier.

The word-boundary variants (mpc001's ``use_boundary``; TD3Net's "w/ word boundary" model) append a
0/1 vector marking the frames inside the spoken word to the per-frame features, so the back-end
sees ``512 + 1`` channels.

Input ``x`` ``[B, 1, T, H, W]`` (float, LRW: T=29, 88x88 normalised grey crops) and, for boundary
models, ``boundaries`` ``[B, T]``; output logits ``[B, num_classes]``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

import zoo
from zoo.errors import InputShapeError


class Lipreader(nn.Module):
    def __init__(self, frontend: nn.Module, backend: nn.Module, num_classes: int, use_boundary: bool = False):
        super().__init__()
        self.frontend = frontend
        self.backend = backend
        self.classifier = nn.Linear(backend.out_channels, num_classes)
        self.use_boundary = use_boundary
        self.num_classes = num_classes
        init_like_authors(self)

    def forward(self, x: torch.Tensor, boundaries: torch.Tensor | None = None) -> torch.Tensor:
        name = getattr(self, "zoo_name", type(self).__name__)
        size = zoo.expect_shape(x, "B C T H W", C=1, dtype="float", model=name)
        features = self.frontend(x)
        if self.use_boundary:
            if boundaries is None:
                raise InputShapeError(f"{name}: a word-boundary model needs boundaries [B={size['B']}, T={size['T']}]")
            zoo.expect_shape(boundaries, "B T", B=size["B"], T=size["T"], name="boundaries", dtype="float",
                             model=name, min_value=0, max_value=1)
            features = torch.cat([features, boundaries.unsqueeze(1).to(features.dtype)], dim=1)
        elif boundaries is not None:
            raise InputShapeError(f"{name}: boundaries given to a model built with use_boundary=False")
        return self.classifier(self.backend(features).mean(dim=2))


def init_like_authors(model: nn.Module) -> None:
    """The initialisation both author codebases apply: convs ~ N(0, sqrt(2 / (prod(k) * C_out))),
    BN weight 1 / bias 0, Linear weights ~ N(0, sqrt(2 / fan_in))."""
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            fan = math.prod(module.kernel_size) * module.out_channels
            nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan))
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / module.in_features))
