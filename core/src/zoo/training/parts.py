"""The pieces a recipe names, built with torch: optimiser, schedule, loss, metric, augmentation, batches."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from zoo.errors import ConfigError
from zoo.specs import resolve
from zoo.training.recipe import TrainRecipe, lr_factor


def optimiser(recipe: TrainRecipe, parameters) -> torch.optim.Optimizer:
    eps = {} if recipe.eps is None else {"eps": recipe.eps}
    if recipe.optimiser == "sgd":
        return torch.optim.SGD(parameters, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                               weight_decay=recipe.weight_decay)
    if recipe.optimiser == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=recipe.lr, alpha=recipe.beta2, momentum=recipe.momentum,
                                   weight_decay=recipe.weight_decay, **eps)
    if recipe.optimiser == "lamb":
        try:
            from timm.optim import Lamb
        except ImportError as error:  # timm imports torchvision at import time
            raise ConfigError(f"recipe {recipe.name!r} trains with LAMB, which zoo takes from timm: pip install "
                              f"timm torchvision ({error})") from None
        return Lamb(parameters, lr=recipe.lr, betas=(recipe.momentum, recipe.beta2), weight_decay=recipe.weight_decay,
                    **eps)
    kind = torch.optim.AdamW if recipe.optimiser == "adamw" else torch.optim.Adam
    return kind(parameters, lr=recipe.lr, betas=(recipe.momentum, recipe.beta2), weight_decay=recipe.weight_decay,
                **eps)


def scheduler(recipe: TrainRecipe, optimiser_: torch.optim.Optimizer, total_steps: int, steps_per_epoch: int):
    return torch.optim.lr_scheduler.LambdaLR(
        optimiser_, lambda step: lr_factor(recipe, step, total_steps, steps_per_epoch))


IGNORE_INDEX = -100  # F.cross_entropy's default: targets that neither train nor score (nodes outside a split)


def _plain(t):
    # MONAI's MetaTensor carries metadata through every op; plain tensors are all training needs.
    return t.as_tensor() if hasattr(t, "as_tensor") else t


def split_batch(batch, inputs: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """(input, target) of a collated batch: a ``(x, y)`` pair, or a dict with a ``label`` and the
    ``inputs`` keys (default: ``image``, MONAI's, or ``video``, LRW's); several inputs make a tuple."""
    if isinstance(batch, dict):
        keys = inputs or next(((k,) for k in ("image", "video") if k in batch), ())
        missing = [k for k in (*keys, "label") if k not in batch]
        if not keys or missing:
            raise ConfigError(f"a dataset item that is a dict needs a 'label' and the input keys "
                              f"{list(inputs) or ['image or video']}, got {sorted(batch)}")
        x = tuple(_plain(batch[k]) for k in keys)
        return (x[0] if len(x) == 1 else x), _plain(batch["label"])
    return _plain(batch[0]), _plain(batch[1])


def to_device(x, dev: torch.device):
    """A batch's input on ``dev``: one tensor, or a tuple of them (a point cloud's coords, feats, batch)."""
    if isinstance(x, (tuple, list)):
        return tuple(t.to(dev, non_blocking=True) for t in x)
    return x.to(dev, non_blocking=True)


def forward(model, x):
    """``model(x)``, or ``model(*x)`` for a tuple input (zoo's point-cloud models take coords, feats, batch)."""
    return model(*x) if isinstance(x, tuple) else model(x)


def collate_fn(dataset):
    """The dataset's own ``collate`` (items that do not stack, e.g. point clouds of different sizes),
    else torch's ``default_collate``."""
    return getattr(dataset, "collate", None) or torch.utils.data.default_collate


def _class_target(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # classification labels come as [B] or [B, 1]; segmentation labels as [B, 1, *spatial]
    if y.dim() == logits.dim():
        y = y.squeeze(1)
    return y.long()


# A task's validation metric and whether higher is better; "classification" covers every task that
# ends in "classification" (image, word, text, point-cloud, node). A validation set with an
# ``evaluate(model) -> {name: value}`` method scores itself instead (recommendation: Recall@K over all items).
TASK_METRICS = {"classification": ("accuracy", True), "segmentation": ("dice", True),
                "forecasting": ("rmse", False), "recommendation": ("recall@20", True)}


def task_kind(task: str) -> str:
    """The key of :data:`TASK_METRICS` that scores ``task``."""
    return "classification" if task.endswith("classification") else task


def higher_is_better(metric: str) -> bool:
    return next((up for name, up in TASK_METRICS.values() if name == metric), not metric.endswith(("rmse", "mae")))


def loss_fn(recipe: TrainRecipe, train_set=None):
    """``loss(output, target, model) -> scalar``: a built-in loss, the training set's own, or a hook."""
    if recipe.loss == "data":
        own = getattr(train_set, "loss", None)
        if own is None:
            raise ConfigError(f"recipe {recipe.name!r} uses the training data's own loss, but "
                              f"{type(train_set).__name__} has no loss(output, target, model) method")
        return own
    if recipe.loss == "bce":
        return lambda logits, y, model=None: F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))
    if recipe.loss == "cross-entropy":
        weights = torch.tensor(recipe.class_weights) if recipe.class_weights else None
        return lambda logits, y, model=None: F.cross_entropy(
            logits, _class_target(logits, y), label_smoothing=recipe.label_smoothing,
            weight=None if weights is None else weights.to(logits.device, logits.dtype))
    if recipe.loss == "mse":
        return lambda output, y, model=None: F.mse_loss(output, y.to(output.dtype))
    if recipe.loss == "l1":
        return lambda output, y, model=None: F.l1_loss(output, y.to(output.dtype))
    if recipe.loss == "dice-ce":
        return lambda logits, y, model=None: dice_ce(logits, y)
    return resolve(recipe.loss)


def dice_ce(logits: torch.Tensor, y: torch.Tensor, smooth: float = 1e-5) -> torch.Tensor:
    """Cross-entropy plus the soft Dice loss of the softmax over every class, per sample and class
    (MONAI ``DiceCELoss(to_onehot_y=True, softmax=True)``'s defaults)."""
    target = _class_target(logits, y)
    probabilities = logits.float().softmax(1)
    one_hot = F.one_hot(target, logits.shape[1]).movedim(-1, 1).to(probabilities.dtype)
    dims = tuple(range(2, logits.dim()))
    intersection = (probabilities * one_hot).sum(dims)
    denominator = probabilities.sum(dims) + one_hot.sum(dims)
    dice = 1 - (2 * intersection + smooth) / (denominator + smooth)
    return F.cross_entropy(logits, target) + dice.mean()


def metric_sums(task: str, recipe: TrainRecipe, logits: torch.Tensor, y: torch.Tensor,
                weight: torch.Tensor) -> torch.Tensor:
    """Per-batch sums that add up over processes: [Σw, Σw·correct], [Σw, Σw·mean squared error] or
    [Σw, per class Σw·(2|P∩T|), Σw·(|P|+|T|)]."""
    if task == "forecasting":
        error = (logits.float() - y.float()).pow(2).flatten(1).mean(1)
        return torch.stack([weight.sum(), (weight * error).sum()])
    if task == "classification":
        if recipe.loss == "bce":
            correct = ((logits > 0) == (y > 0.5)).float().mean(1)
        else:
            target = _class_target(logits, y)
            correct = (logits.argmax(1) == target).float()
            if len(target) != len(weight):  # a whole graph (full-batch): its weight goes to each of its nodes
                weight = weight.repeat_interleave(len(target) // len(weight))
            weight = weight * (target != IGNORE_INDEX)
        return torch.stack([weight.sum(), (weight * correct).sum()])
    target = _class_target(logits, y)
    classes = logits.shape[1]
    prediction = F.one_hot(logits.argmax(1), classes).movedim(-1, 1).float()
    truth = F.one_hot(target, classes).movedim(-1, 1).float()
    dims = tuple(range(2, logits.dim()))
    overlap = (2 * prediction * truth).sum(dims)
    total = prediction.sum(dims) + truth.sum(dims)
    w = weight[:, None]
    return torch.cat([weight.sum()[None], (w * overlap).sum(0), (w * total).sum(0)])


def metric_value(task: str, sums: torch.Tensor) -> tuple[str, float]:
    """The task's validation metric: accuracy, the RMSE, or the mean Dice of the foreground classes present."""
    if task == "classification":
        return "accuracy", float(sums[1] / sums[0].clamp(min=1))
    if task == "forecasting":
        return "rmse", float((sums[1] / sums[0].clamp(min=1)).sqrt())
    classes = (len(sums) - 1) // 2
    overlap, total = sums[1 + 1:1 + classes], sums[1 + classes + 1:]
    present = total > 0
    return "dice", float((overlap[present] / total[present]).mean()) if present.any() else 0.0


def augmentation(recipe: TrainRecipe):
    """``augment(x, y, task) -> (x, y)`` on a batch, drawing from torch's global RNG (saved on resume)."""
    if recipe.augmentation == "none":
        return None
    if recipe.augmentation == "flip":
        return random_flip
    if recipe.augmentation == "resized-crop-flip":
        return resized_crop_flip
    return resolve(recipe.augmentation)


def random_flip(x: torch.Tensor, y: torch.Tensor, task: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror each sample along each spatial axis with probability 1/2 (the label too for segmentation)."""
    for axis in range(2, x.dim()):
        flip = torch.rand(x.shape[0]) < 0.5
        if flip.any():
            x = torch.where(flip.view(-1, *[1] * (x.dim() - 1)), x.flip(axis), x)
            if task == "segmentation":
                y = torch.where(flip.view(-1, *[1] * (y.dim() - 1)), y.flip(axis), y)
    return x, y


def resized_crop_flip(x: torch.Tensor, y: torch.Tensor, task: str, scale: tuple[float, float] = (0.08, 1.0),
                      flip_p: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Inception-style random-resized crop (area ``scale``, aspect 3/4..4/3) back to the input size, then a
    horizontal flip - torchvision's ``RandomResizedCrop`` + ``RandomHorizontalFlip`` on a 2-D batch."""
    if x.dim() != 4 or task != "classification":
        raise ConfigError("the resized-crop-flip augmentation is for 2-D classification batches [B, C, H, W]")
    height, width = x.shape[-2:]
    out = []
    for image in x:
        area = height * width * float(torch.empty(1).uniform_(*scale))
        ratio = math.exp(float(torch.empty(1).uniform_(math.log(3 / 4), math.log(4 / 3))))
        h = max(1, min(height, round((area / ratio) ** 0.5)))
        w = max(1, min(width, round((area * ratio) ** 0.5)))
        top = int(torch.randint(0, height - h + 1, ()))
        left = int(torch.randint(0, width - w + 1, ()))
        crop = F.interpolate(image[None, :, top:top + h, left:left + w], size=(height, width), mode="bilinear",
                             align_corners=False)[0]
        out.append(crop.flip(-1) if float(torch.rand(())) < flip_p else crop)
    return torch.stack(out), y


def adapt_config(spec, config: dict[str, Any], dataset) -> dict[str, Any]:
    """Fill the class count (and input channels) from the dataset where the user did not set them, and any
    key of the model's config that the dataset names in a ``model_config`` dict (a weather grid, a
    recommender's user and item counts)."""
    config = dict(config)
    for key, value in (getattr(dataset, "model_config", None) or {}).items():
        if key in spec.default_config and key not in config:
            config[key] = value
    classes = getattr(dataset, "num_classes", None)
    labels = getattr(dataset, "labels", None)
    if classes is None and isinstance(labels, dict) and labels:
        classes = len(labels)
    names = getattr(dataset, "classes", None)  # an image folder's class names
    if classes is None and isinstance(names, (tuple, list)) and names:
        classes = len(names)
    channels = getattr(dataset, "in_channels", None)
    for key, value in (("num_classes", classes), ("out_channels", classes), ("in_channels", channels),
                       ("in_chans", channels)):
        if value is not None and key in spec.default_config and key not in config:
            config[key] = int(value)
    return config
