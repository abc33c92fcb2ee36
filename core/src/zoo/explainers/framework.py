"""The explainer framework: target layers, activation capture, targets, maps and :class:`Explanation`.

Every CAM-family method in zoo reduces to one function ``cam(acts, grads, mask) -> raw map`` on a
canonical *grid view* of the target layer: ``acts`` and ``grads`` of shape ``[M, C, *S]`` (``S``
one, two or three spatial axes). This module turns whatever the layer produced into that view:

- CNN feature maps ``[B, C, H, W]`` / volumes ``[B, C, D, H, W]`` are used as they are;
- transformer tokens ``[B, N, C]`` go through the model's ``explain_reshape`` (declared once in
  its :class:`zoo.ModelSpec`, see :mod:`zoo.explainers.reshapes`);
- time-stepped (spiking) models: a layer called once per time step gives ``T`` activations, and a
  reshape may return :class:`TimeSteps` for a layer that sees all steps at once; maps are
  computed per step and averaged over time;
- sparse point/voxel models: a reshape returns :class:`Points` (``[N_active, C]`` features and
  the sample index of each row); they are padded to ``[B, C, N_max]`` with a validity mask, and
  the map is returned per point.

Speed and memory (the reasons behind the capture design): the forward pass runs without autograd
up to the first target layer, whose output becomes a fresh leaf that requires grad; the backward
pass is ``torch.autograd.grad(score, layer_output)``, so it stops at the target layer and computes
no parameter gradient. Nothing that references the graph survives the call.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.building import call_model
from zoo.errors import ExplainError, suggest

# Epsilon of pytorch-grad-cam's min-max scaling, kept for numerical parity with it.
NORM_EPS = 1e-7


# --------------------------------------------------------------------------------------------
# Layer views
# --------------------------------------------------------------------------------------------


@dataclass
class TimeSteps:
    """Activations of a layer that processes all time steps at once: ``tensor`` is ``[T, B, C, *S]``.

    Return it from an ``explain_reshape`` function (e.g. :func:`zoo.explainers.reshapes.time_major`).
    """

    tensor: Tensor


@dataclass
class Points:
    """Sparse per-point / per-voxel activations.

    ``features``: ``[N_active, C]``; ``batch``: ``[N_active]`` int64, the sample each row belongs
    to; ``coords`` (optional, ``[N_active, D]``) is carried through to the explanation for plotting.
    """

    features: Tensor
    batch: Tensor
    coords: Tensor | None = None


@dataclass
class GridView:
    """The canonical view of one target layer.

    ``acts``/``grads``: ``[T, B, C, *S]`` (``T`` = 1 without a time axis). For points only:
    ``mask`` ``[B, N_max]`` (False at padding), ``point_index`` (sample, position) of each original
    row, ``coords`` as given by the model's :class:`Points`.
    """

    acts: Tensor
    grads: Tensor | None
    mask: Tensor | None = None
    point_index: tuple[Tensor, Tensor] | None = None
    coords: Tensor | None = None


def _points_to_grid(features: Tensor, batch: Tensor) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor]]:
    """``[N, C]`` rows with sample ids -> padded ``[B, C, N_max]``, mask ``[B, N_max]``, placement."""
    if batch.ndim != 1 or batch.shape[0] != features.shape[0]:
        raise ExplainError(f"Points.batch must be [N_active]={features.shape[0]}, got {list(batch.shape)}")
    batch = batch.long()
    num = int(batch.max()) + 1 if batch.numel() else 0
    counts = torch.bincount(batch, minlength=num)
    # Position of each row inside its sample: rank among rows of the same sample, in order.
    order = torch.argsort(batch, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    position = torch.empty_like(batch)
    position[order] = torch.arange(batch.numel(), device=batch.device) - starts[batch[order]]
    width = int(counts.max()) if num else 0
    grid = features.new_zeros(num, width, features.shape[1])
    grid[batch, position] = features
    mask = torch.zeros(num, width, dtype=torch.bool, device=features.device)
    mask[batch, position] = True
    return grid.transpose(1, 2), mask, (batch, position)


def _as_view_parts(value: Any, layer_name: str) -> tuple[str, Any]:
    """Classify what a reshape (or the layer itself) produced."""
    if isinstance(value, Points):
        return "points", value
    if isinstance(value, TimeSteps):
        return "time", value.tensor
    if isinstance(value, Tensor):
        return "grid", value
    raise ExplainError(
        f"target layer {layer_name!r} produced a {type(value).__name__}, not a tensor; declare an "
        "explain_reshape that returns a tensor [B, C, *S], zoo.explainers.TimeSteps or zoo.explainers.Points"
    )


# --------------------------------------------------------------------------------------------
# Target layers
# --------------------------------------------------------------------------------------------


def _model_spec(model: nn.Module):
    from zoo.registry import get_registry

    return get_registry().model_spec_for(model)


def find_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule at a dotted path as in ``named_modules()``; ``blocks[-1].norm1`` and
    ``blocks.-1.norm1`` index sequences from the end."""
    path = re.sub(r"\[(-?\d+)\]", r".\1", name).strip(".")
    module = model
    for part in path.split(".") if path else []:
        child = None
        if re.fullmatch(r"-?\d+", part) and isinstance(module, (nn.Sequential, nn.ModuleList)):
            index = int(part)
            if -len(module) <= index < len(module):
                child = module[index]
        else:
            child = module._modules.get(part)
        if child is None:
            names = [n for n, _ in model.named_modules() if n]
            hint = suggest(name, names) or names[-8:]
            raise ExplainError(
                f"target layer {name!r} not found in {type(model).__name__}; "
                f"close names: {', '.join(repr(n) for n in hint)}"
            )
        module = child
    return module


def resolve_target_layers(model: nn.Module, target_layer: Any) -> list[tuple[str, nn.Module]]:
    """``target_layer`` (a name, a module, or a list of them; None = the ModelSpec's
    ``explain_layer``) -> ``[(name, module), ...]``."""
    if target_layer is None:
        spec = _model_spec(model)
        if spec is None or not spec.explain_layer:
            convs = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d))]
            hint = f" (its last conv layers: {', '.join(repr(n) for n in convs[-3:])})" if convs else ""
            raise ExplainError(
                f"{type(model).__name__} declares no explain_layer in a zoo ModelSpec; pass target_layer= "
                f"a submodule name or module{hint}"
            )
        target_layer = spec.explain_layer
    layers = list(target_layer) if isinstance(target_layer, (list, tuple)) else [target_layer]
    if not layers:
        raise ExplainError("target_layer is an empty list")
    names_by_module = {id(m): n for n, m in model.named_modules()}
    resolved = []
    for layer in layers:
        if isinstance(layer, str):
            resolved.append((layer, find_layer(model, layer)))
        elif isinstance(layer, nn.Module):
            if id(layer) not in names_by_module:
                raise ExplainError(f"target layer {type(layer).__name__} is not a submodule of {type(model).__name__}")
            resolved.append((names_by_module[id(layer)] or "<model>", layer))
        else:
            raise ExplainError(f"target_layer must be a module name or an nn.Module, got {type(layer).__name__}")
    return resolved


def resolve_reshape(model: nn.Module, reshape: Any) -> Callable | None:
    """``reshape``: a callable, a ``"module:function"`` string, False (none), or None (the
    ModelSpec's ``explain_reshape``)."""
    if reshape is False:
        return None
    if reshape is None:
        spec = _model_spec(model)
        reshape = spec.explain_reshape if spec is not None else None
        if reshape is None:
            return None
    if isinstance(reshape, str):
        from zoo.specs import resolve

        return resolve(reshape)
    if callable(reshape):
        return reshape
    raise ExplainError(f"reshape must be a callable or a 'module:function' string, got {type(reshape).__name__}")


# --------------------------------------------------------------------------------------------
# Running the model
# --------------------------------------------------------------------------------------------


def first_tensor(x: Any) -> Tensor | None:
    if isinstance(x, Tensor):
        return x
    values = x.values() if isinstance(x, Mapping) else x if isinstance(x, (tuple, list)) else ()
    for value in values:
        if isinstance(value, Tensor):
            return value
    return None


def model_logits(output: Any) -> Tensor:
    """The tensor of class scores inside a model's output."""
    if isinstance(output, Tensor):
        return output
    if isinstance(output, Mapping):
        for key in ("logits", "out", "output"):
            if isinstance(output.get(key), Tensor):
                return output[key]
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], Tensor):
        return output[0]
    if isinstance(getattr(output, "logits", None), Tensor):
        return output.logits
    raise ExplainError(
        f"cannot find class scores in the model output ({type(output).__name__}); pass targets= a "
        "callable mapping the output to one score per sample"
    )


def class_scores(logits: Tensor) -> Tensor:
    """``[B, K]`` scores: segmentation outputs ``[B, K, *S]`` are summed over their spatial axes."""
    if logits.ndim < 2:
        raise ExplainError(
            f"model output has shape {list(logits.shape)}; class targets need [B, K] or [B, K, *S] "
            "(pass targets= a callable returning one score per sample)"
        )
    return logits.flatten(2).sum(-1) if logits.ndim > 2 else logits


def target_indices(scores: Tensor, targets: Any) -> Tensor:
    """``targets`` (None = predicted class, an int, or one int per sample) -> int64 ``[B]``."""
    batch = scores.shape[0]
    if targets is None:
        return scores.argmax(-1)
    if isinstance(targets, int):
        indices = torch.full((batch,), targets, dtype=torch.long, device=scores.device)
    else:
        indices = torch.as_tensor(targets, dtype=torch.long).to(scores.device).reshape(-1)
        if indices.numel() != batch:
            # pytorch-grad-cam zips targets with the batch and silently leaves the rest unexplained.
            raise ExplainError(f"targets has {indices.numel()} entries for a batch of {batch}: "
                               "give one per sample or a single int")
    if indices.numel() and (indices.min() < 0 or indices.max() >= scores.shape[-1]):
        raise ExplainError(f"targets {indices.tolist()} out of range for {scores.shape[-1]} classes")
    return indices


def target_score(output: Any, targets: Any) -> tuple[Tensor, Tensor | None]:
    """One differentiable score per sample (the target's logit) and the target indices."""
    if callable(targets):
        score = targets(output)
        if not isinstance(score, Tensor) or score.ndim != 1:
            raise ExplainError("a targets callable must return a 1-D tensor with one score per sample")
        return score, None
    scores = class_scores(model_logits(output))
    indices = target_indices(scores.detach(), targets)
    return scores.gather(1, indices[:, None])[:, 0], indices


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Evaluate in eval mode (samples independent, BN/dropout frozen), restoring every module's mode."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, mode in modes:
            module.training = mode


class _Capture:
    """Forward hooks on the target layers; the records hold each call's output (or reshaped view)."""

    def __init__(self, layers: list[tuple[str, nn.Module]], reshape: Callable | None, *, need_grad: bool,
                 start_grad: bool):
        self.layers = layers
        self.reshape = reshape
        self.need_grad = need_grad
        self.start_grad = start_grad
        self.records: list[list[tuple[str, Any, Tensor]]] = [[] for _ in layers]
        self.handles: list[Any] = []

    def __enter__(self) -> _Capture:
        for index, (_, module) in enumerate(self.layers):
            self.handles.append(module.register_forward_hook(self._hook(index)))
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def _hook(self, index: int):
        name = self.layers[index][0]

        def hook(module, args, output):
            if self.start_grad:
                # Everything before the first target layer ran without autograd; record from here.
                torch.set_grad_enabled(True)
            if isinstance(output, Tensor):
                if self.need_grad and not output.requires_grad:
                    output = output.detach().requires_grad_()
                self.records[index].append(("tensor", output, output))
                return output
            # A non-tensor output (e.g. a sparse tensor object): the reshape extracts the features,
            # which are then the leaf we differentiate against.
            view = output if self.reshape is None else self.reshape(output)
            kind, value = _as_view_parts(view, name)
            leaf = value.features if kind == "points" else value
            if self.need_grad and not leaf.requires_grad:
                leaf.requires_grad_()
            self.records[index].append(("view", view, leaf))
            return None

        return hook


def _view_of(record_kind: str, obj: Any, grad: Tensor | None, reshape: Callable | None, name: str):
    """(kind, activation view, gradient view) of one recorded call."""
    if record_kind == "tensor":
        act = obj.detach()
        if reshape is not None:
            act_view, grad_view = reshape(act), reshape(grad) if grad is not None else None
        else:
            act_view, grad_view = act, grad
    else:
        act_view = obj
        grad_view = None
        if grad is not None:
            kind, value = _as_view_parts(obj, name)
            if kind == "points":
                grad_view = Points(grad, value.batch, value.coords)
            elif kind == "time":
                grad_view = TimeSteps(grad)
            else:
                grad_view = grad
    kind, act_value = _as_view_parts(act_view, name)
    grad_value = None if grad_view is None else _as_view_parts(grad_view, name)[1]
    if kind == "points":
        return kind, Points(act_value.features.detach(), act_value.batch, act_value.coords), grad_value
    return kind, act_value.detach(), grad_value


def _build_view(name: str, records: list[tuple[str, Any, Tensor]], grads: Sequence[Tensor | None],
                reshape: Callable | None) -> GridView:
    parts = [_view_of(kind, obj, g, reshape, name) for (kind, obj, _), g in zip(records, grads)]
    kinds = {p[0] for p in parts}
    if len(kinds) > 1:
        raise ExplainError(f"target layer {name!r} produced inconsistent outputs across calls: {sorted(kinds)}")
    kind = kinds.pop()
    if kind == "points":
        if len(parts) > 1:
            raise ExplainError(f"target layer {name!r}: time-stepped point activations are not supported")
        points, grad = parts[0][1], parts[0][2]
        acts, mask, index = _points_to_grid(points.features, points.batch)
        grad_grid = None if grad is None else _points_to_grid(grad.features, points.batch)[0]
        return GridView(acts[None], None if grad_grid is None else grad_grid[None], mask, index, points.coords)
    if kind == "time":
        if len(parts) > 1:
            raise ExplainError(f"target layer {name!r} returned TimeSteps on several calls")
        acts, grad = parts[0][1], parts[0][2]
    else:
        # One call per time step (a loop over T inside forward) stacks into the time axis.
        acts = torch.stack([p[1] for p in parts])
        grad = None if parts[0][2] is None else torch.stack([p[2] for p in parts])
    if acts.ndim < 4:
        raise ExplainError(
            f"target layer {name!r} gives activations of shape {list(acts.shape[1:])}; CAM methods need "
            "[B, C, *spatial] — declare an explain_reshape for token outputs (e.g. "
            "zoo.explainers.reshapes:vit_tokens) or Points for sparse models"
        )
    return GridView(acts, grad)


def check_autograd_available(method: str) -> None:
    if torch.is_inference_mode_enabled():
        raise ExplainError(f"{method} needs gradients, which torch.inference_mode() forbids; call it outside "
                           "inference mode (torch.no_grad() is fine) or use eigen-cam")


@dataclass
class Capture:
    """What one forward (and backward) pass left: one :class:`GridView` per target layer."""

    views: list[GridView]
    names: list[str]
    targets: Tensor | None


def capture(model: nn.Module, x: Any, layers: list[tuple[str, nn.Module]], *, reshape: Callable | None,
            targets: Any, need_grad: bool, method: str) -> Capture:
    """Run ``model`` on ``x`` and return the target layers' activations (and the gradients of the
    target score with respect to them when ``need_grad``)."""
    if need_grad:
        check_autograd_available(method)
    for attempt_truncated in (True, False) if need_grad else (False,):
        hooks = _Capture(layers, reshape, need_grad=need_grad, start_grad=attempt_truncated)
        with eval_mode(model), hooks as cap:
            with torch.set_grad_enabled(need_grad and not attempt_truncated):
                output = call_model(model, x)
                if need_grad:
                    # The hooks switched autograd on; re-enable it explicitly in case the model
                    # restored a no_grad state after the target layer.
                    torch.set_grad_enabled(True)
                    score, indices = target_score(output, targets)
                    # Samples are independent in eval mode: the sum's gradient is each one's own.
                    score = score.sum()
                else:
                    score, indices = None, None
                    if not callable(targets) and not _is_class_agnostic_output(output):
                        indices = target_indices(class_scores(model_logits(output)), targets)
            records = cap.records
        for (name, _), layer_records in zip(layers, records):
            if not layer_records:
                raise ExplainError(f"target layer {name!r} was not called during the forward pass")
        leaves = [leaf for layer_records in records for (_, _, leaf) in layer_records]
        if not need_grad:
            grads: list[Tensor | None] = [None] * len(leaves)
            break
        if score.requires_grad and any(leaf.requires_grad for leaf in leaves):
            grads = list(torch.autograd.grad(score, leaves, allow_unused=True))
            del score, output
            break
        del score, output
    else:
        raise ExplainError(
            f"{method}: the target score does not depend differentiably on the target layer "
            "(is part of forward under torch.no_grad, or does a spiking layer lack a surrogate gradient?)"
        )
    if need_grad and all(g is None for g in grads):
        raise ExplainError(f"{method}: the target score does not depend on the target layer's output")
    views, position = [], 0
    for (name, _), layer_records in zip(layers, records):
        layer_grads = grads[position:position + len(layer_records)]
        position += len(layer_records)
        layer_grads = [torch.zeros_like(leaf) if g is None and need_grad else g
                       for (_, _, leaf), g in zip(layer_records, layer_grads)]
        views.append(_build_view(name, layer_records, layer_grads, reshape))
    return Capture(views, [n for n, _ in layers], indices)


def _is_class_agnostic_output(output: Any) -> bool:
    try:
        class_scores(model_logits(output))
    except ExplainError:
        return True
    return False


# --------------------------------------------------------------------------------------------
# Maps
# --------------------------------------------------------------------------------------------


def normalize_maps(maps: Tensor, mask: Tensor | None = None, mode: str = "minmax") -> Tensor:
    """Per-sample scaling of ``[B, *S]`` maps to [0, 1]: ``(m - min) / (1e-7 + max(m - min))``
    (pytorch-grad-cam's rule) or ``m / (1e-7 + max(m))`` for ``mode="max"``; masked positions
    (padding of point clouds) are ignored and set to 0."""
    flat = maps.flatten(1)
    valid = None if mask is None else mask.flatten(1)
    if mode == "minmax":
        low = flat if valid is None else flat.masked_fill(~valid, math.inf)
        flat = flat - low.min(1, keepdim=True).values
    elif mode != "max":
        raise ExplainError(f"normalize must be 'minmax' or 'max', got {mode!r}")
    high = flat if valid is None else flat.masked_fill(~valid, -math.inf)
    flat = flat / (NORM_EPS + high.max(1, keepdim=True).values)
    if valid is not None:
        flat = flat.masked_fill(~valid, 0.0)
    return flat.reshape(maps.shape)


def upsample(maps: Tensor, size: Sequence[int]) -> Tensor:
    """``[B, *S]`` -> ``[B, *size]``: (bi/tri)linear, ``align_corners=False`` — equal to OpenCV's
    INTER_LINEAR resize used by pytorch-grad-cam for 2-D maps (to ~2e-6)."""
    size = tuple(int(s) for s in size)
    if tuple(maps.shape[1:]) == size:
        return maps
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}.get(len(size))
    if mode is None or len(size) != maps.ndim - 1:
        raise ExplainError(f"cannot resize maps of shape {list(maps.shape[1:])} to {list(size)}")
    return F.interpolate(maps[:, None], size=size, mode=mode, align_corners=False)[:, 0]


def output_size(x: Any, spatial_ndim: int, size: Sequence[int] | None) -> tuple[int, ...] | None:
    """The size maps are upsampled to: ``size`` if given, else the last spatial axes of the input."""
    if size is not None:
        size = (size,) * spatial_ndim if isinstance(size, int) else tuple(size)
        if len(size) != spatial_ndim:
            raise ExplainError(f"size {list(size)} does not match the {spatial_ndim}-D maps")
        return size
    tensor = first_tensor(x)
    if tensor is None or tensor.ndim < spatial_ndim + 2:
        return None
    if spatial_ndim == 1 and tensor.ndim >= 4:
        # [B, C, L] activations for an image or volume input are transformer tokens [B, N, C],
        # which are indistinguishable from a 1-D feature map by shape alone.
        raise ExplainError(
            f"the target layer gives 1-D maps for a {tensor.ndim - 2}-D input: token outputs [B, N, C] need an "
            "explain_reshape (e.g. zoo.explainers.reshapes:vit_tokens), or pass size= for a true 1-D map"
        )
    return tuple(tensor.shape[-spatial_ndim:])


def finish_maps(raw: list[Tensor], views: list[GridView], x: Any, *, size=None, normalize: str = "minmax"):
    """Raw per-layer maps ``[T, B, *S]`` -> final ``[B, *size]`` in [0, 1] (or per point).

    As pytorch-grad-cam: ReLU, scale each layer's map, resize, average the layers, scale again.
    A time axis is averaged after the ReLU.
    """
    layer_maps = []
    point_view = None
    for cam, view in zip(raw, views):
        cam = torch.relu(cam).mean(0)
        cam = normalize_maps(cam, view.mask, normalize)
        if view.point_index is not None:
            point_view = view
        else:
            target = output_size(x, cam.ndim - 1, size)
            if target is not None:
                cam = upsample(cam, target)
        layer_maps.append(cam)
    if point_view is not None:
        if len(layer_maps) > 1:
            raise ExplainError("several target layers are not supported for point/voxel activations")
        batch, position = point_view.point_index
        return layer_maps[0][batch, position], batch, point_view.coords
    shapes = {m.shape for m in layer_maps}
    if len(shapes) > 1:
        raise ExplainError(f"target layers give maps of different shapes {sorted(map(list, shapes))}; pass size=")
    stacked = torch.stack(layer_maps).mean(0)
    return normalize_maps(stacked, None, normalize), None, None


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


def require_matplotlib(what: str):
    """matplotlib, or an error naming the extra that installs it (zoo-core does not depend on it)."""
    try:
        import matplotlib
    except ModuleNotFoundError:
        from zoo.errors import MissingDependencyError

        raise MissingDependencyError(
            f"{what} needs matplotlib, which zoo-core installs only with its explain extra: "
            "pip install 'zoo-core[explain]' (or pip install matplotlib)"
        ) from None
    return matplotlib


@dataclass
class Explanation:
    """An explanation of a batch.

    ``maps``: ``[B, *S]`` float in [0, 1], upsampled to the input's spatial size (``[B, H, W]``
    for images, ``[B, D, H, W]`` for volumes); for point/voxel models ``[N_active]`` with the
    sample of each point in ``batch``. ``targets``: the explained class per sample (None for a
    class-agnostic method on a model without class scores).
    """

    maps: Tensor
    method: str
    target_layer: str | list[str] | None = None
    targets: Tensor | None = None
    batch: Tensor | None = None
    coords: Tensor | None = None

    def __len__(self) -> int:
        return int(self.batch.max()) + 1 if self.batch is not None and self.batch.numel() else self.maps.shape[0]

    def _grid_maps(self, slice_index: int | None) -> Tensor:
        if self.batch is not None:
            raise ExplainError("overlay needs grid maps; a point/voxel explanation has one value per point "
                               "(use .maps with .batch and .coords)")
        maps = self.maps.detach().float().cpu()
        if maps.ndim == 4:  # volumes: one slice along depth
            index = maps.shape[1] // 2 if slice_index is None else slice_index
            maps = maps[:, index]
        if maps.ndim != 3:
            raise ExplainError(f"overlay needs 2-D or 3-D maps, got shape {list(self.maps.shape)}")
        return maps

    def overlay(self, images: Any = None, *, alpha: float = 0.5, cmap: str = "jet",
                slice_index: int | None = None):
        """The maps coloured with ``cmap`` and blended over ``images`` -> numpy ``[B, H, W, 3]`` in [0, 1].

        ``images``: ``[B, C, H, W]`` / ``[B, H, W]`` tensors or ``[B, H, W, 3]`` arrays (volumes:
        ``[B, C, D, H, W]``, sliced at ``slice_index``, the middle by default); each image is
        min-max scaled for display. Without images, the coloured maps alone.
        """
        import numpy as np

        require_matplotlib("colouring explanation maps (Explanation.overlay)")
        from matplotlib import colormaps

        maps = self._grid_maps(slice_index)
        heat = colormaps[cmap](maps.numpy())[..., :3]
        if images is None:
            return heat.astype(np.float32)
        pictures = _as_pictures(images, maps.shape, slice_index)
        return ((1 - alpha) * pictures + alpha * heat).astype(np.float32)

    def save(self, path: str | Path, images: Any = None, *, alpha: float = 0.5, cmap: str = "jet",
             slice_index: int | None = None, columns: int = 4, panel_inches: float = 3.6) -> Path:
        """Write the overlays (or the maps alone) as one picture, a panel per sample, with a colour
        bar giving the maps' scale (0: least, 1: most important for the explained class)."""
        require_matplotlib("saving an explanation as a picture (Explanation.save)")
        from matplotlib import colormaps
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from matplotlib.figure import Figure

        pictures = self.overlay(images, alpha=alpha, cmap=cmap, slice_index=slice_index)
        count = pictures.shape[0]
        columns = max(1, min(columns, count))
        rows = math.ceil(count / columns)
        figure = Figure(figsize=(panel_inches * columns + 1.0, panel_inches * rows), layout="constrained")
        panels = []
        for index in range(count):
            axes = figure.add_subplot(rows, columns, index + 1)
            axes.imshow(pictures[index])
            axes.set_axis_off()
            if self.targets is not None:
                axes.set_title(f"{self.method} · class {int(self.targets[index])}", fontsize=10)
            panels.append(axes)
        figure.colorbar(ScalarMappable(Normalize(0, 1), cmap=colormaps[cmap]), ax=panels, shrink=0.85,
                        label="importance")
        path = Path(path)
        figure.savefig(path, dpi=100)
        return path


def _as_pictures(images: Any, shape: torch.Size, slice_index: int | None):
    import numpy as np

    if isinstance(images, Tensor):
        array = images.detach().float().cpu().numpy()
    else:
        array = np.asarray(images, dtype=np.float32)
    batch, height, width = shape
    if array.ndim == 5:  # [B, C, D, H, W]
        index = array.shape[2] // 2 if slice_index is None else slice_index
        array = array[:, :, index]
    if array.ndim == 3 and array.shape[1:] == (height, width):
        array = array[..., None]
    elif array.ndim == 4 and array.shape[1] in (1, 3) and array.shape[2:] == (height, width):
        array = array.transpose(0, 2, 3, 1)
    if array.ndim != 4 or array.shape[:3] != (batch, height, width) or array.shape[3] not in (1, 3):
        raise ExplainError(f"images must be [B, C, H, W] or [B, H, W(, 3)] matching maps {[batch, height, width]}, "
                           f"got {list(array.shape)}")
    low = array.min(axis=(1, 2, 3), keepdims=True)
    high = array.max(axis=(1, 2, 3), keepdims=True)
    array = (array - low) / np.maximum(high - low, 1e-12)
    return np.broadcast_to(array, (batch, height, width, 3))
