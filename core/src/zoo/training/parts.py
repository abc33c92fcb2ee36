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


def collate_fn(dataset, task: str | None = None):
    """The dataset's own ``collate`` (items that do not stack, e.g. point clouds of different sizes),
    :func:`detection_collate` for a detection dataset, else torch's ``default_collate``."""
    own = getattr(dataset, "collate", None)
    if own is not None:
        return own
    return detection_collate if task == "detection" else torch.utils.data.default_collate


def detection_collate(items) -> tuple[torch.Tensor, torch.Tensor]:
    """``[(image [C, H, W], boxes [n, 5]), ...]`` (rows ``class, cx, cy, w, h`` normalised to [0, 1], YOLO
    labels; n varies) -> images ``[B, C, H, W]`` and targets ``[N, 6]``, each row prefixed by its image's
    index in the batch: the zoo's detection batch."""
    images, rows = [], []
    for index, item in enumerate(items):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ConfigError("a detection item is (image [C, H, W], boxes [n, 5] of class, cx, cy, w, h)")
        image, boxes = item
        boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 5)
        images.append(image)
        rows.append(torch.cat((torch.full((len(boxes), 1), float(index)), boxes), 1))
    return torch.stack(images), torch.cat(rows) if rows else torch.zeros(0, 6)


def _class_target(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # classification labels come as [B] or [B, 1]; segmentation labels as [B, 1, *spatial]
    if y.dim() == logits.dim():
        y = y.squeeze(1)
    return y.long()


# A task's validation metric and whether higher is better; "classification" covers every task that
# ends in "classification" (image, word, text, point-cloud, node). A validation set with an
# ``evaluate(model) -> {name: value}`` method scores itself instead (recommendation: Recall@K over all items).
# Detection is scored by mAP@0.5 over the model's ``predict`` (see :func:`detection_sums`).
TASK_METRICS = {"classification": ("accuracy", True), "segmentation": ("dice", True),
                "forecasting": ("rmse", False), "recommendation": ("recall@20", True),
                "detection": ("map50", True)}


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
    """The task's validation metric: accuracy, the RMSE, the mean Dice of the foreground classes present,
    or the mAP@0.5 of :func:`detection_sums`."""
    if task == "detection":
        return "map50", detection_map(sums)
    if task == "classification":
        return "accuracy", float(sums[1] / sums[0].clamp(min=1))
    if task == "forecasting":
        return "rmse", float((sums[1] / sums[0].clamp(min=1)).sqrt())
    classes = (len(sums) - 1) // 2
    overlap, total = sums[1 + 1:1 + classes], sums[1 + classes + 1:]
    present = total > 0
    return "dice", float((overlap[present] / total[present]).mean()) if present.any() else 0.0


# Detection validation: every prediction above this score counts (YOLO's val default), its score binned
# to 1/SCORE_BINS so that the per-batch counts add up over batches and processes.
DETECTION_CONF = 0.001
DETECTION_IOU = 0.5
SCORE_BINS = 1000


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of ``[n, 4]`` and ``[m, 4]`` boxes ``x1, y1, x2, y2`` -> ``[n, m]``."""
    low = torch.maximum(a[:, None, :2], b[None, :, :2])
    high = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (high - low).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[None] - inter).clamp(min=1e-9)


def detection_sums(predictions: list[torch.Tensor], targets: torch.Tensor, image_size: tuple[int, int],
                   weight: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts for mAP@0.5 that add up over batches and processes: ``[Σw, ground-truth boxes per class (K),
    true positives per class and score bin (K x SCORE_BINS), false positives likewise]``.

    ``predictions``: per image ``[n, 6]`` rows ``x1, y1, x2, y2, score, class`` in pixels (a detector's
    ``predict``); ``targets``: ``[N, 6]`` rows ``image index, class, cx, cy, w, h`` normalised to the
    ``image_size`` (H, W) (:func:`detection_collate`). Each prediction, highest score first, matches the
    unmatched ground-truth box of its class with the highest IoU >= 0.5 (Pascal VOC / COCO's rule)."""
    height, width = image_size
    scale = torch.tensor([width, height, width, height], dtype=torch.float64)
    truths = torch.zeros(num_classes, dtype=torch.float64)
    hits = torch.zeros(2, num_classes, SCORE_BINS, dtype=torch.float64)  # [true, false] positives
    targets = targets.detach().double().cpu()
    for image, found in enumerate(predictions):
        w = float(weight[image])
        rows = targets[targets[:, 0] == image]
        centre, size = rows[:, 2:4], rows[:, 4:6]
        boxes = torch.cat((centre - size / 2, centre + size / 2), 1) * scale
        labels = rows[:, 1].long()
        truths += w * torch.bincount(labels, minlength=num_classes)[:num_classes].double()
        found = found.detach().double().cpu()
        found = found[found[:, 4].argsort(descending=True)]
        iou = box_iou(found[:, :4], boxes) if len(boxes) else torch.zeros(len(found), 0, dtype=torch.float64)
        taken = torch.zeros(len(boxes), dtype=torch.bool)
        for k, (score, cls) in enumerate(found[:, 4:6].tolist()):
            cls = int(cls)
            if not 0 <= cls < num_classes:
                raise ConfigError(f"the detector predicted class {cls}, outside 0..{num_classes - 1}")
            candidates = iou[k].masked_fill(taken | (labels != cls), -1.0)
            best = int(candidates.argmax()) if len(boxes) else -1
            hit = best >= 0 and float(candidates[best]) >= DETECTION_IOU
            if hit:
                taken[best] = True
            hits[0 if hit else 1, cls, min(int(score * SCORE_BINS), SCORE_BINS - 1)] += w
    return torch.cat([weight.sum().double().cpu()[None], truths, hits.flatten()])


def detection_map(sums: torch.Tensor) -> float:
    """mAP@0.5 from :func:`detection_sums`: per class with ground truth, the area under the precision envelope
    of the recall/precision curve swept from the highest score bin down (all-point interpolation, as COCO's and
    VOC 2010's AP); 0.0 when the validation set holds no box."""
    classes = (len(sums) - 1) // (1 + 2 * SCORE_BINS)
    truths = sums[1:1 + classes]
    hits = sums[1 + classes:].view(2, classes, SCORE_BINS).flip(-1).cumsum(-1)  # from the top score down
    aps = []
    for cls in range(classes):
        if truths[cls] <= 0:
            continue
        true, false = hits[0, cls], hits[1, cls]
        recall = true / truths[cls]
        precision = torch.where(true + false > 0, true / (true + false).clamp(min=1e-12), torch.zeros_like(true))
        envelope = precision.flip(0).cummax(0).values.flip(0)
        steps = torch.diff(recall, prepend=recall.new_zeros(1))
        aps.append(float((steps * envelope).sum()))
    return sum(aps) / len(aps) if aps else 0.0


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
    """Mirror each sample along each spatial axis with probability 1/2 (the label too for segmentation; the
    boxes' normalised centres for detection, whose targets are :func:`detection_collate`'s rows)."""
    for axis in range(2, x.dim()):
        flip = torch.rand(x.shape[0]) < 0.5
        if flip.any():
            x = torch.where(flip.view(-1, *[1] * (x.dim() - 1)), x.flip(axis), x)
            if task == "segmentation":
                y = torch.where(flip.view(-1, *[1] * (y.dim() - 1)), y.flip(axis), y)
            elif task == "detection" and x.dim() == 4:
                # axis 2 (H) mirrors cy, axis 3 (W) cx: columns 3 and 2 of (image, class, cx, cy, w, h)
                column = 5 - axis
                mirrored = flip.to(y.device)[y[:, 0].long()]
                y = y.clone()
                y[mirrored, column] = 1 - y[mirrored, column]
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
