"""Training PuYun: the latitude-weighted loss and multi-step autoregressive fine-tuning.

PuYun (arXiv:2409.02123) does not publish its loss or schedule; like FuXi we use a latitude-weighted
L1 loss on the normalised state (each channel divided by the model's ``std``, so geopotential in
m² s⁻² and humidity in % weigh alike) and fine-tune autoregressively over several 6-h steps,
back-propagating through the whole rollout.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.errors import InputShapeError
from zoo_weather.channels import latitudes


def latitude_weights(grid: str, device=None) -> torch.Tensor:
    """WeatherBench 2's cell-area weights of the grid's rows, mean 1, as ``[H, 1]``."""
    from zoo_weather.metrics import latitude_weights as weights

    return torch.tensor(weights(latitudes(grid)).values, dtype=torch.float32, device=device)[:, None]


def weighted_loss(prediction: torch.Tensor, target: torch.Tensor, std: torch.Tensor, weights: torch.Tensor,
                  kind: str = "l1") -> torch.Tensor:
    """Mean over batch, channels and grid of ``w_lat · |Δ / std|`` (``kind="l1"``) or ``w_lat · (Δ / std)²``."""
    if prediction.shape != target.shape:
        raise InputShapeError(f"prediction {list(prediction.shape)} and target {list(target.shape)} differ")
    error = (prediction - target) / std
    error = error.abs() if kind == "l1" else error**2
    return (error * weights).mean()


def rollout_loss(model: nn.Module, x: torch.Tensor, time_embeddings: torch.Tensor, targets: torch.Tensor,
                 kind: str = "l1") -> torch.Tensor:
    """Autoregressive loss over ``R`` steps: ``x [B, 2, 69, H, W]``, ``time_embeddings [B, R, 12]``,
    ``targets [B, R, 69, H, W]``; each prediction is fed back as the next input."""
    weights = latitude_weights(model.grid, x.device)
    total = x.new_zeros(())
    for step in range(targets.shape[1]):
        prediction = model(x, time_embeddings[:, step])
        total = total + weighted_loss(prediction, targets[:, step], model.std, weights, kind)
        x = torch.stack([x[:, 1], prediction], dim=1)
    return total / targets.shape[1]


def fine_tune(model: nn.Module, samples, *, epochs: int = 1, rollout: int = 1, lr: float = 1e-3,
              batch_size: int = 1, kind: str = "l1", seed: int = 0) -> list[float]:
    """Train ``model`` in place on ``samples`` (a :class:`~zoo_weather.data.gridded.ForecastSamples` built
    with the same ``rollout``); returns the loss of every optimiser step."""
    generator = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(samples, batch_size=batch_size, shuffle=True, generator=generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    losses = []
    for _ in range(epochs):
        for x, temb, target in loader:
            if rollout == 1:
                temb, target = temb[:, None], target[:, None]
            loss = rollout_loss(model, x, temb, target, kind)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    return losses


class OneStep:
    """``zoo train``'s view of one-step :class:`~zoo_weather.data.gridded.ForecastSamples` (a slice of them):
    items ``((x [2, 69, H, W], time_embedding [12]), target [69, H, W])``, the model's grid in ``model_config``."""

    def __init__(self, samples, indices: range, grid: str | None):
        self.samples, self.indices = samples, indices
        self.model_config = {"grid": grid} if grid else {}

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        x, temb, target = self.samples[self.indices[index]]
        return (x, temb), target


def _grid_of(x: torch.Tensor) -> str | None:
    from zoo_weather.channels import GRIDS, grid_shape

    return next((grid for grid in GRIDS if grid_shape(grid) == tuple(x.shape[-2:])), None)


def hold_out_last(train, validation, recipe, config):
    """The prepare hook of the PuYun recipe: the last ``validation_fraction`` of a one-split archive's samples
    (in time) validate, the rest train, so no validation state is ever a training target."""
    from zoo.errors import ConfigError

    if getattr(train, "rollout", 1) != 1:
        raise ConfigError("the PuYun recipe trains one 6-h step: open the data with rollout=1")
    grid = _grid_of(train[0][0])
    if validation is not None:
        return OneStep(train, range(len(train)), grid), OneStep(validation, range(len(validation)), grid)
    held = max(1, round(len(train) * float(recipe.options.get("validation_fraction", 0.1))))
    if held >= len(train):
        raise ConfigError(f"{len(train)} samples are too few to hold {held} out for validation")
    return OneStep(train, range(len(train) - held), grid), OneStep(train, range(len(train) - held, len(train)), grid)


def latitude_weighted_l1(prediction: torch.Tensor, target: torch.Tensor, model) -> torch.Tensor:
    """``zoo train``'s loss hook: :func:`weighted_loss` (L1 of the state divided by the model's std, rows
    weighted by cell area) on the model's grid."""
    return weighted_loss(prediction, target, model.std, latitude_weights(model.grid, prediction.device), "l1")
