"""PuYun (arXiv:2409.02123): exact interface, approximate architecture.

Input ``x`` ``[B, 2, 69, H, W]``: the states at t−6h and t in physical units, channels
:data:`zoo_weather.channels.CHANNELS`, rows north → south, longitudes 0 → 360; ``time_embedding``
``[B, 12]`` (:func:`zoo_weather.channels.time_embedding`). Output ``[B, 69, H, W]``: the state at
t+6h in physical units. The normalisation lives inside the model (as in the released ONNX files).

Inside (assumed, see ``puyun_specs.ASSUMED``): normalise → stack the two times (138 channels) →
pad the rows to a multiple of 2·patch (721 → 728 at 0.25°) → 4×4 patch embedding plus a projected
time embedding → stride-2 down → ``depth`` VAN/LKA blocks → transposed-conv up, fused with the
skip → 1×1 head and pixel shuffle back to the grid → crop the padding rows → add the predicted
6-h change (in normalised units) to the state at t. The head starts at zero, so an untrained model
forecasts persistence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo.errors import ConfigError
from zoo_weather.blocks import SphereConv2d, VANBlock
from zoo_weather.cascade import Prognostic
from zoo_weather.channels import NUM_CHANNELS, STAGES, default_normalization, grid_shape, time_embedding
from zoo_weather.models.puyun_specs import ARCHITECTURE, DEFAULT_GRID

TIME_FEATURES = 12


class PuYun(Prognostic, nn.Module):
    """One stage of the PuYun cascade on one grid (see the module docstring for shapes).

    ``model(x, time_embedding)`` is one step; ``model(x6, coords)`` with an earth2studio coordinate
    dict is the same step in earth2studio's prognostic protocol (see :mod:`zoo_weather.cascade`).
    """

    def __init__(self, stage: str = "short", grid: str = DEFAULT_GRID, patch_size: int = 4, embed_dim: int = 512,
                 depth: int = 24, mlp_ratio: float = 4.0, layer_scale: float = 1e-2):
        super().__init__()
        if stage not in STAGES:
            raise ConfigError(f"puyun: stage must be one of {STAGES}, got {stage!r}")
        self.name, self.stage, self.grid = f"puyun-{stage}", stage, grid
        self.rows, self.cols = grid_shape(grid)
        self.patch_size = patch_size
        multiple = 2 * patch_size  # the patch embedding, then one stride-2 level
        if self.cols % multiple:
            raise ConfigError(f"{self.name}: {self.cols} longitudes are not a multiple of 2·patch_size = {multiple}")
        extra = -self.rows % multiple
        self.pad_north, self.pad_south = extra // 2, extra - extra // 2
        mean, std = default_normalization()
        self.register_buffer("mean", torch.tensor(mean).view(NUM_CHANNELS, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(NUM_CHANNELS, 1, 1))

        self.embed = nn.Conv2d(2 * NUM_CHANNELS, embed_dim, patch_size, stride=patch_size)
        self.time = nn.Sequential(nn.Linear(TIME_FEATURES, embed_dim), nn.GELU(), nn.Linear(embed_dim, embed_dim))
        self.down = SphereConv2d(embed_dim, embed_dim, 3, stride=2)
        self.blocks = nn.Sequential(*(VANBlock(embed_dim, mlp_ratio, layer_scale) for _ in range(depth)))
        self.up = nn.ConvTranspose2d(embed_dim, embed_dim, 2, stride=2)
        self.fuse = nn.Conv2d(2 * embed_dim, embed_dim, 1)
        self.head = nn.Conv2d(embed_dim, NUM_CHANNELS * patch_size**2, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def check_inputs(self, x: torch.Tensor, time_embedding: torch.Tensor) -> None:
        sizes = zoo.expect_shape(x, "B 2 C H W", C=NUM_CHANNELS, H=self.rows, W=self.cols, dtype="float",
                                 model=self.name)
        zoo.expect_shape(time_embedding, "B 12", B=sizes["B"], dtype="float", name="time_embedding",
                         model=self.name)

    def stage_model(self, step: int) -> PuYun:
        return self

    def forward(self, x: torch.Tensor, time_embedding: torch.Tensor | Mapping):
        if isinstance(time_embedding, Mapping):
            return self.prognostic_call(x, time_embedding)
        self.check_inputs(x, time_embedding)
        z = ((x - self.mean) / self.std).flatten(1, 2)
        z = F.pad(z, (0, 0, self.pad_north, self.pad_south), mode="replicate")
        h = self.embed(z) + self.time(time_embedding)[:, :, None, None]
        skip = h
        h = self.blocks(self.down(h))
        h = self.fuse(torch.cat([self.up(h), skip], dim=1))
        change = F.pixel_shuffle(self.head(h), self.patch_size)[:, :, self.pad_north:self.pad_north + self.rows]
        return x[:, 1] + change * self.std

    @torch.no_grad()
    def fit_normalization(self, states: torch.Tensor) -> None:
        """Replace the normalisation by per-channel statistics of ``states`` ``[N, 69, H, W]`` (physical units)."""
        zoo.expect_shape(states, "N C H W", C=NUM_CHANNELS, dtype="float", name="states", model=self.name)
        self.mean.copy_(states.mean(dim=(0, 2, 3)).view_as(self.mean))
        self.std.copy_(states.std(dim=(0, 2, 3)).clamp_min(1e-6).view_as(self.std))


def build_puyun(stage: str = "short", grid: str = DEFAULT_GRID, **architecture) -> PuYun:
    """Build ``puyun-short`` / ``-medium`` / ``-long`` on ``grid`` ("0.25", "1.5", "2.5" or "5.625")."""
    unknown = set(architecture) - set(ARCHITECTURE)
    if unknown:
        raise ConfigError(f"puyun: unknown config keys {sorted(unknown)}; known: {sorted(ARCHITECTURE)}")
    return PuYun(stage, grid, **{**ARCHITECTURE, **architecture})


def example_input(config: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """A plausible (t−6h, t) state on the config's grid and the step-0 time embedding of 2018-01-01 06 UTC."""
    rows, cols = grid_shape(config.get("grid", DEFAULT_GRID))
    mean, std = (torch.tensor(v).view(1, 1, NUM_CHANNELS, 1, 1) for v in default_normalization())
    generator = torch.Generator().manual_seed(0)
    x = mean + 0.5 * std * torch.randn(1, 2, NUM_CHANNELS, rows, cols, generator=generator)
    temb = torch.tensor([time_embedding(datetime(2018, 1, 1, 6), 0)])
    return x, temb


def bad_input(config: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """A single time slice where the model needs two."""
    x, temb = example_input(config)
    return x[:, 1], temb
