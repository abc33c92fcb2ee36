"""B-cosification: turn a conventional zoo CNN or ViT into a B-cos network, and the fine-tuning that follows.

Arya, Rao, Böhle & Schiele, "B-cosification: Transforming Deep Neural Networks to be Inherently
Interpretable", NeurIPS 2024, arXiv:2411.00715; code github.com/shrebox/B-cosification
(``bcosify.py``, ``bcos/experiments/ImageNet/bcosification``). The conversion, as the authors' CNN
configurations do it:

1. *Input encoding*: the network takes ``[x, 1-x]`` (``[B, 6, H, W]``, ``x`` in [0, 1]); its first
   operation is a 6-channel normalisation with means ``(m, 1-m)`` and stds ``(s, s)``, which maps the
   inverse channels to exactly ``-n`` (``n`` the usual normalised image). The first convolution gets
   the weights ``[W, -W] / 2`` along its input channels, so it sees ``conv(n)`` as before.
2. Every ``Conv2d`` becomes a :class:`BcosifyConv2d`: the B-cos transform (``B = 2`` fixed) around a
   *plain* convolution holding the pretrained weights (not weight-normalised, unlike B-cos v2);
   ``nn.Linear`` layers become :class:`BcosifyLinear`.
3. The classifier becomes a 1x1 :class:`BcosifyConv2d` applied *before* global average pooling.
4. ``BatchNorm2d`` becomes an uncentred batch norm (:class:`~zoo_vision.blocks.BatchNormUncentered2d`);
   the mean is folded into the bias and then every bias of the network (convolutions, norms,
   classifier) is removed, so the model is bias-free but for the fixed logit bias ``-log(C-1)``.
5. ReLUs are kept (a ReLU is itself a dynamic linear map); max-pooling becomes average pooling of the
   same geometry (the ResNets' stem ``AvgPool2d(3, 2, 1)``).

Our extension for the zoo's ECA-ResNets (the paper converts torchvision ResNets/DenseNets and ViTs):
an Efficient Channel Attention gate ``x · σ(conv1d(GAP(x)))`` becomes a :class:`DetachableGate`,
whose gate is a dynamic factor detached in explanation mode, as the B-cosified GELU's gate is.

ViTs (the zoo's DeiT, :class:`~zoo_vision.models.deit.DeiT`), as the authors' ``bcosify_vit.py``: the same input
encoding, the patch embedding (a 16 x 16 stride-16 convolution) a :class:`BcosifyConv2d` with ``[W, -W] / 2``
(the authors interleave ``W/2, -W/2`` per pixel of a linear patch embedding: the same map); the attention's
``proj``, the MLP's ``fc1``/``fc2`` and the head :class:`BcosifyLinear`; the fused ``qkv`` stays a plain
linear map (the authors' ``to_qkv`` is no B-cos layer), its biases removed, and in explanation mode q and k
are detached, so the attention matrix is a dynamic weight on v (:class:`DetachableSelfAttention`); GELU is
``x · Φ(x)`` with the gate ``Φ`` detached in explanation mode (:class:`DetachableGELU`); every LayerNorm a
:class:`~zoo_vision.blocks.DetachableLayerNorm` (centred, variance detached in explanation mode, no β);
every bias removed. DeiT classifies from its class token: the final norm and the head act on that token,
so there is no pooling to reorder. The class token and the learned position embedding are
input-independent terms added to the tokens: they are the biases of the converted ViT,
``logit − logit_bias = Σ n6 · W(n6) + Σ_c (∂logit/∂c) · c`` over those two parameters
(:meth:`BcosifiedNetwork.constant_contributions` gives the second sum).

Contributions: because the normalisation subtracts a non-zero mean *inside* the model, the map
``W(x)ᵀ`` reproduces the logit only with respect to the *normalised* 6-channel input ``n6``.
:class:`BcosifiedNetwork` therefore exposes ``explanation_input`` (the normalisation) and
``forward_from_explanation_input``, and the ``bcos-contributions`` explainer attributes to ``n6``:
``Σ n6 · W(n6) = logit − logit_bias`` exactly for a CNN (a ViT adds its constants' share, above).

Supported models: :class:`~zoo_vision.models.eca_resnet.ECAResNet` and
:class:`~zoo_vision.models.inception_v4.InceptionV4` (conv/BN/ReLU networks with a global-average-pool
head, the structure the authors' code converts), and :class:`~zoo_vision.models.deit.DeiT`.
Fine-tuning: :func:`finetune` with the authors' recipe
(:data:`zoo_vision.bcosification_recipe.BCOSIFICATION_RECIPE`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import ConfigError, InputShapeError, TrainingError
from zoo.training.recipe import TrainRecipe, lr_factor
from zoo_vision.bcosification_recipe import AGC_CLIP_FACTOR, AGC_EPS, BCOSIFICATION_RECIPE
from zoo_vision.blocks.attention import MultiHeadSelfAttention
from zoo_vision.blocks.bcos import (
    BatchNormUncentered2d,
    BcosConv2d,
    BcosLinear,
    DetachableLayerNorm,
    DetachableModule,
    LogitLayer,
    explanation_mode,
)
from zoo_vision.blocks.eca import EfficientChannelAttention

__all__ = ["BcosifiedNetwork", "BcosifyConv2d", "BcosifyLinear", "DetachableGELU", "DetachableGate",
           "DetachableSelfAttention", "InputNormalize", "adaptive_clip_grad_", "bcosify", "finetune",
           "uniform_off_labels_bce"]


class BcosifyConv2d(BcosConv2d):
    """The B-cos transform around a plain (not weight-normalised) bias-free convolution:
    ``[B, C_in, H, W] -> [B, C_out, H', W']``. Built from a ``Conv2d`` with :meth:`from_conv`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size=1, stride=1, padding=0, dilation=1,
                 groups: int = 1, b: float = 2):
        super().__init__(in_channels, out_channels, 1, b=b)
        self.groups = groups
        self.linear = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                                bias=False)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, b: float = 2) -> BcosifyConv2d:
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ConfigError(f"bcosify: convolutions with padding {conv.padding!r}/{conv.padding_mode!r} are not "
                              "supported (the patch norm assumes explicit zero padding)")
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, b)
        layer.linear.weight = nn.Parameter(conv.weight.detach().clone())
        return layer

    @classmethod
    def from_linear(cls, linear: nn.Linear, b: float = 2) -> BcosifyConv2d:
        """A classifier ``nn.Linear`` as a 1x1 convolution, so it can run before global pooling."""
        layer = cls(linear.in_features, linear.out_features, 1, b=b)
        layer.linear.weight = nn.Parameter(linear.weight.detach().clone()[:, :, None, None])
        return layer


class BcosifyLinear(BcosLinear):
    """The B-cos transform around a plain bias-free linear layer: ``[*, in] -> [*, out]``."""

    @classmethod
    def from_linear(cls, linear: nn.Linear, b: float = 2) -> BcosifyLinear:
        layer = cls(linear.in_features, linear.out_features, b=b)
        layer.linear = nn.Linear(linear.in_features, linear.out_features, bias=False)
        layer.linear.weight = nn.Parameter(linear.weight.detach().clone())
        return layer


class DetachableGate(DetachableModule):
    """``x · σ(conv1d(GAP(x)))`` (ECA) with the gate detached in explanation mode: ``[B, C, H, W]``
    to the same shape. Keeps the ECA module's 1-D convolution (named ``conv``, as before)."""

    def __init__(self, eca: EfficientChannelAttention):
        super().__init__()
        self.conv = eca.conv

    gate = EfficientChannelAttention.gate

    def forward(self, x: Tensor) -> Tensor:
        gate = self.gate(x)
        return x * (gate.detach() if self.detach else gate)


class DetachableGELU(DetachableModule):
    """GELU as ``x · Φ(x)`` (``Φ`` the normal CDF, or its tanh approximation) with the gate ``Φ(x)``
    detached in explanation mode, the B-cosified ViTs' activation: ``[*] -> [*]``."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ConfigError(f"bcosify: unknown GELU approximation {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        if not self.detach:
            return F.gelu(x, approximate=self.approximate)
        if self.approximate == "tanh":
            gate = 0.5 * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
        else:
            gate = 0.5 * (1 + torch.erf(x * math.sqrt(0.5)))
        return x * gate.detach()


class DetachableSelfAttention(DetachableModule):
    """Multi-head self-attention ``[B, N, C] -> [B, N, C]`` in B-cosified form: ``qkv`` a plain bias-free
    linear map (as the authors' ``to_qkv``), ``proj`` a :class:`BcosifyLinear`; in explanation mode q and
    k are detached, so the attention matrix is a dynamic weight on v. Keeps the names ``qkv``/``proj``."""

    def __init__(self, attention: MultiHeadSelfAttention, b: float = 2):
        super().__init__()
        self.heads = attention.heads
        qkv = attention.qkv
        self.qkv = nn.Linear(qkv.in_features, qkv.out_features, bias=False)
        self.qkv.weight = nn.Parameter(qkv.weight.detach().clone())
        self.proj = BcosifyLinear.from_linear(attention.proj, b)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if self.detach:
            q, k = q.detach(), k.detach()
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c))


class InputNormalize(nn.Module):
    """``(x6 - mean6) / std6`` of the encoded input ``[B, 6, H, W]``, with ``mean6 = (m, 1 - m)`` and
    ``std6 = (s, s)``: the inverse channels come out as exactly minus the normalised image."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        mean6 = [*mean, *(1 - m for m in mean)]
        std6 = [*std, *std]
        self.register_buffer("mean", torch.tensor(mean6).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std6).view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


@dataclass(frozen=True)
class _Layout:
    """Where a supported model keeps its parts: the feature extractor and the classifier attribute;
    ``pre_pool``: the classifier runs as a 1x1 convolution before global average pooling (CNNs), else as
    a linear layer on the features (a ViT's class token); ``constants``: the body's input-independent
    parameters added to its activations (a ViT's class token and position embedding)."""

    features: Callable[[nn.Module, Tensor], Tensor]
    classifier: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    min_size: int
    pre_pool: bool = True
    constants: tuple[str, ...] = ()


def _layouts() -> dict[type, _Layout]:
    from zoo_vision.models import deit, deit_specs, eca_resnet, inception_v4

    imagenet = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    return {
        eca_resnet.ECAResNet: _Layout(lambda body, x: body.forward_features(x), "fc", *imagenet,
                                      eca_resnet.MIN_SIZE),
        # the TF-Slim checkpoint's normalisation (mean = std = 0.5)
        inception_v4.InceptionV4: _Layout(lambda body, x: body.features(x), "last_linear", (0.5,) * 3, (0.5,) * 3,
                                          inception_v4.MIN_SIZE),
        # the head on the final-normed class token; DeiT trains on the ImageNet normalisation (timm's default)
        deit.DeiT: _Layout(lambda body, x: body.forward_features(x)[:, 0], "head", *imagenet, deit_specs.PATCH,
                           pre_pool=False, constants=("cls_token", "pos_embed")),
    }


class BcosifiedNetwork(nn.Module):
    """A B-cosified CNN or ViT: ``[B, 6, H, W]`` (``[x, 1-x]``, ``x`` in [0, 1]) to logits ``[B, num_classes]``.

    CNN: ``normalize`` -> ``body``'s features -> ``classifier`` (1x1 B-cos conv) -> global average pool ->
    ``logit_layer`` (fixed bias ``-log(C-1)``). ViT: ``normalize`` -> ``body``'s normed class token ->
    ``classifier`` (B-cos linear) -> ``logit_layer``; ``constants`` names the body's input-independent
    parameters (class token, position embedding).
    """

    def __init__(self, body: nn.Module, classifier: nn.Module, normalize: InputNormalize,
                 features: Callable[[nn.Module, Tensor], Tensor], logit_bias: float, source: str, min_size: int,
                 pre_pool: bool = True, constants: tuple[str, ...] = ()):
        super().__init__()
        self.min_size = min_size
        self.pre_pool = pre_pool
        self.constants = constants
        self.normalize = normalize
        self.body = body
        self.classifier = classifier
        self.logit_layer = LogitLayer(logit_bias=logit_bias)
        self._features = features
        self.source = source

    def explanation_input(self, x: Tensor) -> Tensor:
        """The normalised input ``n6`` the dynamic linear map acts on (see the module docstring)."""
        if x.ndim != 4 or x.shape[1] != 6 or not x.is_floating_point():
            raise InputShapeError(f"bcosified {self.source}: expected the 6-channel encoding [B, 6, H, W] "
                                  f"(zoo_vision.blocks.add_inverse), got {list(x.shape)} {x.dtype}")
        if min(x.shape[-2:]) < self.min_size:
            raise InputShapeError(f"bcosified {self.source}: input must be at least {self.min_size} x "
                                  f"{self.min_size}, got {list(x.shape[-2:])}")
        return self.normalize(x)

    def forward_from_explanation_input(self, n6: Tensor) -> Tensor:
        out = self.classifier(self._features(self.body, n6))
        return self.logit_layer(out.mean((2, 3)) if self.pre_pool else out)

    def constant_contributions(self, x: Tensor, targets: int | Sequence[int]) -> Tensor:
        """The share of the input-independent terms in each target logit, ``[B]``: ``Σ_c (∂y/∂c) · c``
        over ``constants`` in explanation mode (eval mode), so that ``Σ contributions + this = logit −
        logit_bias``. ``x``: ``[B, 6, H, W]``; ``targets``: one class, or one per sample. Zeros for a CNN.
        One backward per sample: the terms are shared by the batch."""
        count = x.shape[0]
        targets = [targets] * count if isinstance(targets, int) else list(targets)
        if len(targets) != count:
            raise InputShapeError(f"constant_contributions: {len(targets)} targets for {count} samples")
        params = [self.body.get_parameter(name) for name in self.constants]
        if not params:
            return x.new_zeros(count)
        training = self.training
        shares = []
        try:
            with explanation_mode(self.eval()), torch.enable_grad():
                for i, target in enumerate(targets):
                    score = self(x[i:i + 1])[0, target]
                    grads = torch.autograd.grad(score, params)
                    shares.append(sum((g * p).sum() for g, p in zip(grads, params)).detach())
        finally:
            self.train(training)
        return torch.stack(shares)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_from_explanation_input(self.explanation_input(x))


def _convert(module: nn.Module, b: float) -> None:
    """Replace, in place and recursively, every layer by its B-cosified form (see the module docstring)."""
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d):
            new: nn.Module = BcosifyConv2d.from_conv(child, b)
        elif isinstance(child, nn.Linear):
            new = BcosifyLinear.from_linear(child, b)
        elif isinstance(child, nn.BatchNorm2d):
            # centred BN = uncentred BN + the bias β - μγ/σ; that folded bias is then dropped, as every bias
            new = BatchNormUncentered2d(child.num_features, child.eps, child.momentum, bias=False)
            new.weight = nn.Parameter(child.weight.detach().clone())
            new.running_var.copy_(child.running_var)
            new.running_mean.copy_(child.running_mean)
            new.num_batches_tracked.copy_(child.num_batches_tracked)
        elif isinstance(child, nn.MaxPool2d):
            new = nn.AvgPool2d(child.kernel_size, child.stride, child.padding, ceil_mode=child.ceil_mode)
        elif isinstance(child, EfficientChannelAttention):
            new = DetachableGate(child)
        elif isinstance(child, MultiHeadSelfAttention):
            new = DetachableSelfAttention(child, b)
        elif isinstance(child, nn.GELU):
            new = DetachableGELU(child.approximate)
        elif isinstance(child, nn.LayerNorm) and len(child.normalized_shape) == 1 and child.weight is not None:
            # centred, as the B-cos ViTs' (centring is linear); β dropped as every bias
            new = DetachableLayerNorm(child.normalized_shape[0], child.eps, bias=False)
            new.weight = nn.Parameter(child.weight.detach().clone())
        elif isinstance(child, (nn.BatchNorm1d, nn.LayerNorm, nn.GroupNorm, nn.MaxPool1d, nn.Conv1d)):
            raise ConfigError(f"bcosify: no B-cos form for {type(child).__name__} ({name!r}) in this model")
        else:
            _convert(child, b)
            continue
        setattr(module, name, new)


def _first_conv(module: nn.Module) -> nn.Conv2d:
    return next(m for m in module.modules() if isinstance(m, nn.Conv2d))


def bcosify(model: nn.Module, *, b: float = 2, logit_bias: float | None = None,
            mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> BcosifiedNetwork:
    """The B-cos form of a zoo CNN or ViT (a copy; ``model`` is unchanged): ``[B, 6, H, W] -> [B, C]``.

    ``model``: an ECA-ResNet, Inception-v4 or DeiT of the zoo (pretrained or not). ``b``: the B of every
    B-cos layer (2 in the paper, fixed from the start). ``logit_bias``: default ``-log(C - 1)``.
    ``mean``/``std``: the 3-channel normalisation the model was trained with (default: its family's).
    Raises :class:`zoo.errors.ConfigError` for an unsupported model or layer.
    """
    layouts = _layouts()
    layout = next((v for k, v in layouts.items() if type(model) is k), None)
    if layout is None:
        raise ConfigError(f"bcosify supports {sorted(k.__name__ for k in layouts)} (conv/BN/ReLU networks with a "
                          f"global-average-pool head, and the plain ViT DeiT), got {type(model).__name__}")
    if not b >= 1:
        raise ConfigError(f"bcosify: b must be at least 1, got {b}")
    body = copy.deepcopy(model).eval()
    head = getattr(body, layout.classifier)
    if not isinstance(head, nn.Linear):
        raise ConfigError(f"bcosify: expected {layout.classifier!r} to be an nn.Linear, got {type(head).__name__}")
    setattr(body, layout.classifier, nn.Identity())
    stem = _first_conv(body)
    if stem.in_channels != 3:
        raise ConfigError(f"bcosify: the input encoding needs an RGB model (3 input channels), got {stem.in_channels}")
    # [W, -W] / 2 on [n, -n] gives back W n: the converted stem computes what the original did
    doubled = torch.cat([stem.weight, -stem.weight], 1).detach() / 2
    stem.in_channels = 6
    stem.weight = nn.Parameter(doubled)
    if hasattr(body, "in_chans"):
        body.in_chans = 6
    _convert(body, b)
    classifier = BcosifyConv2d.from_linear(head, b) if layout.pre_pool else BcosifyLinear.from_linear(head, b)
    num_classes = head.out_features
    bias = -math.log(num_classes - 1) if logit_bias is None else logit_bias
    normalize = InputNormalize(layout.mean if mean is None else mean, layout.std if std is None else std).to(
        device=stem.weight.device, dtype=stem.weight.dtype)
    net = BcosifiedNetwork(body, classifier, normalize, layout.features, bias, type(model).__name__,
                           layout.min_size, layout.pre_pool, layout.constants)
    return net.train(model.training)


# --------------------------------------------------------------------------------------------
# Fine-tuning
# --------------------------------------------------------------------------------------------


def uniform_off_labels_bce(logits: Tensor, target: Tensor, off_value: float | None = None) -> Tensor:
    """The authors' training loss: BCE with logits against one-hot targets whose zeros are raised to
    ``off_value`` (default ``1 / C``). ``logits`` ``[B, C]``, ``target`` class indices ``[B]`` or
    dense ``[B, C]``."""
    num_classes = logits.shape[-1]
    if target.shape != logits.shape:
        target = F.one_hot(target.long(), num_classes).to(logits.dtype)
    target = target.clamp(min=1.0 / num_classes if off_value is None else off_value)
    return F.binary_cross_entropy_with_logits(logits, target)


def _unitwise_norm(t: Tensor) -> Tensor:
    # one norm per output unit (row / filter); vectors and scalars as a whole
    if t.ndim <= 1:
        return torch.linalg.vector_norm(t)
    return torch.linalg.vector_norm(t, dim=tuple(range(1, t.ndim)), keepdim=True)


@torch.no_grad()
def adaptive_clip_grad_(parameters: Iterable[Tensor], clip_factor: float = AGC_CLIP_FACTOR,
                        eps: float = AGC_EPS) -> None:
    """Adaptive gradient clipping (Brock et al., arXiv:2102.06171), in place: each unit's gradient is
    scaled down to at most ``clip_factor · max(‖w‖, eps)`` of its weight's norm. (timm has it, but timm is
    no runtime dependency of zoo-vision: it needs torchvision.)"""
    for p in parameters:
        if p.grad is None:
            continue
        limit = _unitwise_norm(p).clamp_(min=eps) * clip_factor
        norm = _unitwise_norm(p.grad)
        scale = (limit / norm.clamp(min=1e-6)).clamp(max=1.0)
        p.grad.mul_(scale)


def finetune(net: BcosifiedNetwork, batches: Iterable[tuple[Tensor, Tensor]], *, steps: int,
             recipe: TrainRecipe = BCOSIFICATION_RECIPE, device: str | torch.device = "cpu") -> list[float]:
    """Fine-tune a B-cosified network with the paper's recipe: Adam (lr ``recipe.lr`` = 1e-4), cosine
    decay over ``steps`` optimiser steps (no warm-up), the uniform-off-label BCE, adaptive gradient
    clipping (0.01, eps 1e-3). For a B-cosified ViT pass ``BCOSIFICATION_VIT_RECIPE`` (lr 1e-3, a linear
    warm-up): the recipe's schedule, warm-up included, is laid over the ``steps`` given. ``batches``
    yield ``(images [B, 3, H, W] in [0, 1], labels [B])``, augmented as the caller wants (the paper:
    RandomResizedCrop 224 + flip; RandAugment and mixup too for ViTs); the ``[x, 1-x]`` encoding is
    applied here. Returns the loss of every step."""
    if steps < 1:
        raise TrainingError(f"finetune: steps must be positive, got {steps}")
    net.to(device).train()
    optimiser = torch.optim.Adam(net.parameters(), lr=recipe.lr, betas=(recipe.momentum, recipe.beta2),
                                 weight_decay=recipe.weight_decay)
    # the recipe's epochs mapped onto ``steps``: a warm-up keeps its share of the run
    per_epoch = steps / recipe.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: lr_factor(recipe, step, steps, per_epoch))
    losses: list[float] = []
    for images, labels in batches:
        if len(losses) == steps:
            break
        if images.ndim != 4 or images.shape[1] != 3:
            raise InputShapeError(f"finetune expects RGB images [B, 3, H, W] in [0, 1], got {list(images.shape)}")
        images = images.to(device)
        loss = uniform_off_labels_bce(net(torch.cat([images, 1 - images], 1)), labels.to(device))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        adaptive_clip_grad_(net.parameters())
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
    return losses
