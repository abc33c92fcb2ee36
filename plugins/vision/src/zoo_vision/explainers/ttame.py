"""T-TAME: a trainable attention head over feature layers of a frozen classifier.

Ntrougkas, Gkalelis & Mezaris, "T-TAME: Trainable Attention Mechanism for Explaining Convolutional
Networks and Vision Transformers", IEEE Access 2024, arXiv:2403.04523 (code github.com/IDT-ITI/T-TAME).

The head reads ``L`` feature maps ``[B, C_i, H_i, W_i]`` of the backbone (transformer tokens go
through the model's ``explain_reshape`` to a grid first). Per set: a 1x1 conv ``C_i → C_i``, batch
norm, the input added back, ReLU, a bilinear resize to the first set's size (at most 56); the sets
are concatenated and a 1x1 conv gives one map per class, ``c``: ``[B, K, h, w]``, and the attention
``a = sigmoid(c)``. Training (backbone frozen, in eval mode) masks the input with the upsampled
attention map of the backbone's own prediction and asks the backbone to keep predicting it, with
area and smoothness penalties on the maps (:func:`ttame_loss`). Explaining costs one forward pass
of the backbone and the head: the map of the explained class of ``c``, min-max scaled and
upsampled to the input (as the authors' evaluation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import ConfigError, ExplainError
from zoo.explainers.framework import (
    Explanation,
    class_scores,
    eval_mode,
    model_logits,
    normalize_maps,
    resolve_reshape,
    resolve_target_layers,
    target_indices,
    upsample,
)
from zoo_vision.explainers import ttame_specs as specs


class TTAMEHead(nn.Module):
    """The attention mechanism ("TAME" version of the authors' code) for feature sets of
    ``channels`` channels: ``forward([f_1, ..., f_L]) -> (a, c)``, both ``[B, num_classes, h, w]``
    with ``h, w`` the first set's size capped at 56.

    ``layers`` (module names of the backbone) and ``reshape`` (its token-to-grid function, a
    ``"module:function"`` string, or None) say where the features come from; they travel with the
    head but are not parameters.
    """

    def __init__(self, channels: Sequence[int], num_classes: int = 1000, *, layers: Sequence[str] = (),
                 reshape: str | None = None):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if not channels or min(channels) < 1:
            raise ConfigError(f"t-tame: channels must be positive channel counts, got {channels}")
        if num_classes < 1:
            raise ConfigError(f"t-tame: num_classes must be positive, got {num_classes}")
        if layers and len(layers) != len(channels):
            raise ConfigError(f"t-tame: {len(layers)} layers for {len(channels)} channel counts")
        self.channels = channels
        self.num_classes = num_classes
        self.layers = tuple(layers)
        self.reshape = reshape
        self.convs = nn.ModuleList(nn.Conv2d(c, c, 1) for c in channels)
        self.bns = nn.ModuleList(nn.BatchNorm2d(c) for c in channels)
        self.fuser = nn.Conv2d(sum(channels), num_classes, 1)

    def forward(self, features: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        if len(features) != len(self.channels):
            raise ExplainError(f"t-tame head takes {len(self.channels)} feature sets, got {len(features)}")
        for index, (feature, channels) in enumerate(zip(features, self.channels)):
            if feature.ndim != 4 or feature.shape[1] != channels:
                raise ExplainError(f"t-tame: feature set {index} must be [B, {channels}, H, W], "
                                   f"got {list(feature.shape)}")
        size = tuple(min(s, specs.MAX_MAP_SIZE) for s in features[0].shape[-2:])
        maps = [F.interpolate(torch.relu(bn(conv(f)) + f), size=size, mode="bilinear", align_corners=False)
                for f, conv, bn in zip(features, self.convs, self.bns)]
        c = self.fuser(torch.cat(maps, 1))
        return torch.sigmoid(c), c


def _layer_set(model: nn.Module, layers: Any) -> tuple[str, ...]:
    """Layer names from an explicit list, a key of the paper's / zoo's layer sets, or (None) the
    zoo model's declared set."""
    if layers is None:
        from zoo.registry import get_registry

        spec = get_registry().model_spec_for(model)
        key = spec.name if spec is not None else None
        if key not in specs.ZOO_LAYER_SETS:
            raise ExplainError(
                f"t-tame declares no layer set for {key or type(model).__name__}; pass layers= a list of module "
                f"names (the paper uses the last three stages), or one of {sorted(specs.PAPER_LAYER_SETS)}")
        return specs.ZOO_LAYER_SETS[key].layers
    if isinstance(layers, str):
        known = {**specs.PAPER_LAYER_SETS, **specs.ZOO_LAYER_SETS}
        if layers not in known:
            raise ExplainError(f"t-tame: unknown layer set {layers!r}; known: {sorted(known)}")
        return known[layers].layers
    layers = tuple(layers)
    if not layers or not all(isinstance(name, str) for name in layers):
        raise ExplainError(f"t-tame: layers must be a non-empty list of module names, got {layers!r}")
    return layers


def backbone_features(model: nn.Module, x: Tensor, layers: Sequence[str], reshape: Any = None
                      ) -> tuple[Tensor, list[Tensor]]:
    """One forward pass of ``model`` (eval mode, no autograd) -> (class scores ``[B, K]``, the
    outputs of ``layers`` as ``[B, C, H, W]``; token outputs through ``reshape``, None: the model
    spec's ``explain_reshape``)."""
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim != 4:
        raise ExplainError(f"t-tame takes a float image batch [B, C, H, W], got "
                           f"{list(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    resolved = resolve_target_layers(model, list(layers))
    grid = resolve_reshape(model, reshape)
    found: dict[int, Tensor] = {}

    def hook(index: int):
        def record(module, args, output):
            found[index] = output
        return record

    handles = [module.register_forward_hook(hook(i)) for i, (_, module) in enumerate(resolved)]
    try:
        with torch.no_grad(), eval_mode(model):
            scores = class_scores(model_logits(model(x)))
    finally:
        for handle in handles:
            handle.remove()
    features = []
    for index, (name, _) in enumerate(resolved):
        if index not in found or not isinstance(found[index], Tensor):
            raise ExplainError(f"t-tame: layer {name!r} gave no tensor output in the forward pass")
        feature = found[index]
        if feature.ndim == 3:
            if grid is None:
                raise ExplainError(f"t-tame: layer {name!r} gives tokens {list(feature.shape)}; pass reshape= "
                                   "(e.g. zoo.explainers.reshapes:vit_tokens)")
            feature = grid(feature)
        features.append(feature)
    return scores, features


def ttame_head(model: nn.Module, x: Tensor, layers: Any = None, *, reshape: str | None = None) -> TTAMEHead:
    """A fresh head for ``model``: the channel counts and classes come from one forward pass on the
    example batch ``x``. ``layers``: module names, a layer-set key (``"resnet50"``, ``"vgg16"``,
    ``"vit_b_16"`` for torchvision's models, or a zoo model name), or None for the zoo model's own."""
    names = _layer_set(model, layers)
    scores, features = backbone_features(model, x, names, reshape)
    return TTAMEHead([f.shape[1] for f in features], scores.shape[1], layers=names, reshape=reshape)


def smoothness_loss(masks: Tensor) -> Tensor:
    """The authors' total variation: squared differences along both axes plus 0.3 x the squared
    border values, summed and divided by 2 x batch."""
    power = specs.SMOOTH_POWER
    rows = (masks[..., 1:, :] - masks[..., :-1, :]).abs().pow(power).sum()
    cols = (masks[..., :, 1:] - masks[..., :, :-1]).abs().pow(power).sum()
    border = (masks[..., -1, :].pow(power).sum() + masks[..., 0, :].pow(power).sum()
              + masks[..., :, -1].pow(power).sum() + masks[..., :, 0].pow(power).sum())
    return (rows + cols + specs.BORDER_PENALTY * border) / (power * masks.shape[0])


def ttame_loss(masked_logits: Tensor, labels: Tensor, masks: Tensor) -> dict[str, Tensor]:
    """``1.5·CE(masked_logits, labels) + 2·mean((masks + 5e-4)^0.3) + 0.01·TV(masks)``.

    ``masked_logits`` ``[B, K]``: the backbone on the masked inputs; ``labels`` ``[B]``: its
    predictions on the clean inputs; ``masks`` ``[B, M, h, w]``: attention maps (in training each
    image's maps for the labels of the whole batch, ``M = B``). Returns the total and each term.
    """
    ce = specs.CE_COEFF * F.cross_entropy(masked_logits, labels)
    area = specs.AREA_COEFF * (masks + specs.AREA_EPS).pow(specs.AREA_POWER).mean()
    smooth = specs.SMOOTH_COEFF * smoothness_loss(masks)
    return {"loss": ce + area + smooth, "cross_entropy": ce, "area": area, "smoothness": smooth}


def ttame_step(model: nn.Module, head: TTAMEHead, x: Tensor, *, preprocess: Callable[[Tensor], Tensor] | None = None
               ) -> dict[str, Tensor]:
    """The training forward of one batch: ``x`` is the raw input (``preprocess``, e.g. a mean/std
    normalisation, maps it to what the model takes; the authors mask the unnormalised image for the
    CNNs and the normalised one for the ViT). Returns :func:`ttame_loss`'s terms."""
    prepare = preprocess or (lambda image: image)
    scores, features = backbone_features(model, prepare(x), head.layers, head.reshape)
    labels = scores.argmax(1)
    attention, _ = head(features)
    chosen = attention[torch.arange(x.shape[0], device=x.device), labels][:, None]
    mask = F.interpolate(chosen, size=x.shape[-2:], mode="bilinear", align_corners=False)
    with eval_mode(model):
        masked_logits = class_scores(model_logits(model(prepare(mask * x))))
    return ttame_loss(masked_logits, labels, attention[:, labels])


def train_ttame(model: nn.Module, head: TTAMEHead, batches: Iterable, *, epochs: int = specs.RECIPE.epochs,
                lr: float = specs.RECIPE.lr, momentum: float = specs.RECIPE.momentum,
                weight_decay: float = specs.RECIPE.weight_decay, preprocess: Callable[[Tensor], Tensor] | None = None,
                log: Callable[[int, dict[str, float]], None] | None = None) -> list[dict[str, float]]:
    """Train ``head`` on ``batches`` (a sized, re-iterable collection of input tensors or
    ``(input, label)`` pairs; labels are ignored, the backbone's predictions are the targets) with
    the authors' recipe (:data:`zoo_vision.explainers.ttame_specs.RECIPE`): SGD with Nesterov
    momentum, weight decay on weights only, OneCycleLR per step. The backbone stays frozen and in
    eval mode. Returns the loss terms of every step; ``log(step, terms)`` is called after each."""
    try:
        steps_per_epoch = len(batches)  # type: ignore[arg-type]
    except TypeError:
        raise ConfigError("train_ttame: batches must be sized (a list or a DataLoader)") from None
    if steps_per_epoch < 1 or epochs < 1:
        raise ConfigError(f"train_ttame: needs at least one batch and one epoch, got {steps_per_epoch} and {epochs}")
    decayed = [p for n, p in head.named_parameters() if not n.endswith("bias")]
    biases = [p for n, p in head.named_parameters() if n.endswith("bias")]
    optimiser = torch.optim.SGD([{"params": biases, "weight_decay": 0.0},
                                 {"params": decayed, "weight_decay": weight_decay}],
                                lr=lr, momentum=momentum, nesterov=True)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, epochs=epochs, steps_per_epoch=steps_per_epoch)
    frozen = [(p, p.requires_grad) for p in model.parameters()]
    history: list[dict[str, float]] = []
    head.train()
    try:
        for p, _ in frozen:
            p.requires_grad_(False)  # gradients flow through the backbone to the mask, not into it
        for _ in range(epochs):
            for batch in batches:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                terms = ttame_step(model, head, x, preprocess=preprocess)
                optimiser.zero_grad(set_to_none=True)
                terms["loss"].backward()
                optimiser.step()
                schedule.step()
                history.append({k: float(v.detach()) for k, v in terms.items()})
                if log is not None:
                    log(len(history), history[-1])
    finally:
        for p, flag in frozen:
            p.requires_grad_(flag)
        head.eval()
    return history


def ttame(model: nn.Module, x: Tensor, *, target_layer: Any = None, targets: Any = None, reshape: Any = None,
          head: TTAMEHead | None = None) -> Explanation:
    """``zoo.explain(model, x, method="t-tame", head=head)``: maps ``[B, H, W]`` in [0, 1] from one
    forward pass of the backbone and the trained ``head`` (:func:`ttame_head`, :func:`train_ttame`)."""
    if head is None:
        raise ExplainError("t-tame needs a trained head: head = zoo_vision.explainers.ttame.ttame_head(model, x); "
                           "train_ttame(model, head, batches); zoo.explain(model, x, method='t-tame', head=head)")
    if not isinstance(head, TTAMEHead):
        raise ExplainError(f"t-tame: head must be a TTAMEHead, got {type(head).__name__}")
    if target_layer is not None:
        raise ExplainError("t-tame reads the layers its head was built for; it takes no target_layer")
    if callable(targets):
        raise ExplainError("t-tame explains classes: targets must be None, an int or one int per sample")
    scores, features = backbone_features(model, x, head.layers, head.reshape if reshape is None else reshape)
    if scores.shape[1] != head.num_classes:
        raise ExplainError(f"t-tame: the head has {head.num_classes} classes, the model {scores.shape[1]}")
    classes = target_indices(scores, targets)
    with torch.no_grad(), eval_mode(head):
        _, logit_maps = head(features)
    chosen = logit_maps[torch.arange(x.shape[0], device=x.device), classes]
    maps = upsample(normalize_maps(chosen), x.shape[-2:])
    return Explanation(maps, "t-tame", list(head.layers), classes)
