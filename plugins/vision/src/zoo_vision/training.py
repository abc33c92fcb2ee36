"""What ``zoo train`` needs for the vision recipes beyond the core's built-ins: the BCE losses over
one-hot class targets (B-cos, VanillaNet) and B-cos's 6-channel input.

Loss hooks have the engine's signature ``loss(logits [B, C], target [B], model) -> scalar``; the
prepare hook ``(train, validation, recipe, config) -> (train, validation)`` wraps the dataset's splits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.errors import InputShapeError


def _one_hot(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if target.dim() != 1 or len(target) != len(logits):
        raise InputShapeError(f"the BCE losses take class indices [B]; got a target of shape {list(target.shape)}")
    return F.one_hot(target.long(), logits.shape[1]).to(logits.dtype)


def uniform_off_label_bce(logits: torch.Tensor, target: torch.Tensor, model=None) -> torch.Tensor:
    """B-cos v2's ``UniformOffLabelsBCEWithLogitsLoss``: BCE-with-logits against the one-hot target with
    every off label raised to 1/C (B-cos v2, arXiv:2306.10898, ``bcos/modules/losses.py``), mean reduction."""
    target = _one_hot(logits, target).clamp(min=1.0 / logits.shape[1])
    return F.binary_cross_entropy_with_logits(logits, target)


def one_hot_bce(logits: torch.Tensor, target: torch.Tensor, model=None) -> torch.Tensor:
    """BCE-with-logits against one-hot targets, mean reduction (timm's ``BinaryCrossEntropy`` without
    smoothing): VanillaNet's ``--bce_loss`` (arXiv:2305.12972)."""
    return F.binary_cross_entropy_with_logits(logits, _one_hot(logits, target))


class AddInverse:
    """A dataset of ``(image [3, H, W] in [0, 1], label)`` seen as B-cos inputs ``[r, g, b, 1-r, 1-g, 1-b]``."""

    in_channels = 6

    def __init__(self, dataset):
        self.dataset = dataset
        self.num_classes, self.classes = getattr(dataset, "num_classes", None), getattr(dataset, "classes", None)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        image, label = self.dataset[index][:2]
        if image.dim() != 3 or image.shape[0] != 3:
            raise InputShapeError(f"B-cos training takes RGB images [3, H, W] in [0, 1]; got {list(image.shape)}")
        return torch.cat([image, 1 - image]), label


def add_inverse(train, validation, recipe, config):
    """The prepare hook of the B-cos recipes: both splits as 6-channel B-cos inputs."""
    return AddInverse(train), AddInverse(validation)


def vanillanet_lambda(model, epoch: int, recipe) -> None:
    """VanillaNet's deep training (arXiv:2305.12972): before epoch ``epoch`` set the leaky-ReLU lambda to
    ``epoch / decay_epochs`` (1 from then on); ``decay_epochs`` is the recipe's option (100 of 300)."""
    from zoo_vision.models.vanillanet import deep_training_lambda

    model.set_lambda(deep_training_lambda(epoch, int(recipe.options.get("decay_epochs", 100))))
