"""LinearScope: the linear interpreter ``y = A(x) z + b(x)`` of a network at an input ``x``.

Navarrete Michelini, Liu, Lu & Jiang, "A Tour of Convolutional Networks Guided by Linear
Interpreters", ICCV 2019, arXiv:1908.05168. Every non-linear unit is replaced by the linear (affine) action it
applied to ``x``, which turns the network into an input-dependent affine map that reproduces
``f(x)`` at ``z = x``. The LinearScope "hooking layer" computes it with a doubled batch ``[x, z]``:
each non-linear unit computes its usual output on the first half and applies to the second half the
*gain* it used on the first; linear layers (convolutions, linear layers, biases, pooling by
averages, eval-mode batch norm) act on both halves as usual. The first half of the output is the
network's output, untouched; the second half is ``A(x) z + b(x)``.

The rules, per unit (``a`` the unit's input on the ``x`` half):

- ReLU: ``z · 1[a > 0]``; leaky ReLU: ``z · (1 if a > 0 else slope)``;
- any other pointwise ``σ`` (GELU, SiLU, sigmoid, tanh, hard-swish, ELU, ...): the affine
  ``z · (σ(a) - σ(0)) / a + σ(0)`` (its slope at 0 where ``a = 0``) — the gain ``σ(a)/a`` when
  ``σ(0) = 0``; for ``σ(0) ≠ 0`` (sigmoid) ``σ(a)/a`` is unbounded near 0, so we take the secant
  through ``(0, σ(0))`` and count ``σ(0)`` as a bias (our choice);
- max-pooling (plain or adaptive): ``z`` taken at the arg-max positions of ``a``;
- layer and group norm: ``z`` normalised with the mean and variance of ``a`` (an affine map);
- a channel gate ``x · g(x)`` (ECA, and the B-cosified gate): ``z · g(a)``.

The rules are applied at the level of ``torch`` functions (a :class:`torch.overrides.TorchFunctionMode`),
so a model calling ``torch.relu_`` or ``F.leaky_relu`` is covered as well as one with ``nn.ReLU``
modules; in-place activations are computed out of place (models use their return value). Gates are
rules on modules. Queries that return no tensor (sizes, dtypes) pass; any other operation on the
two halves that is not known to be linear and returns a tensor — a softmax,
a product of two activations (attention), a division by an activation, a batch norm in training
mode — raises :class:`zoo.errors.ExplainError` naming it. The network must keep the batch axis
first and not mix samples (eval mode, as the explainer sets).

Quantities (:func:`linear_interpreter`): ``b(x)`` is the second output at ``z = 0`` (the bias
contribution, which the paper finds classifiers rely on heavily); the rows of ``A(x)`` for a class
are the gradient of the second output with respect to ``z`` (input space, ``[B, C, H, W]``); and
``Σ_ch x · A(x)_row + b(x) = f(x)``.
"""

from __future__ import annotations

import contextlib
import inspect
import types
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from zoo.errors import ExplainError
from zoo.explainers.framework import Explanation, check_autograd_available, eval_mode, target_score
from zoo_vision.blocks.eca import EfficientChannelAttention

__all__ = ["LinearInterpretation", "linear_interpreter", "linearscope", "linearscope_forward"]

T = Tensor

_RELU = (F.relu, F.relu_, torch.relu, torch.relu_, T.relu, T.relu_)
_LEAKY = (F.leaky_relu, F.leaky_relu_)
_POINTWISE = (F.gelu, F.silu, F.elu, F.elu_, F.selu, F.celu, F.hardswish, F.hardsigmoid, F.mish, F.softplus,
              F.relu6, F.hardtanh, F.hardtanh_, F.sigmoid, F.tanh, F.logsigmoid, torch.sigmoid, torch.sigmoid_,
              T.sigmoid, T.sigmoid_, torch.tanh, torch.tanh_, T.tanh, T.tanh_)
# max-pooling and the variant returning the arg-max indices
_MAX_POOLS = {F.max_pool1d: F.max_pool1d_with_indices, F.max_pool2d: F.max_pool2d_with_indices,
              F.max_pool3d: F.max_pool3d_with_indices, F.adaptive_max_pool1d: F.adaptive_max_pool1d_with_indices,
              F.adaptive_max_pool2d: F.adaptive_max_pool2d_with_indices,
              F.adaptive_max_pool3d: F.adaptive_max_pool3d_with_indices}

# Linear in every activation argument (and acting on each sample alone): run on both halves as they are.
_LINEAR = frozenset({
    torch.conv1d, torch.conv2d, torch.conv3d, F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d,
    F.linear, F.avg_pool1d, F.avg_pool2d, F.avg_pool3d, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d,
    F.adaptive_avg_pool3d, F.pad, F.interpolate, F.pixel_shuffle, F.pixel_unshuffle, F.unfold, F.fold,
    torch.add, T.add, T.add_, T.__add__, T.__radd__, T.__iadd__, torch.sub, T.sub, T.sub_, T.__sub__, T.__rsub__,
    T.__isub__, torch.neg, T.neg, T.__neg__, T.__pos__, torch.cat, torch.concat, torch.stack,
    T.view, T.view_as, T.reshape, T.reshape_as, torch.reshape, T.flatten, torch.flatten, T.unflatten, T.permute,
    torch.permute, T.transpose, torch.transpose, T.contiguous, T.unsqueeze, torch.unsqueeze, T.squeeze,
    torch.squeeze, T.expand, T.expand_as, T.__getitem__, T.__setitem__, T.chunk, torch.chunk, T.split,
    torch.split, T.narrow, T.mean, torch.mean, T.sum, torch.sum, T.clone, torch.clone, T.to, T.float,
    T.double, T.type_as, T.copy_, torch.roll, torch.flip, T.flip, T.repeat, T.repeat_interleave,
})
# Products: linear when at most one factor carries the activations.
_PRODUCTS = frozenset({torch.mul, T.mul, T.mul_, T.__mul__, T.__rmul__, T.__imul__, torch.matmul, T.matmul,
                       T.__matmul__, T.__rmatmul__, torch.mm, torch.bmm, torch.einsum})
# Divisions: linear when only the numerator (the first argument) carries the activations.
_DIVISIONS = frozenset({torch.div, T.div, T.div_, T.__truediv__, T.__itruediv__})
# Linear only at inference (training-mode batch norm mixes the two halves' statistics, dropout is random).
_EVAL_ONLY = {F.batch_norm: 5, F.dropout: 2, F.dropout1d: 2, F.dropout2d: 2, F.dropout3d: 2,
              F.alpha_dropout: 2}


def _name(func: Any) -> str:
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    owner, _, short = qualname.rpartition(".")
    if owner in ("TensorBase", "Tensor"):
        return f"torch.Tensor.{short}"
    if owner == "_VariableFunctionsClass":
        return f"torch.{short}"
    return f"{getattr(func, '__module__', None) or 'torch'}.{qualname}"


def _tensors(args: tuple, kwargs: dict) -> Iterator[tuple[int | str, Tensor]]:
    for key, value in (*enumerate(args), *kwargs.items()):
        if isinstance(value, Tensor):
            yield key, value
        elif isinstance(value, (list, tuple)):
            yield from ((key, v) for v in value if isinstance(v, Tensor))


def _halves(a: Tensor, func: Any) -> tuple[Tensor, Tensor]:
    if a.ndim == 0 or a.shape[0] % 2:
        raise ExplainError(f"linearscope: {_name(func)} got a tensor of shape {list(a.shape)} whose first axis is "
                           "not the doubled batch; the network must keep the batch axis first")
    half = a.shape[0] // 2
    return a[:half], a[half:]


class _Scope(TorchFunctionMode):
    """Applies the LinearScope rules to every ``torch`` function that sees the doubled activations."""

    def __init__(self) -> None:
        super().__init__()
        self._streams: dict[int, weakref.ref] = {}
        self.paused = False
        self._zero_cache: dict[Any, tuple[float, float]] = {}

    def mark(self, out: Any) -> None:
        """Remember ``out``'s tensors as carrying the activations of the two halves."""
        for t in (out if isinstance(out, (tuple, list)) else (out,)):
            if isinstance(t, Tensor):
                key = id(t)
                self._streams[key] = weakref.ref(t, lambda _, key=key: self._streams.pop(key, None))

    def _is_stream(self, t: Tensor) -> bool:
        ref = self._streams.get(id(t))
        return ref is not None and ref() is t

    def __torch_function__(self, func, types_, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.paused:
            return func(*args, **kwargs)
        streams = [key for key, t in _tensors(args, kwargs) if self._is_stream(t)]
        if not streams:
            return func(*args, **kwargs)
        if func in _RELU or func in _LEAKY:
            out = self._gain(func, args, kwargs)
        elif func in _POINTWISE:
            out = self._pointwise(func, args, kwargs)
        elif func in _MAX_POOLS:
            out = self._max_pool(func, args, kwargs)
        elif func in (F.layer_norm, F.group_norm):
            out = self._norm(func, args, kwargs)
        else:
            known = self._check_linear(func, args, kwargs, streams)
            out = func(*args, **kwargs)
            if not known:
                # a query that returns no tensor (a size, a device, a Python number) passes
                if any(isinstance(t, Tensor) for t in (out if isinstance(out, (tuple, list)) else (out,))):
                    raise ExplainError(
                        f"linearscope: no linear-interpreter rule for {_name(func)} on the activations (supported "
                        "non-linearities: ReLU, leaky ReLU, pointwise activations, max-pooling, layer/group norm, "
                        "channel gates)")
                return out
            if func is T.__setitem__:
                self.mark(args[0])
        self.mark(out)
        return out

    def _check_linear(self, func: Any, args: tuple, kwargs: dict, streams: list) -> bool:
        """True for a function known to be linear here; raises for a known non-linear use; False if unknown."""
        if func in _LINEAR:
            return True
        if func in _PRODUCTS:
            factors = [k for k in streams if k != 0] if func is torch.einsum else streams
            if len(factors) > 1:
                raise ExplainError(f"linearscope: {_name(func)} multiplies two activations (a bilinear unit); "
                                   "only products with one activation factor are linear")
            return True
        if func in _DIVISIONS:
            if any(k != 0 for k in streams):
                raise ExplainError(f"linearscope: {_name(func)} divides by an activation, which is not linear")
            return True
        if func in _EVAL_ONLY:
            position = _EVAL_ONLY[func]
            training = args[position] if len(args) > position else kwargs.get("training", False)
            if training:
                raise ExplainError(f"linearscope: {_name(func)} in training mode mixes the batch; use eval mode")
            return True
        return False

    def _gain(self, func: Any, args: tuple, kwargs: dict) -> Tensor:
        a = args[0]
        xa, _ = _halves(a, func)
        if func in _LEAKY:
            slope = args[1] if len(args) > 1 else kwargs.get("negative_slope", 0.01)
            gain = torch.where(xa > 0, 1.0, slope).to(a.dtype)
        else:
            gain = (xa > 0).to(a.dtype)
        # x·1 and x·slope are what the activation itself returns on the first half
        return a * torch.cat([gain, gain])

    def _at_zero(self, func: Any, rest: tuple, kwargs: dict, dtype: torch.dtype) -> tuple[float, float]:
        """``σ(0)`` and ``σ'(0)`` of a pointwise function with its options (cached)."""
        key = (func, rest, tuple(sorted(kwargs.items())), dtype)
        if key not in self._zero_cache:
            with torch.enable_grad():
                zero = torch.zeros((), dtype=dtype, requires_grad=True)
                value = func(zero * 1, *rest, **kwargs)  # * 1: in-place variants may not write to a leaf
                (slope,) = torch.autograd.grad(value, zero)
            self._zero_cache[key] = (value.item(), slope.item())
        return self._zero_cache[key]

    def _pointwise(self, func: Any, args: tuple, kwargs: dict) -> Tensor:
        a, rest = args[0], tuple(args[1:])
        xa, za = _halves(a, func)
        in_place = getattr(func, "__name__", "").endswith("_") or kwargs.get("inplace") or True in rest
        out_x = func(xa.clone() if in_place else xa, *rest, **kwargs)
        at_zero, slope = self._at_zero(func, rest, kwargs, a.dtype)
        # the secant through (0, σ(0)): σ(x) = gain·x + σ(0) on the first half; the slope at 0 where x = 0
        gain = torch.where(xa == 0, slope, (out_x - at_zero) / torch.where(xa == 0, 1.0, xa))
        return torch.cat([out_x, gain * za + at_zero])

    def _norm(self, func: Any, args: tuple, kwargs: dict) -> Tensor:
        """Layer/group norm: the second half is normalised with the first half's mean and variance."""
        bound = inspect.signature(func).bind(*args, **kwargs)
        bound.apply_defaults()
        options = dict(bound.arguments)
        a = options.pop("input")
        weight, bias, eps = options["weight"], options["bias"], options["eps"]
        if any(self._is_stream(t) for t in (weight, bias) if isinstance(t, Tensor)):
            raise ExplainError(f"linearscope: {_name(func)} with an activation as its weight or bias is not linear")
        xa, za = _halves(a, func)
        out_x = func(xa, **options)
        if func is F.layer_norm:
            dims = tuple(range(-len(options["normalized_shape"]), 0))
            var, mean = torch.var_mean(xa, dim=dims, unbiased=False, keepdim=True)
            out_z = (za - mean) / torch.sqrt(var + eps)
            affine_shape = (1,) * (a.ndim - len(dims)) + tuple(options["normalized_shape"])
        else:
            groups = za.unflatten(1, (options["num_groups"], -1))
            var, mean = torch.var_mean(xa.unflatten(1, (options["num_groups"], -1)),
                                       dim=tuple(range(2, groups.ndim)), unbiased=False, keepdim=True)
            out_z = ((groups - mean) / torch.sqrt(var + eps)).reshape(za.shape)
            affine_shape = (1, -1) + (1,) * (a.ndim - 2)
        if weight is not None:
            out_z = out_z * weight.reshape(affine_shape)
        if bias is not None:
            out_z = out_z + bias.reshape(affine_shape)
        return torch.cat([out_x, out_z])

    def _max_pool(self, func: Any, args: tuple, kwargs: dict) -> Any:
        with_indices = _MAX_POOLS[func]
        bound = inspect.signature(with_indices).bind(*args, **kwargs)
        wanted = bound.arguments.pop("return_indices", False)
        a = bound.arguments.pop("input")
        xa, za = _halves(a, func)
        out_x, indices = with_indices(xa, **bound.arguments)
        # indices are flat over each (sample, channel) plane: gather the second half's values there
        out_z = za.flatten(2).gather(2, indices.flatten(2)).view_as(out_x)
        out = torch.cat([out_x, out_z])
        return (out, torch.cat([indices, indices])) if wanted else out


def _gate_forward(scope: _Scope):
    """A gated module's forward in the scope: the gate ``g`` of the first half scales both halves."""

    def forward(module: nn.Module, x: Tensor) -> Tensor:
        xa, _ = _halves(x, type(module))
        scope.paused = True
        try:
            gate = module.gate(xa.detach())
        finally:
            scope.paused = False
        return x * torch.cat([gate, gate])

    return forward


def _gated_types() -> tuple[type, ...]:
    from zoo_vision.bcosification import DetachableGate

    return EfficientChannelAttention, DetachableGate


@contextlib.contextmanager
def _scoped(model: nn.Module) -> Iterator[_Scope]:
    scope = _Scope()
    gated = _gated_types()
    patched = [(m, vars(m).get("forward")) for m in model.modules() if type(m) in gated]
    for m, _ in patched:
        m.forward = types.MethodType(_gate_forward(scope), m)
    try:
        with eval_mode(model), scope:
            yield scope
    finally:
        for m, previous in patched:
            del m.forward
            if previous is not None:
                m.forward = previous


def linearscope_forward(model: nn.Module, x: Tensor, z: Tensor) -> tuple[Any, Any]:
    """``(f(x), A(x) z + b(x))``: one forward of the doubled batch ``[x, z]`` (both ``[B, ...]``) in
    eval mode, with every non-linear unit linearised at ``x`` (see the module docstring)."""
    if not isinstance(x, Tensor) or not isinstance(z, Tensor) or x.shape != z.shape or x.ndim < 1:
        raise ExplainError(f"linearscope takes x and z of the same shape [B, ...], got "
                           f"{getattr(x, 'shape', type(x).__name__)} and {getattr(z, 'shape', type(z).__name__)}")
    batch = x.shape[0]
    doubled = torch.cat([x, z])
    with _scoped(model) as scope:
        scope.mark(doubled)
        out = model(doubled)
    if not isinstance(out, Tensor) or out.ndim < 1 or out.shape[0] != 2 * batch:
        raise ExplainError(f"linearscope needs a model returning one tensor with the batch first, got "
                           f"{getattr(out, 'shape', type(out).__name__)}")
    return out[:batch], out[batch:]


@dataclass
class LinearInterpretation:
    """The linear interpreter of a batch: ``output`` ``f(x)`` and ``bias`` ``b(x)``, both
    ``[B, num_classes]``; ``rows``: the targets' rows of ``A(x)`` in input space, ``[B, C, H, W]``
    like ``x``; ``contributions``: ``Σ_ch x · rows`` ``[B, H, W]``, which sums to
    ``output[target] - bias[target]``."""

    output: Tensor
    bias: Tensor
    rows: Tensor
    contributions: Tensor
    targets: Tensor | None


def linear_interpreter(model: nn.Module, x: Tensor, targets: Any = None) -> LinearInterpretation:
    """``b(x)`` and the target rows of ``A(x)`` of ``model`` at ``x`` ``[B, C, H, W]``, from one
    doubled forward (with ``z = 0``) and one backward. ``targets``: None (the predicted classes), an
    int, one int per sample, or a callable giving one score per sample."""
    check_autograd_available("linearscope")
    if not isinstance(x, Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ExplainError(f"linearscope takes a float image batch [B, C, H, W], got "
                           f"{list(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    z = torch.zeros_like(x, requires_grad=True)
    with torch.enable_grad():
        output, bias = linearscope_forward(model, x.detach(), z)
        _, indices = target_score(output.detach(), targets) if not callable(targets) else (None, None)
        score = targets(bias) if indices is None else bias.gather(1, indices[:, None])[:, 0]
        (rows,) = torch.autograd.grad(score.sum(), z)
    return LinearInterpretation(output.detach(), bias.detach(), rows, (rows * x.detach()).sum(1), indices)


def linearscope(model: nn.Module, x: Tensor, *, target_layer: Any = None, targets: Any = None,
                reshape: Any = None) -> Explanation:
    """The positive part of the linear-interpreter contributions ``Σ_ch x · A(x)_row`` divided by
    its maximum: maps ``[B, H, W]`` in [0, 1]. The bias ``b(x)`` and the raw rows:
    :func:`linear_interpreter`."""
    if target_layer is not None:
        raise ExplainError("linearscope explains the input; it takes no target_layer")
    result = linear_interpreter(model, x, targets)
    maps = result.contributions.relu()
    peak = maps.flatten(1).amax(1).clamp_min(torch.finfo(maps.dtype).tiny)[:, None, None]
    return Explanation(maps / peak, "linearscope", None, result.targets)
