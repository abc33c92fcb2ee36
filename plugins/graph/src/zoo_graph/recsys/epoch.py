"""The epoch loop shared by the recommendation trainers."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def optimize_over_pairs(train: torch.Tensor, batch_size: int,
                        batch_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                        optimizer: torch.optim.Optimizer, generator: torch.Generator | None = None,
                        time_budget: float | None = None) -> tuple[float, int]:
    """One pass over the shuffled ``[2, P]`` (user, item) training pairs, one optimizer step per batch.

    ``batch_loss(users, items)`` returns the batch's loss. ``time_budget`` (seconds) stops the epoch
    early, for benchmarks with a wall-clock budget. Returns (mean batch loss, batches run).
    """
    started = time.perf_counter()
    order = torch.randperm(train.shape[1], generator=generator)
    total, batches = 0.0, 0
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        loss = batch_loss(train[0, index], train[1, index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
        if time_budget is not None and time.perf_counter() - started > time_budget:
            break
    return total / max(batches, 1), batches
