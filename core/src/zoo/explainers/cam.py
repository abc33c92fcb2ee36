"""The CAM family: Grad-CAM, Grad-CAM++, Smooth Grad-CAM++, Eigen-CAM and CF-CAM.

Each method is a function ``(acts, grads, mask) -> raw map`` on the canonical view of
:mod:`zoo.explainers.framework`: ``acts``/``grads`` ``[M, C, *S]`` (``M`` = time steps × batch),
``mask`` ``[M, *S]`` bool for padded point clouds (else None); the raw map ``[M, *S]`` is then
ReLU'd, averaged over time, scaled to [0, 1] and upsampled to the input by the framework.

Every explainer entry point has the signature of :class:`zoo.ExplainerSpec` builders,
``explain(model, x, *, target_layer, targets, reshape, **options) -> Explanation``, with the
options ``size`` (output size; default the input's spatial size) and ``normalize``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from zoo.errors import ExplainError
from zoo.explainers.framework import (
    Explanation,
    capture,
    class_scores,
    finish_maps,
    model_logits,
    resolve_reshape,
    resolve_target_layers,
    target_indices,
)

CamFunction = Callable[[Tensor, Tensor | None, Tensor | None], Tensor]

# pytorch-grad-cam adds this to the Grad-CAM++ denominator.
GRADCAM_PP_EPS = 1e-6


def _spatial(tensor: Tensor) -> tuple[int, ...]:
    return tuple(range(2, tensor.ndim))


def _spatial_mean(tensor: Tensor, mask: Tensor | None) -> Tensor:
    """Mean over the spatial axes -> ``[M, C]``; with a mask, over the valid positions only."""
    if mask is None:
        return tensor.mean(_spatial(tensor))
    counts = mask.flatten(1).sum(1).clamp_min(1).to(tensor.dtype)
    return tensor.flatten(2).sum(-1) / counts[:, None]


def _weighted_sum(weights: Tensor, acts: Tensor) -> Tensor:
    """``Σ_k w_k A^k``: ``[M, C]`` × ``[M, C, *S]`` -> ``[M, *S]``."""
    return (weights.reshape(*weights.shape, *([1] * (acts.ndim - 2))) * acts).sum(1)


def run_cam(model: nn.Module, x: Any, *, method: str, cam: CamFunction, need_grad: bool, target_layer: Any,
            targets: Any, reshape: Any, size: Any = None, normalize: str = "minmax") -> Explanation:
    """Explain with a CAM map function ``cam(acts, grads, mask) -> [M, *S]`` (before the ReLU):
    resolve the layers and the reshape, capture, map, scale and upsample. A plugin's CAM variant
    needs only its map function and this."""
    layers = resolve_target_layers(model, target_layer)
    captured = capture(model, x, layers, reshape=resolve_reshape(model, reshape), targets=targets,
                       need_grad=need_grad, method=method)
    raw = []
    for view in captured.views:
        steps, batch = view.acts.shape[:2]
        mask = None if view.mask is None else view.mask.repeat(steps, *([1] * (view.mask.ndim - 1)))
        grads = None if view.grads is None else view.grads.flatten(0, 1)
        raw.append(cam(view.acts.flatten(0, 1), grads, mask).reshape(steps, batch, *view.acts.shape[3:]))
    maps, point_batch, coords = finish_maps(raw, captured.views, x, size=size, normalize=normalize)
    names = captured.names[0] if len(captured.names) == 1 else captured.names
    return Explanation(maps.detach(), method, names, captured.targets, point_batch, coords)


# --------------------------------------------------------------------------------------------
# Grad-CAM
# --------------------------------------------------------------------------------------------


def gradcam_map(acts: Tensor, grads: Tensor, mask: Tensor | None = None) -> Tensor:
    """Grad-CAM: ``w_k = mean_ij ∂y/∂A^k_ij``, map ``Σ_k w_k A^k`` (before the ReLU)."""
    return _weighted_sum(_spatial_mean(grads, mask), acts)


def grad_cam(model: nn.Module, x: Any, *, target_layer: Any = None, targets: Any = None, reshape: Any = None,
             size: Any = None, normalize: str = "minmax") -> Explanation:
    """Grad-CAM — Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization", ICCV 2017, arXiv:1610.02391.

    ``x``: the model input (a tensor ``[B, ...]``, a tuple or a dict); returns maps ``[B, *S]`` in
    [0, 1] at the input's spatial size. Equal to pytorch-grad-cam's ``GradCAM`` (to float32 rounding).
    """
    return run_cam(model, x, method="grad-cam", cam=gradcam_map, need_grad=True, target_layer=target_layer,
                targets=targets, reshape=reshape, size=size, normalize=normalize)


# --------------------------------------------------------------------------------------------
# Grad-CAM++
# --------------------------------------------------------------------------------------------


def _plusplus_weights(d1: Tensor, d2: Tensor, d3: Tensor, acts: Tensor, convention: str) -> Tensor:
    """Grad-CAM++ channel weights from the 1st/2nd/3rd derivative estimates (``[M, C, *S]``)."""
    axes = _spatial(acts)
    sum_acts = acts.sum(axes, keepdim=True)
    if convention == "pytorch-grad-cam":
        alpha = d2 / (2 * d2 + sum_acts * d3 + GRADCAM_PP_EPS)
        alpha = torch.where(d1 != 0, alpha, torch.zeros_like(alpha))
        return (torch.relu(d1) * alpha).sum(axes)
    if convention == "original":
        # adityac94/Grad_CAM_plus_plus: a zero denominator becomes 1, and the alphas are
        # normalised per channel by their sum over the positions with a positive gradient. The
        # exp(score) factor of the paper multiplies every weight of an image alike and cancels in
        # the [0, 1] scaling, so it is left out (it would overflow for large logits).
        denominator = 2 * d2 + sum_acts * d3
        alpha = d2 / torch.where(denominator != 0, denominator, torch.ones_like(denominator))
        positive = torch.relu(d1)
        norm = torch.where(positive > 0, alpha, torch.zeros_like(alpha)).sum(axes, keepdim=True)
        alpha = alpha / torch.where(norm != 0, norm, torch.ones_like(norm))
        return (positive * alpha).sum(axes)
    raise ExplainError(f"grad-cam++ convention must be 'pytorch-grad-cam' or 'original', got {convention!r}")


def gradcam_pp_map(acts: Tensor, grads: Tensor, mask: Tensor | None = None, *,
                   convention: str = "pytorch-grad-cam") -> Tensor:
    """Grad-CAM++ (Eq. 19 of the paper, with powers of the gradient for the higher derivatives):
    ``α = g² / (2g² + Σ_ab A_ab · g³)``, ``w_k = Σ_ij α ReLU(g)``, map ``Σ_k w_k A^k``."""
    weights = _plusplus_weights(grads, grads * grads, grads * grads * grads, acts, convention)
    return _weighted_sum(weights, acts)


def grad_cam_pp(model: nn.Module, x: Any, *, target_layer: Any = None, targets: Any = None, reshape: Any = None,
                convention: str = "pytorch-grad-cam", size: Any = None, normalize: str = "minmax") -> Explanation:
    """Grad-CAM++ — Chattopadhyay et al., "Grad-CAM++: Generalized Gradient-based Visual
    Explanations for Deep Convolutional Networks", WACV 2018, arXiv:1710.11063.

    ``convention="pytorch-grad-cam"`` (default; equal to its ``GradCAMPlusPlus``): ``+1e-6`` in the
    denominator, α = 0 where the gradient is 0, no α normalisation. ``convention="original"``:
    the authors' TensorFlow code (zero denominators -> 1, α normalised per channel).
    """
    def cam(acts: Tensor, grads: Tensor, mask: Tensor | None) -> Tensor:
        return gradcam_pp_map(acts, grads, mask, convention=convention)

    return run_cam(model, x, method="grad-cam-pp", cam=cam, need_grad=True, target_layer=target_layer,
                targets=targets, reshape=reshape, size=size, normalize=normalize)


# --------------------------------------------------------------------------------------------
# Smooth Grad-CAM++
# --------------------------------------------------------------------------------------------


def smooth_grad_cam_pp(model: nn.Module, x: Any, *, target_layer: Any = None, targets: Any = None,
                       reshape: Any = None, n_samples: int = 25, sigma: float = 0.15, batch_size: int | None = None,
                       seed: int | None = 0, convention: str = "pytorch-grad-cam", size: Any = None,
                       normalize: str = "minmax") -> Explanation:
    """Smooth Grad-CAM++ — Omeiza et al., "Smooth Grad-CAM++: An Enhanced Inference Level
    Visualization Technique for Deep Convolutional Neural Network Models", arXiv:1908.01224.

    The derivatives are averaged over ``n_samples`` noisy copies ``x + N(0, σ²)`` with
    ``σ = sigma · (max(x_b) − min(x_b))`` per image (the SmoothGrad convention):
    ``D¹ = mean g``, ``D² = mean g²``, ``D³ = mean g³``, ``α = D² / (2D² + Σ_ab A_ab · D³)``
    (the paper prints D¹ in the numerator, a typo), ``w_k = Σ_ij α ReLU(D¹)``, with ``A`` from the
    clean input. The copies run as one batch of ``B·(n_samples + 1)`` (the clean images first);
    ``batch_size`` caps the number of noisy copies per pass when memory is short.

    ``x``: a tensor ``[B, ...]``; maps ``[B, *S]``. ``seed`` fixes the noise (None: the global RNG).
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ExplainError("smooth-grad-cam++ adds noise to the input: x must be one floating-point tensor [B, ...]")
    if n_samples < 1:
        raise ExplainError(f"smooth-grad-cam++: n_samples must be >= 1, got {n_samples}")
    layers = resolve_target_layers(model, target_layer)
    reshape_fn = resolve_reshape(model, reshape)
    batch = x.shape[0]
    generator = None
    if seed is not None:
        generator = torch.Generator(device=x.device).manual_seed(seed)
    spread = (x.flatten(1).max(1).values - x.flatten(1).min(1).values) * sigma
    spread = spread.reshape(batch, *([1] * (x.ndim - 1)))

    # The explained classes come from the clean images (the first B of the first pass) and are
    # kept for their noisy copies.
    chosen: list[Tensor] = []

    def copies_target(output: Any) -> Tensor:
        if callable(targets):
            return targets(output)
        scores = class_scores(model_logits(output))
        if not chosen:
            chosen.append(target_indices(scores[:batch].detach(), targets))
        return scores.gather(1, chosen[0].repeat(scores.shape[0] // batch)[:, None])[:, 0]

    chunk = n_samples if batch_size is None else max(1, batch_size)
    sums: list[list[Tensor]] = []  # per layer: Σ g, Σ g², Σ g³ over the noisy copies
    clean: list[Tensor] = []
    done = 0
    while done < n_samples:
        count = min(chunk, n_samples - done)
        noise = torch.randn((count, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
        noisy = (x[None] + noise * spread[None]).flatten(0, 1)
        inputs = torch.cat([x, noisy]) if done == 0 else noisy
        captured = capture(model, inputs, layers, reshape=reshape_fn, targets=copies_target, need_grad=True,
                           method="smooth-grad-cam-pp")
        for index, view in enumerate(captured.views):
            if view.mask is not None:
                raise ExplainError("smooth-grad-cam++ needs a dense [B, ...] input, not point/voxel activations")
            grads = view.grads
            if done == 0:
                clean.append(view.acts[:, :batch])
                grads = grads[:, batch:]
            grads = grads.reshape(grads.shape[0], count, batch, *grads.shape[2:])
            powers = [grads.sum(1), (grads ** 2).sum(1), (grads ** 3).sum(1)]
            if done == 0:
                sums.append(powers)
            else:
                sums[index] = [total + power for total, power in zip(sums[index], powers)]
        done += count
    raw = []
    for (d1, d2, d3), acts in zip(sums, clean):
        d1, d2, d3 = d1 / n_samples, d2 / n_samples, d3 / n_samples
        steps = acts.shape[0]
        flat = acts.flatten(0, 1)
        weights = _plusplus_weights(d1.flatten(0, 1), d2.flatten(0, 1), d3.flatten(0, 1), flat, convention)
        raw.append(_weighted_sum(weights, flat).reshape(steps, batch, *acts.shape[3:]))
    views = [type(v)(a, None) for v, a in zip(captured.views, clean)]
    maps, _, _ = finish_maps(raw, views, x, size=size, normalize=normalize)
    names = captured.names[0] if len(captured.names) == 1 else captured.names
    return Explanation(maps.detach(), "smooth-grad-cam-pp", names, chosen[0] if chosen else None)


# --------------------------------------------------------------------------------------------
# Eigen-CAM
# --------------------------------------------------------------------------------------------


def eigencam_map(acts: Tensor, grads: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
    """Eigen-CAM: projection of the (channel-centred) activations ``O`` (``[M, hw, C]``) on their
    first right singular vector, ``O·v₁``, reshaped to ``[M, *S]``.

    Centring and NaN -> 0 follow pytorch-grad-cam. **Sign rule**: an SVD fixes ``v₁`` only up to
    sign, and LAPACK builds disagree on it (numpy/OpenBLAS vs torch/MKL agree about half of the
    time), so the map is flipped where ``|min| > |max|`` (the rule of Seg-Eigen-CAM, Eq. 13):
    the dominant half survives the ReLU. pytorch-grad-cam's ``EigenCAM`` applies no rule, so its
    maps equal ours or those of ``−O·v₁``.
    """
    spatial = acts.shape[2:]
    matrix = torch.nan_to_num(acts.flatten(2).transpose(1, 2), nan=0.0)  # [M, hw, C]
    if mask is None:
        matrix = matrix - matrix.mean(1, keepdim=True)
    else:
        valid = mask.flatten(1)[..., None].to(matrix.dtype)
        mean = (matrix * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True).clamp_min(1)
        # Zero padding rows after centring: they then add nothing to the singular vectors.
        matrix = (matrix - mean) * valid
    _, _, vh = torch.linalg.svd(matrix, full_matrices=False)
    projection = (matrix @ vh[:, 0, :, None])[..., 0]
    if mask is not None:
        low = projection.masked_fill(~mask.flatten(1), 0).min(1, keepdim=True).values
        high = projection.masked_fill(~mask.flatten(1), 0).max(1, keepdim=True).values
    else:
        low, high = projection.min(1, keepdim=True).values, projection.max(1, keepdim=True).values
    projection = torch.where(low.abs() > high.abs(), -projection, projection)
    return projection.reshape(acts.shape[0], *spatial)


def eigen_cam(model: nn.Module, x: Any, *, target_layer: Any = None, targets: Any = None, reshape: Any = None,
              size: Any = None, normalize: str = "minmax") -> Explanation:
    """Eigen-CAM — Muhammad & Yeasin, "Eigen-CAM: Class Activation Map using Principal
    Components", IJCNN 2020, arXiv:2008.00299.

    Class-agnostic and gradient-free: one forward pass without autograd. ``targets`` only labels
    the explanation. Maps ``[B, *S]``; see :func:`eigencam_map` for the sign rule.
    """
    return run_cam(model, x, method="eigen-cam", cam=eigencam_map, need_grad=False, target_layer=target_layer,
                targets=targets, reshape=reshape, size=size, normalize=normalize)


# --------------------------------------------------------------------------------------------
# CF-CAM
# --------------------------------------------------------------------------------------------


def dbscan(distances: Tensor, eps: float, min_samples: int) -> Tensor:
    """DBSCAN on a precomputed ``[n, n]`` distance matrix -> labels ``[n]`` (−1 = noise).

    As scikit-learn: a point is *core* when at least ``min_samples`` points (itself included) lie
    within ``eps`` (``<=``); clusters are the connected components of core points; a border point
    joins a cluster of a core neighbour (the lowest-numbered cluster if several, where
    scikit-learn takes the first one its expansion reaches). Clusters are numbered in order of
    their first point.
    """
    n = distances.shape[0]
    neighbours = distances <= eps
    core = neighbours.sum(1) >= min_samples
    big = n
    labels = torch.where(core, torch.arange(n, device=distances.device), torch.full((n,), big, device=distances.device))
    linked = neighbours & core[:, None] & core[None, :]
    # Min-label propagation over the core graph (with pointer jumping) converges to the
    # smallest index of each connected component.
    while True:
        spread = torch.where(linked, labels[None, :], big).min(1).values
        updated = torch.minimum(labels, spread)
        updated = torch.where(core, updated[updated.clamp_max(n - 1)].minimum(updated), updated)
        if torch.equal(updated, labels):
            break
        labels = updated
    border = ~core & (neighbours & core[None, :]).any(1)
    border_labels = torch.where(neighbours & core[None, :], labels[None, :], big).min(1).values
    labels = torch.where(border, border_labels, labels)
    labels = torch.where(labels == big, torch.full_like(labels, -1), labels)
    _, dense = torch.unique(labels, return_inverse=True)
    has_noise = bool((labels == -1).any())
    return torch.where(labels == -1, labels, dense - int(has_noise))


def _cluster_filter(mean_grad: Tensor, sigma_space: float, sigma_range: float) -> Tensor:
    """CF-CAM's "bilateral" filter of a cluster's mean gradient map ``[*S]`` (as the authors' code):
    a full-size kernel ``exp(−‖p − S/2‖² / 2σ_s²) · exp(−(ḡ(p) − mean ḡ)² / 2σ_r²)``, normalised
    to sum 1 (+1e-6), convolved with ``padding="same"``."""
    grids = torch.meshgrid(*[torch.arange(s, dtype=mean_grad.dtype, device=mean_grad.device) for s in mean_grad.shape],
                           indexing="ij")
    squared = sum((g - s / 2) ** 2 for g, s in zip(grids, mean_grad.shape))
    kernel = torch.exp(-squared / (2 * sigma_space ** 2)) * torch.exp(
        -((mean_grad - mean_grad.mean()) ** 2) / (2 * sigma_range ** 2))
    kernel = kernel / (kernel.sum() + 1e-6)  # the authors' epsilon
    conv = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d, 3: torch.nn.functional.conv3d}[mean_grad.ndim]
    # torch's padding="same": for an even kernel the extra row/column of zeros goes after.
    padding = []
    for size in reversed(mean_grad.shape):
        padding += [(size - 1) // 2, size - 1 - (size - 1) // 2]
    padded = torch.nn.functional.pad(mean_grad[None, None], padding)
    return conv(padded, kernel[None, None])[0, 0]


def cfcam_map(acts: Tensor, grads: Tensor, mask: Tensor | None = None, *, importance_quantile: float = 0.75,
              distance_quantile: float = 0.25, min_samples_fraction: float = 0.05, sigma_space: float = 5.0,
              sigma_range: float = 0.1) -> Tensor:
    """CF-CAM per sample (``acts``/``grads`` ``[M, C, *S]`` -> ``[M, *S]``), as the authors' code:

    1. channels whose activation L2 norm is at or above the 75th percentile are *important*
       (weight = their mean gradient);
    2. the others are clustered with DBSCAN (Euclidean distances between their flattened maps,
       ``eps`` = 25th percentile of the off-diagonal distances floored at 1e-5,
       ``min_samples = max(2, int(0.05 · n))``); noise channels are dropped;
    3. each cluster's mean gradient map is filtered (:func:`_cluster_filter`) and its mean is
       the weight of every channel of the cluster;
    4. ``map = Σ_valid softmax(w)_k A^k`` over the important and clustered channels.
    """
    if mask is not None:
        raise ExplainError("cf-cam filters gradients on a spatial grid; point/voxel activations are not supported")
    maps = []
    # DBSCAN clusters differ in number and size per sample, so samples are handled one by one.
    for a, g in zip(acts, grads):
        flat = a.flatten(1)
        norms = flat.norm(dim=1)
        important = norms >= torch.quantile(norms, importance_quantile)
        weights = torch.zeros(a.shape[0], dtype=a.dtype, device=a.device)
        weights[important] = g[important].flatten(1).mean(1)
        valid = important.clone()
        rest = (~important).nonzero()[:, 0]
        if rest.numel() >= 2:
            distances = torch.cdist(flat[rest][None], flat[rest][None], compute_mode="donot_use_mm_for_euclid_dist")[0]
            off_diagonal = distances[~torch.eye(rest.numel(), dtype=torch.bool, device=a.device)]
            eps = max(float(torch.quantile(off_diagonal, distance_quantile)), 1e-5)
            labels = dbscan(distances, eps, max(2, int(min_samples_fraction * rest.numel())))
            for label in range(int(labels.max()) + 1):
                members = rest[labels == label]
                filtered = _cluster_filter(g[members].mean(0), sigma_space, sigma_range)
                weights[members] = filtered.mean()
                valid[members] = True
        soft = torch.softmax(weights[valid], 0)
        maps.append(_weighted_sum(soft[None], a[valid][None])[0])
    return torch.stack(maps)


def cf_cam(model: nn.Module, x: Any, *, target_layer: Any = None, targets: Any = None, reshape: Any = None,
           size: Any = None, normalize: str = "max", **cluster_options: float) -> Explanation:
    """CF-CAM — He, Pan & Yao, "CF-CAM: Cluster Filter Class Activation Mapping for Reliable
    Gradient-Based Interpretability", arXiv:2504.00060 (code: jerryp-hfut/CF-CAM).

    Maps ``[B, *S]``; scaled by their maximum (``normalize="max"``) as the authors do.
    ``cluster_options``: ``importance_quantile`` (0.75), ``distance_quantile`` (0.25),
    ``min_samples_fraction`` (0.05), ``sigma_space`` (5), ``sigma_range`` (0.1). DBSCAN is
    written in torch (:func:`dbscan`), so no scikit-learn is needed.
    """
    known = {"importance_quantile", "distance_quantile", "min_samples_fraction", "sigma_space", "sigma_range"}
    unknown = set(cluster_options) - known
    if unknown:
        raise ExplainError(f"cf-cam: unknown options {sorted(unknown)}; known: {sorted(known)}")

    def cam(acts: Tensor, grads: Tensor, mask: Tensor | None) -> Tensor:
        return cfcam_map(acts, grads, mask, **cluster_options)

    return run_cam(model, x, method="cf-cam", cam=cam, need_grad=True, target_layer=target_layer, targets=targets,
                reshape=reshape, size=size, normalize=normalize)
