"""TD3Net's LRW training recipe (Lee et al., arXiv:2506.16073; the authors' ``main.py``): AdamW at
3e-4 with weight decay 1e-2, cosine annealing to 0 over 120 epochs (stepped per epoch), batches of
32, mixup with alpha 0.4 and plain cross-entropy. The word boundary, when the model takes one, is
passed unmixed, as mpc001 does.

    loader = torch.utils.data.DataLoader(zoo.dataset("lrw", root=..., split="train"), batch_size=32, shuffle=True)
    losses = fit(zoo.build("td3net-base"), loader)        # one mean loss per epoch
"""

from __future__ import annotations

import torch
from torch import nn

RECIPE = dict(lr=3e-4, weight_decay=1e-2, epochs=120, batch_size=32, mixup_alpha=0.4)


def mixup(x: torch.Tensor, y: torch.Tensor, alpha: float = RECIPE["mixup_alpha"]):
    """``lam * x + (1 - lam) * x[perm]`` with ``lam ~ Beta(alpha, alpha)``; returns the mixed batch,
    both label vectors and ``lam``."""
    lam = float(torch.distributions.Beta(alpha, alpha).sample()) if alpha > 0 else 1.0
    perm = torch.randperm(x.shape[0])
    return lam * x + (1 - lam) * x[perm], y, y[perm], lam


def mixup_loss(logits: torch.Tensor, y_a: torch.Tensor, y_b: torch.Tensor, lam: float) -> torch.Tensor:
    return lam * nn.functional.cross_entropy(logits, y_a) + (1 - lam) * nn.functional.cross_entropy(logits, y_b)


def optimiser_for(model: nn.Module, epochs: int = RECIPE["epochs"], lr: float = RECIPE["lr"],
                  weight_decay: float = RECIPE["weight_decay"]):
    """AdamW and the per-epoch cosine schedule over ``epochs``."""
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    return optimiser, torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs, eta_min=0.0)


def train_epoch(model: nn.Module, loader, optimiser, alpha: float = RECIPE["mixup_alpha"]) -> float:
    """One pass over ``loader`` (batches of LRW items: ``video``, ``label``, maybe ``boundary``); the mean loss."""
    model.train()
    total, seen = 0.0, 0
    for batch in loader:
        x, y_a, y_b, lam = mixup(batch["video"], batch["label"], alpha)
        extra = (batch["boundary"],) if getattr(model, "use_boundary", False) else ()
        loss = mixup_loss(model(x, *extra), y_a, y_b, lam)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        total, seen = total + loss.item() * len(y_a), seen + len(y_a)
    return total / max(seen, 1)


def fit(model: nn.Module, loader, epochs: int = RECIPE["epochs"], **options) -> list[float]:
    """The recipe for ``epochs`` epochs (the cosine spans them); returns the mean loss of each."""
    alpha = options.pop("mixup_alpha", RECIPE["mixup_alpha"])
    optimiser, schedule = optimiser_for(model, epochs, **options)
    losses = []
    for _ in range(epochs):
        losses.append(train_epoch(model, loader, optimiser, alpha))
        schedule.step()
    return losses


def mixup_batch(x, y: torch.Tensor, task: str):
    """``zoo train``'s augmentation hook for the LRW recipes: mixup of the video (a boundary, when the
    input is ``(video, boundary)``, stays unmixed, as in mpc001); the target becomes ``(y_a, y_b, lam)``,
    which :func:`mixup_cross_entropy` reads."""
    video, extra = (x[0], x[1:]) if isinstance(x, tuple) else (x, ())
    mixed, y_a, y_b, lam = mixup(video, y)
    return ((mixed, *extra) if extra else mixed), (y_a, y_b, torch.tensor(lam))


def mixup_cross_entropy(logits: torch.Tensor, target, model=None) -> torch.Tensor:
    """``zoo train``'s loss hook: :func:`mixup_loss` on a mixed target, plain cross-entropy on labels."""
    if isinstance(target, tuple):
        y_a, y_b, lam = target
        return mixup_loss(logits, y_a, y_b, float(lam))
    return nn.functional.cross_entropy(logits, target)
