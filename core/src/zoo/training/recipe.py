"""A paper's training recipe as data: a frozen, torch-free :class:`TrainRecipe` beside each model family.

A recipe holds what the paper (or the authors' code) trains with; ``zoo train`` runs it, ``zoo info``
shows it. The learning-rate schedule is plain arithmetic here (:func:`lr_factor`), so it can be
checked and plotted without torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from zoo.errors import SpecError
from zoo.specs import NAME_PATTERN, REF_PATTERN, Paper

# lamb is timm's LAMB (the VanillaNet and Meta-SpikeFormer papers use timm's); the rest are torch.optim's
OPTIMISERS = ("sgd", "adam", "adamw", "rmsprop", "lamb")
SCHEDULES = ("constant", "cosine", "poly", "step", "multistep")
# Built-in losses; "data" is the training set's own ``loss(output, target, model)`` (a loss that needs the
# data's statistics, e.g. UltraGCN's degree weights), and a "module:function" string is a loss hook
# ``fn(output, target, model) -> scalar`` for a model with its own loss.
LOSSES = ("cross-entropy", "bce", "dice-ce", "mse", "l1", "data")
PRECISIONS = ("fp32", "bf16", "fp16")
# Built-in batch augmentations (torch only); anything else must be a "module:function" string.
AUGMENTATIONS = ("none", "flip", "resized-crop-flip")
SELECTIONS = ("metric", "val-loss")


@dataclass(frozen=True)
class TrainRecipe:
    """How a model is trained, with the paper's values; ``source`` says where each came from.

    ``batch_size`` is the *global* batch (all processes, after gradient accumulation);
    ``micro_batch`` is what one process puts through the model at once (default: the global batch
    split evenly over the processes). ``epochs`` counts passes over the training split unless
    ``steps_per_epoch`` fixes the optimiser steps of an "epoch" (nnU-Net's 250 iterations).
    Schedules are per optimiser step: ``cosine`` decays to ``min_lr``, ``poly`` is
    ``(1 - t)**poly_power`` (nnU-Net), ``step`` multiplies by ``gamma`` every ``step_epochs``,
    ``multistep`` at each of the ``milestones`` (fractions of the run after warm-up, as Pointcept's
    ``MultiStepLR``); a linear warm-up of ``warmup_epochs`` comes first. ``ema_decay`` > 0 keeps an exponential moving
    average of the weights, validated and saved instead of the raw ones. ``select`` picks the ``best``
    checkpoint by the highest validation metric or the lowest validation loss (Kipf & Welling's GCN).
    ``patience`` > 0 stops the run after that many epochs without a better ``best`` (early stopping).
    For ``rmsprop``, ``beta2`` is the squared-gradient decay (torch's ``alpha``) and ``momentum`` its
    momentum; ``eps`` overrides the optimiser's epsilon (TF's RMSprop in Inception-v4 uses 1.0).
    ``prepare`` ("module:function") turns the dataset's splits into what the model trains on:
    ``prepare(train, validation, recipe, config) -> (train, validation)`` (a recommender's sampled
    negatives); ``options`` holds the model's own training values that ``prepare`` and a loss hook
    read (UltraGCN's loss weights). ``epoch_start`` ("module:function") is called as
    ``epoch_start(model, epoch, recipe)`` before each epoch (0-based), on the model and its EMA copy
    (VanillaNet's deep-training lambda). ``inputs`` names the keys of a dict item that go into the
    model, in order (default: ``image`` or ``video``; LRW's ``("video", "boundary")``).
    ``precision="fp16"`` runs in fp32 on a CPU (no fp16 autocast there).
    """

    name: str
    optimiser: str
    lr: float
    epochs: int
    batch_size: int
    weight_decay: float = 0.0
    momentum: float = 0.9  # SGD momentum, or Adam's beta1
    beta2: float = 0.999
    eps: float | None = None
    nesterov: bool = False
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    min_lr: float = 0.0
    poly_power: float = 0.9
    step_epochs: int = 0
    gamma: float = 0.1
    milestones: tuple[float, ...] = ()
    steps_per_epoch: int | None = None
    micro_batch: int | None = None
    loss: str = "cross-entropy"
    label_smoothing: float = 0.0
    class_weights: tuple[float, ...] = ()
    augmentation: str = "none"
    precision: str = "fp32"
    ema_decay: float = 0.0
    select: str = "metric"
    grad_clip: float | None = None
    patience: int = 0
    seed: int = 0
    prepare: str | None = None
    epoch_start: str | None = None
    inputs: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    source: Paper | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"recipe {self.name!r}"
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            raise SpecError(f"recipe name {self.name!r} must be lower-case kebab-case, e.g. 'paper'")
        for what, value, allowed in (("optimiser", self.optimiser, OPTIMISERS), ("schedule", self.schedule, SCHEDULES),
                                     ("precision", self.precision, PRECISIONS), ("select", self.select, SELECTIONS)):
            if value not in allowed:
                raise SpecError(f"{owner}: {what} must be one of {allowed}, got {value!r}")
        if self.loss not in LOSSES and not REF_PATTERN.match(str(self.loss)):
            raise SpecError(f"{owner}: loss must be one of {LOSSES} or a 'module:function' loss hook, "
                            f"got {self.loss!r}")
        for what, value in (("prepare", self.prepare), ("epoch_start", self.epoch_start)):
            if value is not None and not REF_PATTERN.match(str(value)):
                raise SpecError(f"{owner}: {what} must be a 'module:function' string, got {value!r}")
        if not isinstance(self.inputs, tuple) or not all(isinstance(k, str) for k in self.inputs):
            raise SpecError(f"{owner}: inputs must be a tuple of the dict keys fed to the model")
        if not isinstance(self.options, Mapping):
            raise SpecError(f"{owner}: options must be a mapping of the model's own training values")
        if self.patience < 0:
            raise SpecError(f"{owner}: patience must be >= 0 (0: no early stopping), got {self.patience}")
        if self.eps is not None and self.eps <= 0:
            raise SpecError(f"{owner}: eps must be positive, got {self.eps}")
        if self.augmentation not in AUGMENTATIONS and not REF_PATTERN.match(self.augmentation):
            raise SpecError(f"{owner}: augmentation must be one of {AUGMENTATIONS} or a 'module:function' "
                            f"string, got {self.augmentation!r}")
        if not (self.lr > 0 and self.epochs > 0 and self.batch_size > 0):
            raise SpecError(f"{owner}: lr, epochs and batch_size must be positive")
        if self.micro_batch is not None and (self.micro_batch <= 0 or self.batch_size % self.micro_batch):
            raise SpecError(f"{owner}: micro_batch {self.micro_batch} must divide batch_size {self.batch_size}")
        if self.schedule == "step" and self.step_epochs <= 0:
            raise SpecError(f"{owner}: the step schedule needs step_epochs > 0")
        if self.schedule == "multistep" and not (self.milestones and all(0 < m < 1 for m in self.milestones)):
            raise SpecError(f"{owner}: the multistep schedule needs milestones in (0, 1), got {self.milestones}")
        if self.class_weights and (self.loss != "cross-entropy" or min(self.class_weights) < 0):
            raise SpecError(f"{owner}: class_weights are non-negative weights of the cross-entropy loss")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise SpecError(f"{owner}: label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise SpecError(f"{owner}: ema_decay must be in [0, 1), got {self.ema_decay}")

    def replace(self, **changes: Any) -> TrainRecipe:
        """A copy with some fields changed (validated again)."""
        return TrainRecipe(**{**self.as_dict(keep_source=True), **changes})

    def as_dict(self, keep_source: bool = False) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "source"}
        data["options"] = dict(self.options)
        if keep_source:
            data["source"] = self.source
        elif self.source is not None:
            data["source"] = self.source.cite()
        return data


def lr_factor(recipe: TrainRecipe, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """The multiplier of ``recipe.lr`` at optimiser ``step`` (0-based) of ``total_steps``."""
    warmup = round(recipe.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return (step + 1) / warmup
    t = (step - warmup) / max(1, total_steps - warmup)
    if recipe.schedule == "cosine":
        floor = recipe.min_lr / recipe.lr
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))
    if recipe.schedule == "poly":
        return max(0.0, 1 - t) ** recipe.poly_power
    if recipe.schedule == "multistep":
        return recipe.gamma ** sum(t >= m for m in recipe.milestones)
    if recipe.schedule == "step":
        return recipe.gamma ** ((step - warmup) // (recipe.step_epochs * steps_per_epoch))
    return 1.0
