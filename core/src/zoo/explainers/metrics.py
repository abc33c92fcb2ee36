"""Faithfulness metrics of an explanation, batched: deletion/insertion AUC, Average Drop,
Increase in Confidence and ROAD.

All metrics take the model input ``x`` (a tensor ``[B, C, *S]``, already normalised as the model
expects) and an :class:`~zoo.explainers.framework.Explanation` whose maps are ``[B, *S]``. The
score is the softmax probability of the explained class (``explanation.targets``, else the
predicted class); ``score="logit"`` uses the logit. Perturbed inputs of many steps/percentiles
go through the model together, ``batch_size`` images per forward pass.

Localisation: :func:`make_grids`, :func:`grid_localisation` and :func:`grid_pointing_game` (the
B-cos grid pointing game) score where a method puts its attribution on grids of images of
different classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import ExplainError
from zoo.explainers.framework import class_scores, eval_mode, model_logits, target_indices

METRICS = ("deletion", "insertion", "avg-drop", "increase-in-confidence", "road", "road-morf", "road-lerf")

# The multigrid preconditioner of ROAD's imputation: damped Jacobi smoothing, one sweep before and
# after each coarsening, a few dozen on the coarsest grid (at most 4 pixels a side).
JACOBI_DAMPING = 0.8
SMOOTHING_SWEEPS = 1
COARSEST_SWEEPS = 30



def explain_metrics(model: nn.Module, x: Tensor, explanation: Any, metrics: Iterable[str] = ("deletion", "insertion"),
                    *, score: str = "softmax", steps: int = 224, batch_size: int = 64,
                    percentiles: Sequence[float] = (10, 20, 30, 40, 50, 60, 70, 80, 90), road_noise: float = 0.01,
                    seed: int | None = 0, reduction: str = "mean") -> dict[str, float | Tensor]:
    """Compute ``metrics`` for ``explanation`` of ``model`` on ``x``.

    - ``deletion`` / ``insertion`` (RISE; Petsiuk et al., arXiv:1806.07421): pixels in order of
      decreasing saliency are set to 0 (deletion) or revealed on a blurred copy (insertion) in
      ``steps`` steps (224 steps of 224 pixels at 224×224, as RISE); the area under the score
      curve, ``(Σs − s₀/2 − s_n/2) / n``. Lower deletion and higher insertion are better.
    - ``avg-drop`` / ``increase-in-confidence`` (Grad-CAM++, arXiv:1710.11063): the score on
      ``x ⊙ map`` against the score on ``x``: ``100·mean(max(0, Y − O) / Y)`` and ``100·mean(O > Y)``.
    - ``road-morf`` / ``road-lerf`` / ``road`` (Rong et al., "A Consistent and Efficient Evaluation
      Strategy for Attribution Methods", arXiv:2202.00449): at each percentile ``p``, the most
      (least) relevant ``100 − p`` % of pixels are replaced by noisy linear imputation, and the
      score change is averaged over ``percentiles``; ``road = (LeRF − MoRF) / 2`` (higher is better).
      2-D inputs only.

    Returns ``{metric: float}`` (``reduction="none"``: a ``[B]`` tensor per metric).
    """
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ExplainError(f"unknown metrics {unknown}; known: {list(METRICS)}")
    if reduction not in ("mean", "none"):
        raise ExplainError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    maps = _check(x, explanation)
    scorer = _scorer(model, score, batch_size)
    with torch.no_grad(), eval_mode(model):
        logits = class_scores(model_logits(model(x)))
        classes = target_indices(logits, explanation.targets if explanation.targets is not None else None)
        base = _class_score(logits, classes, score)
        results: dict[str, Tensor] = {}
        if "deletion" in metrics:
            results["deletion"] = _auc(scorer, x, maps, classes, torch.zeros_like(x), steps)
        if "insertion" in metrics:
            results["insertion"] = _auc(scorer, blur(x), maps, classes, x, steps)
        if {"avg-drop", "increase-in-confidence"} & set(metrics):
            after = scorer(x * maps[:, None].to(x.dtype), classes)
            if "avg-drop" in metrics:
                results["avg-drop"] = 100 * torch.relu(base - after) / base
            if "increase-in-confidence" in metrics:
                results["increase-in-confidence"] = 100 * (after > base).to(x.dtype)
        if {"road", "road-morf", "road-lerf"} & set(metrics):
            generator = None if seed is None else torch.Generator(device=x.device).manual_seed(seed)
            road = {}
            for name, most_relevant in (("road-morf", True), ("road-lerf", False)):
                if name in metrics or "road" in metrics:
                    road[name] = _road(scorer, x, maps, classes, base, percentiles, road_noise, generator,
                                       most_relevant=most_relevant)
            if "road" in metrics:
                road["road"] = (road["road-lerf"] - road["road-morf"]) / 2
            results.update(road)
    ordered = {name: results[name] for name in metrics}
    if reduction == "none":
        return ordered
    return {name: float(value.mean()) for name, value in ordered.items()}


def _check(x: Tensor, explanation: Any) -> Tensor:
    if getattr(explanation, "batch", None) is not None:
        raise ExplainError("metrics perturb a dense input; a point/voxel explanation has no pixel grid")
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ExplainError("metrics need x as one floating-point tensor [B, C, *S]")
    maps = explanation.maps
    if x.ndim != maps.ndim + 1 or x.shape[0] != maps.shape[0] or x.shape[2:] != maps.shape[1:]:
        raise ExplainError(f"maps {list(maps.shape)} do not match the input {list(x.shape)}: expected [B, *S] "
                           "for an input [B, C, *S] (explain at the input's size)")
    return maps.to(x.device)


def _class_score(logits: Tensor, classes: Tensor, score: str) -> Tensor:
    values = torch.softmax(logits, -1) if score == "softmax" else logits
    return values.gather(1, classes[:, None])[:, 0]


def _scorer(model: nn.Module, score: str, batch_size: int) -> Callable[[Tensor, Tensor], Tensor]:
    if score not in ("softmax", "logit"):
        raise ExplainError(f"score must be 'softmax' or 'logit', got {score!r}")

    def run(images: Tensor, classes: Tensor) -> Tensor:
        """Scores of ``images`` ``[N, ...]`` for ``classes`` ``[N]``, in forward passes of ``batch_size``."""
        out = [_class_score(class_scores(model_logits(model(chunk))), chunk_classes, score)
               for chunk, chunk_classes in zip(images.split(batch_size), classes.split(batch_size))]
        return torch.cat(out)

    return run


def _ranks(maps: Tensor) -> Tensor:
    """Rank of every position in order of decreasing saliency: ``[B, P]`` (0 = most salient)."""
    flat = maps.flatten(1)
    order = torch.argsort(flat, dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(flat.shape[1], device=flat.device).expand_as(order))
    return ranks


def _auc(scorer, start: Tensor, maps: Tensor, classes: Tensor, finish: Tensor, steps: int) -> Tensor:
    """RISE's causal metric: move ``ceil(P / steps)`` pixels per step from ``start`` to ``finish``
    in decreasing saliency; area under the ``steps + 1`` scores, per image."""
    if steps < 1:
        raise ExplainError(f"steps must be >= 1, got {steps}")
    batch, pixels = maps.shape[0], maps[0].numel()
    per_step = math.ceil(pixels / steps)
    ranks = _ranks(maps).reshape(batch, 1, *maps.shape[1:])
    scores = []
    # A group of steps at a time: B·group images per scoring call (the scorer splits them further).
    group = max(1, 256 // batch)
    for first in range(0, steps + 1, group):
        counts = torch.arange(first, min(first + group, steps + 1), device=maps.device) * per_step
        moved = ranks[None] < counts.reshape(-1, *([1] * ranks.ndim))  # [G, B, 1, *S]
        images = torch.where(moved, finish[None], start[None]).flatten(0, 1)
        scores.append(scorer(images, classes.repeat(counts.numel())).reshape(-1, batch))
    curve = torch.cat(scores)  # [steps + 1, B]
    return (curve.sum(0) - curve[0] / 2 - curve[-1] / 2) / steps


def gaussian_kernel_1d(length: int = 11, sigma: float = 5.0, truncate: float = 4.0,
                       dtype: torch.dtype = torch.float32) -> Tensor:
    """RISE's blur kernel along one axis: ``scipy.ndimage.gaussian_filter`` (mode ``reflect``,
    ``truncate=4``) of a centred delta of ``length`` samples."""
    radius = int(truncate * sigma + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    weights = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    weights = weights / weights.sum()
    centre = length // 2
    kernel = torch.zeros(length, dtype=torch.float64)
    for i in range(length):
        index = (i + offsets.long()) % (2 * length)
        index = torch.where(index >= length, 2 * length - 1 - index, index)  # mirror about the edge
        kernel[i] = weights[index == centre].sum()
    return kernel.to(dtype)


def blur(x: Tensor, length: int = 11, sigma: float = 5.0) -> Tensor:
    """RISE's insertion substrate: each channel blurred with the separable kernel above, zero
    padding of ``length // 2`` (as its ``conv2d``); any number of spatial axes."""
    kernel = gaussian_kernel_1d(length, sigma, dtype=x.dtype).to(x.device)
    channels, spatial = x.shape[1], x.ndim - 2
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}.get(spatial)
    if conv is None:
        raise ExplainError(f"cannot blur an input with {spatial} spatial axes")
    out = x
    for axis in range(spatial):
        along = [length if a == axis else 1 for a in range(spatial)]
        padding = [length // 2 if a == axis else 0 for a in range(spatial)]
        weight = kernel.reshape(1, 1, *along).expand(channels, 1, *along).contiguous()
        out = conv(out, weight, padding=padding, groups=channels)
    return out


def _neighbours(values: Tensor) -> Tensor:
    """Σ of the 8 neighbours weighted 1/6 (edges) and 1/12 (corners), zero outside the image.

    The stencil is (outer([1, 2, 1], [1, 2, 1]) − 4·centre) / 12: two 1-D passes over a padded
    copy, a few times faster on a CPU than a depthwise 3×3 convolution."""
    height, width = values.shape[-2:]
    padded = F.pad(values, (1, 1, 1, 1))
    rows = padded[..., :, :width] + 2 * padded[..., :, 1:width + 1] + padded[..., :, 2:]
    full = rows[..., :height, :] + 2 * rows[..., 1:height + 1, :] + rows[..., 2:, :]
    return (full - 4 * values) / 12


class _Laplacian:
    """ROAD's system on one grid level: ``A v = m ⊙ (d ⊙ v − N(m ⊙ v))`` for the missing pixels
    ``m`` (``[N, 1, H, W]``) with ``d`` the weight of each pixel's in-image neighbours."""

    def __init__(self, mask: Tensor):
        self.mask = mask
        self.degree = _neighbours(torch.ones_like(mask[:1, :1]))
        self.jacobi = JACOBI_DAMPING * mask / self.degree

    def __call__(self, v: Tensor) -> Tensor:
        return self.mask * (self.degree * v - _neighbours(self.mask * v))


def _v_cycle(levels: list[_Laplacian], residual: Tensor, level: int = 0) -> Tensor:
    """One symmetric multigrid V-cycle (damped Jacobi smoothing, restriction by 2×2 sums and its
    transpose, nearest-neighbour prolongation): an SPD approximate inverse for the CG below."""
    system = levels[level]
    sweeps = COARSEST_SWEEPS if level == len(levels) - 1 else SMOOTHING_SWEEPS
    v = system.jacobi * residual
    for _ in range(sweeps - 1):
        v = v + system.jacobi * (residual - system(v))
    if level == len(levels) - 1:
        return v
    height, width = residual.shape[-2:]
    # Restrict the residual (a coarse cell's operator acts on 4 fine cells, hence the sum).
    coarse = 4 * F.avg_pool2d(F.pad(residual - system(v), (0, width % 2, 0, height % 2)), 2)
    correction = _v_cycle(levels, coarse, level + 1)
    v = v + system.mask * correction.repeat_interleave(2, -2).repeat_interleave(2, -1)[..., :height, :width]
    for _ in range(sweeps):
        v = v + system.jacobi * (residual - system(v))
    return v


def impute(images: Tensor, missing: Tensor, *, noise: float = 0.01, generator: torch.Generator | None = None,
           tol: float = 1e-5, max_iter: int = 500) -> Tensor:
    """ROAD's noisy linear imputation, batched: every missing pixel becomes the weighted mean of
    its in-image 8 neighbours (1/6 for the 4-neighbours, 1/12 for the diagonals, as Rong et al.),
    known pixels fixed, then ``noise``·N(0, 1) is added to the imputed pixels.

    ``images`` ``[N, C, H, W]``, ``missing`` ``[N, H, W]`` bool. The sparse linear system (which
    the reference code solves with ``scipy.sparse.linalg.spsolve`` per image) is symmetric
    positive definite on the missing pixels; it is solved for all images and channels at once by
    conjugate gradients preconditioned with a geometric multigrid V-cycle, to a relative residual
    of ``tol`` (about 30 iterations for a 90 % hole at 224×224, where plain CG needs about 400).
    """
    mask = missing[:, None].to(images.dtype)
    levels = [_Laplacian(mask)]
    while min(levels[-1].mask.shape[-2:]) > 4 and len(levels) < 8:
        levels.append(_Laplacian(F.max_pool2d(levels[-1].mask, 2, ceil_mode=True)))
    system = levels[0]

    def dot(a: Tensor, b: Tensor) -> Tensor:
        return (a * b).flatten(2).sum(-1)[..., None, None]

    rhs = mask * _neighbours(images * (1 - mask))
    solution = torch.zeros_like(images)
    residual = rhs
    preconditioned = _v_cycle(levels, residual)
    direction = preconditioned
    rz = dot(residual, preconditioned)
    target = (tol ** 2) * dot(rhs, rhs).clamp_min(1e-30)
    for _ in range(max_iter):
        if bool((dot(residual, residual) <= target).all()):
            break
        applied = system(direction)
        step = rz / dot(direction, applied).clamp_min(1e-30)
        solution = solution + step * direction
        residual = residual - step * applied
        preconditioned = _v_cycle(levels, residual)
        rz_next = dot(residual, preconditioned)
        direction = preconditioned + (rz_next / rz.clamp_min(1e-30)) * direction
        rz = rz_next
    filled = solution + noise * torch.randn(images.shape, generator=generator, device=images.device,
                                            dtype=images.dtype)
    return torch.where(mask.expand_as(images).bool(), filled, images)


def _road(scorer, x: Tensor, maps: Tensor, classes: Tensor, base: Tensor, percentiles: Sequence[float],
          noise: float, generator, *, most_relevant: bool) -> Tensor:
    """Mean over ``percentiles`` of (score after imputation − score before), per image [B]."""
    if x.ndim != 4:
        raise ExplainError(f"ROAD imputes 2-D images [B, C, H, W]; got an input of shape {list(x.shape)}")
    relevance = maps if most_relevant else 1 - maps
    flat = relevance.flatten(1)
    levels = torch.tensor([p / 100 for p in percentiles], dtype=flat.dtype, device=flat.device)
    # np.percentile with linear interpolation, as the reference; pixels at or above it are removed.
    thresholds = torch.quantile(flat, levels, dim=1)  # [P, B]
    missing = relevance[None] >= thresholds.reshape(*thresholds.shape, *([1] * (maps.ndim - 1)))  # [P, B, H, W]
    images = x[None].expand(len(percentiles), *x.shape).flatten(0, 1)
    imputed = impute(images, missing.flatten(0, 1), noise=noise, generator=generator)
    after = scorer(imputed, classes.repeat(len(percentiles))).reshape(len(percentiles), -1)
    return (after - base[None]).mean(0)


# --------------------------------------------------------------------------------------------
# Localisation: the grid pointing game of B-cos
# --------------------------------------------------------------------------------------------


def make_grids(model: nn.Module, images: Tensor, n: int = 3, *, labels: Tensor | None = None,
               threshold: float = 0.5, num_grids: int | None = None, seed: int = 0,
               batch_size: int = 64) -> tuple[Tensor, Tensor]:
    """Grids of ``n`` x ``n`` confidently classified images of different classes, for the grid
    pointing game (Böhle et al., "B-cos Alignment for Inherently Interpretable CNNs and Vision
    Transformers", arXiv:2306.10898; B-cos-v2 ``interpretability/analyses/localisation.py``).

    ``images`` ``[N, C, H, W]`` (as the model takes them); an image qualifies when the softmax
    probability of its predicted class exceeds ``threshold`` (and, with ``labels``, the prediction is
    right). Each grid takes ``n²`` distinct classes at random and one qualifying image of each.
    Returns ``grids`` ``[G, C, n·H, n·W]`` and ``classes`` ``[G, n²]`` (the class of each cell,
    row-major); ``num_grids`` None: ``max(1, N // n²)``. Images are drawn without repetition while
    a class has unused ones, then cycled.
    """
    if not isinstance(images, Tensor) or images.ndim != 4 or not images.is_floating_point():
        raise ExplainError(f"make_grids takes a float image batch [N, C, H, W], got "
                           f"{list(images.shape) if isinstance(images, Tensor) else type(images).__name__}")
    if not isinstance(n, int) or n < 2:
        raise ExplainError(f"make_grids: n must be an int >= 2, got {n!r}")
    with torch.no_grad(), eval_mode(model):
        probs = torch.cat([torch.softmax(class_scores(model_logits(model(chunk))), -1)
                           for chunk in images.split(batch_size)])
    confidence, predicted = probs.max(-1)
    keep = confidence > threshold
    if labels is not None:
        keep &= predicted == torch.as_tensor(labels, device=predicted.device)
    pools = {int(c): torch.nonzero(keep & (predicted == c))[:, 0].tolist() for c in predicted[keep].unique()}
    cells = n * n
    if len(pools) < cells:
        raise ExplainError(f"make_grids: {len(pools)} classes have images classified with confidence > {threshold}; "
                           f"a {n}x{n} grid needs {cells}")
    generator = torch.Generator().manual_seed(seed)
    for pool in pools.values():
        order = torch.randperm(len(pool), generator=generator).tolist()
        pool[:] = [pool[i] for i in order]
    names = sorted(pools)
    if num_grids is None:
        num_grids = max(1, len(images) // cells)
    used = dict.fromkeys(names, 0)
    grids, grid_classes = [], []
    for _ in range(num_grids):
        chosen = [names[i] for i in torch.randperm(len(names), generator=generator)[:cells].tolist()]
        picks = []
        for c in chosen:
            picks.append(pools[c][used[c] % len(pools[c])])  # cycles only when a class runs out
            used[c] += 1
        tiles = images[picks]  # [n², C, H, W] -> [C, n·H, n·W], row-major
        channels, height, width = tiles.shape[1:]
        grid = tiles.reshape(n, n, channels, height, width).permute(2, 0, 3, 1, 4).reshape(channels, n * height,
                                                                                              n * width)
        grids.append(grid)
        grid_classes.append(chosen)
    return torch.stack(grids), torch.tensor(grid_classes, dtype=torch.long, device=images.device)


def grid_localisation(maps: Tensor, cells: Tensor, n: int, *, smooth: int = 1) -> Tensor:
    """Share of the positive attribution that falls in the right cell: ``maps`` ``[M, n·H, n·W]``,
    ``cells`` ``[M]`` (row-major cell index of the explained class) -> ``[M]`` in [0, 1].

    ``smooth`` > 1 first averages the maps over a ``smooth`` x ``smooth`` window, stride 1 (the
    B-cos authors use 15 for their own maps). Maps with no positive attribution score 0.
    """
    if maps.ndim != 3 or maps.shape[-2] % n or maps.shape[-1] % n:
        raise ExplainError(f"grid_localisation: maps must be [M, n·H, n·W] for n={n}, got {list(maps.shape)}")
    cells = torch.as_tensor(cells, dtype=torch.long, device=maps.device).reshape(-1)
    if cells.numel() != maps.shape[0] or (cells.numel() and (cells.min() < 0 or cells.max() >= n * n)):
        raise ExplainError(f"grid_localisation: need one cell index in [0, {n * n}) per map, got {cells.tolist()}")
    if smooth > 1:
        maps = F.avg_pool2d(maps[:, None], smooth, 1, (smooth - 1) // 2)[:, 0]
    positive = maps.float().relu()
    height, width = positive.shape[-2] // n, positive.shape[-1] // n
    per_cell = positive.reshape(-1, n, height, n, width).sum((2, 4)).flatten(1)  # [M, n²]
    total = per_cell.sum(1)
    inside = per_cell.gather(1, cells[:, None])[:, 0]
    return torch.where(total > 0, inside / total.clamp_min(torch.finfo(total.dtype).tiny), torch.zeros_like(total))


def grid_pointing_game(model: nn.Module, grids: Tensor, classes: Tensor, method: str = "grad-cam", *,
                       batch_size: int = 16, smooth: int = 1, reduction: str = "mean", **options: Any):
    """The B-cos grid pointing game of an explainer: every grid is explained once per cell, for
    that cell's class, and scored by :func:`grid_localisation` (1: all attribution in the right
    cell; ``1/n²`` is what a uniform map gets).

    ``grids``/``classes`` as :func:`make_grids` returns them; ``options`` go to :func:`zoo.explain`
    (e.g. ``target_layer=``, or ``head=`` for T-TAME). Returns the mean score, or (``reduction=
    "none"``) ``[G, n²]``.
    """
    from zoo.explainers import explain

    if reduction not in ("mean", "none"):
        raise ExplainError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    classes = torch.as_tensor(classes, dtype=torch.long)
    n = math.isqrt(classes.shape[-1]) if classes.ndim == 2 else 0
    if classes.ndim != 2 or n * n != classes.shape[1] or classes.shape[0] != grids.shape[0]:
        raise ExplainError(f"grid_pointing_game: classes must be [G, n²] for {grids.shape[0]} grids, "
                           f"got {list(classes.shape)}")
    images = grids.repeat_interleave(n * n, 0)
    targets = classes.reshape(-1).to(grids.device)
    cells = torch.arange(n * n, device=grids.device).repeat(grids.shape[0])
    scores = []
    for start in range(0, images.shape[0], batch_size):
        chunk = slice(start, start + batch_size)
        explanation = explain(model, images[chunk], method, targets=targets[chunk].tolist(), **options)
        maps = torch.as_tensor(explanation.maps).to(grids.device)
        if maps.shape[-2:] != grids.shape[-2:]:
            raise ExplainError(f"grid_pointing_game: {method} gave maps {list(maps.shape)} for grids "
                               f"{list(grids.shape)}; explain at the input's size")
        scores.append(grid_localisation(maps, cells[chunk], n, smooth=smooth))
    result = torch.cat(scores).reshape(grids.shape[0], n * n)
    return float(result.mean()) if reduction == "mean" else result
