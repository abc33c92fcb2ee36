"""VanillaNet: a plain network (no residuals, no attention) made trainable by deep training.

Chen et al., "VanillaNet: the Power of Minimalism in Deep Learning", NeurIPS 2023,
arXiv:2305.12972; authors' code github.com/huawei-noah/VanillaNet, whose module and parameter
names we keep (their checkpoints' keys map one to one).

Training form: stem ``4x4/4 conv + BN -> act_lambda -> 1x1 conv + BN -> series activation``;
each stage ``1x1 conv + BN -> act_lambda -> 1x1 conv + BN -> max-pool(stride) -> series
activation``; head ``GAP -> dropout -> 1x1 conv + BN -> act_lambda -> 1x1 conv``, where
``act_lambda(x) = leaky_relu(x, lambda) = (1 - lambda) ReLU(x) + lambda x``. Deep training
raises lambda from 0 to 1 over the first ``decay_epochs`` epochs (:func:`deep_training_lambda`);
at lambda = 1 the two 1x1 convs of each pair compose linearly and :meth:`VanillaNet.switch_to_deploy`
merges them (and folds every BN) into the deploy form: one conv per stage.

Input ``[B, in_chans, H, W]``, ImageNet-normalised, 224 x 224 in the paper, H and W at least
``4 * 2**3 = 32``; output logits ``[B, num_classes]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.blocks.series_activation import SeriesActivation, fold_batchnorm
from zoo_vision.models.vanillanet_specs import VARIANTS


def deep_training_lambda(epoch: int, decay_epochs: int = 100, schedule: str = "linear") -> float:
    """The paper's lambda for ``epoch``: 0 at the start, 1 from ``decay_epochs`` on.

    ``schedule="linear"`` (the authors' default) or ``"cosine"`` (``(1 - cos(pi e / E)) / 2``).
    """
    if schedule not in ("linear", "cosine"):
        raise ConfigError(f"deep training schedule must be 'linear' or 'cosine', got {schedule!r}")
    progress = min(max(epoch / decay_epochs, 0.0), 1.0)
    return progress if schedule == "linear" else 0.5 * (1 - math.cos(math.pi * progress))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-6)


def _compose(outer: tuple[torch.Tensor, torch.Tensor],
             inner: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of ``outer(inner(x))`` for a 1x1 conv ``outer`` after any conv ``inner``."""
    w_out, b_out = outer
    w_in, b_in = inner
    matrix = w_out.flatten(1)  # [out, mid]
    # a plain matrix product viewed back: the standard strides a reloaded model has, so both run
    # the same kernels bit for bit (einsum may return strides that oneDNN reads as another layout)
    weight = (matrix @ w_in.flatten(1)).view(-1, *w_in.shape[1:])
    return weight, b_out + matrix @ b_in


class VanillaBlock(nn.Module):
    """One stage: ``[B, dim, H, W] -> [B, dim_out, H/stride, W/stride]``."""

    def __init__(self, dim: int, dim_out: int, act_num: int, stride: int, deploy: bool):
        super().__init__()
        self.act_learn = 1.0
        if deploy:
            self.conv = nn.Conv2d(dim, dim_out, 1)
        else:
            self.conv1 = nn.Sequential(nn.Conv2d(dim, dim, 1), _bn(dim))
            self.conv2 = nn.Sequential(nn.Conv2d(dim, dim_out, 1), _bn(dim_out))
        self.pool = nn.Identity() if stride == 1 else nn.MaxPool2d(stride)
        self.act = SeriesActivation(dim_out, act_num, deploy=deploy)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "conv"):
            x = self.conv(x)
        else:
            x = self.conv2(nn.functional.leaky_relu(self.conv1(x), self.act_learn))
        return self.act(self.pool(x))

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        if hasattr(self, "conv"):
            return
        first = fold_batchnorm(self.conv1[0].weight, self.conv1[0].bias, self.conv1[1])
        second = fold_batchnorm(self.conv2[0].weight, self.conv2[0].bias, self.conv2[1])
        weight, bias = _compose(second, first)
        conv = self.conv2[0]
        conv.weight, conv.bias = nn.Parameter(weight), nn.Parameter(bias)
        del self.conv1, self.conv2
        self.conv = conv
        self.act.switch_to_deploy()


class VanillaNet(nn.Module):
    """VanillaNet in its training (``deploy=False``) or deploy form; see the module docstring."""

    def __init__(self, *, dims: Sequence[int], strides: Sequence[int], num_classes: int = 1000, in_chans: int = 3,
                 act_num: int = 3, drop_rate: float = 0.0, deploy: bool = False):
        super().__init__()
        self.in_chans = in_chans
        self.min_size = 4 * math.prod(strides)
        self.act_learn = 1.0
        if deploy:
            self.stem = nn.Sequential(nn.Conv2d(in_chans, dims[0], 4, 4), SeriesActivation(dims[0], act_num, True))
        else:
            self.stem1 = nn.Sequential(nn.Conv2d(in_chans, dims[0], 4, 4), _bn(dims[0]))
            self.stem2 = nn.Sequential(nn.Conv2d(dims[0], dims[0], 1), _bn(dims[0]),
                                       SeriesActivation(dims[0], act_num))
        self.stages = nn.ModuleList(
            VanillaBlock(dims[i], dims[i + 1], act_num, stride, deploy) for i, stride in enumerate(strides))
        if deploy:
            self.cls = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Dropout(drop_rate),
                                     nn.Conv2d(dims[-1], num_classes, 1))
        else:
            self.cls1 = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Dropout(drop_rate),
                                      nn.Conv2d(dims[-1], num_classes, 1), _bn(num_classes))
            self.cls2 = nn.Sequential(nn.Conv2d(num_classes, num_classes, 1))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    @property
    def deploy(self) -> bool:
        return hasattr(self, "stem")

    def set_lambda(self, value: float) -> None:
        """Set the deep-training lambda of every ``leaky_relu`` (see :func:`deep_training_lambda`)."""
        if self.deploy and value != 1.0:
            raise ConfigError("a deployed VanillaNet has no deep-training non-linearity left (lambda is 1)")
        self.act_learn = float(value)
        for stage in self.stages:
            stage.act_learn = float(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = getattr(self, "zoo_name", "vanillanet")
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=name)
        if min(x.shape[-2:]) < self.min_size:
            raise InputShapeError(f"{name}: input must be at least {self.min_size} x {self.min_size}, "
                                  f"got {list(x.shape[-2:])}")
        if self.deploy:
            x = self.stem(x)
        else:
            x = self.stem2(nn.functional.leaky_relu(self.stem1(x), self.act_learn))
        for stage in self.stages:
            x = stage(x)
        if self.deploy:
            x = self.cls(x)
        else:
            x = self.cls2(nn.functional.leaky_relu(self.cls1(x), self.act_learn))
        return x.flatten(1)

    @torch.no_grad()
    def switch_to_deploy(self) -> VanillaNet:
        """Fold every BN and merge each pair of 1x1 convs (stem, stages, head) in place; returns ``self``.

        Valid only at the end of deep training (lambda = 1, when the non-linearity between the
        pair is the identity) and uses the BN running statistics, so the deployed model equals
        the training form in eval mode. ``zoo_config["deploy"]`` is updated, so ``zoo.save``
        records the deploy form.
        """
        if self.deploy:
            return self
        if self.act_learn != 1.0 or any(stage.act_learn != 1.0 for stage in self.stages):
            raise ConfigError(f"switch_to_deploy needs lambda = 1 (the end of deep training), got {self.act_learn}")
        stem = fold_batchnorm(self.stem1[0].weight, self.stem1[0].bias, self.stem1[1])
        weight, bias = _compose(fold_batchnorm(self.stem2[0].weight, self.stem2[0].bias, self.stem2[1]), stem)
        conv, act = self.stem1[0], self.stem2[2]
        conv.weight, conv.bias = nn.Parameter(weight), nn.Parameter(bias)
        act.switch_to_deploy()
        del self.stem1, self.stem2
        self.stem = nn.Sequential(conv, act)
        for stage in self.stages:
            stage.switch_to_deploy()
        head = fold_batchnorm(self.cls1[2].weight, self.cls1[2].bias, self.cls1[3])
        weight, bias = _compose((self.cls2[0].weight, self.cls2[0].bias), head)
        conv = self.cls1[2]
        conv.weight, conv.bias = nn.Parameter(weight), nn.Parameter(bias)
        self.cls = nn.Sequential(self.cls1[0], self.cls1[1], conv)
        del self.cls1, self.cls2
        if isinstance(getattr(self, "zoo_config", None), dict):
            self.zoo_config["deploy"] = True
        return self


def build_vanillanet(variant: str = "5", num_classes: int = 1000, in_chans: int = 3, act_num: int = 3,
                     drop_rate: float = 0.0, deploy: bool = False) -> VanillaNet:
    """VanillaNet-``variant`` ("5" ... "13") in its training form, or its deploy form with ``deploy=True``."""
    if variant not in VARIANTS:
        raise ConfigError(f"vanillanet: unknown variant {variant!r}; choose one of {list(VARIANTS)}")
    hp = VARIANTS[variant]
    return VanillaNet(dims=hp["dims"], strides=hp["strides"], num_classes=num_classes, in_chans=in_chans,
                      act_num=act_num, drop_rate=drop_rate, deploy=deploy)


def example_input(config: Mapping) -> torch.Tensor:
    return torch.randn(1, config.get("in_chans", 3), 32, 32)
