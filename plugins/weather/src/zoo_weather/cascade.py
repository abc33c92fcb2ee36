"""Autoregressive 6-hour forecasts with the PuYun cascade, and the earth2studio prognostic protocol.

``forecast(model_or_cascade, initial_state, steps=...)`` rolls the state forward: step ``i`` (0-based)
runs the short model for ``i < 20``, the medium one for ``i < 40`` and the long one after, as the
authors' ai-models plugin does. No autograd graph is kept and only the last two states are held,
so memory does not grow with the number of steps. Each step is yielded as an ``xarray.Dataset`` in
the model layout (:mod:`zoo_weather.state`) with coords ``time`` (the initial time t), ``lead_time``,
``level``, ``lat``, ``lon``.

The models (``PuYun``, ``PuYunOnnx``) and :class:`Cascade` also follow earth2studio's
``PrognosticModel`` protocol (0.x, tensor form): ``model(x, coords)`` with ``x``
``[batch, time, lead_time=2, variable=69, lat, lon]`` (any number of batch dims, none included) and
``coords`` an ``OrderedDict`` of numpy arrays, ``create_iterator(x, coords)``, ``input_coords()``,
``output_coords(input_coords)``, ``to(device)``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import datetime

import numpy as np
import torch
from torch import nn

from zoo.errors import ConfigError, InputShapeError
from zoo_weather.channels import (
    CHANNELS,
    NUM_CHANNELS,
    STAGE_STEPS,
    STAGES,
    STEP_HOURS,
    latitudes,
    longitudes,
    stage_of_step,
    time_embedding,
)

SIX_HOURS = np.timedelta64(STEP_HOURS, "h")
CORE_DIMS = ("time", "lead_time", "variable", "lat", "lon")


def _to_datetime(value) -> datetime:
    import pandas as pd

    return pd.Timestamp(value).to_pydatetime()


def _embeddings(times, device) -> torch.Tensor:
    """``[len(times), 12]`` step-0 embeddings of the given latest-input valid times."""
    return torch.tensor([time_embedding(_to_datetime(t), 0) for t in times], dtype=torch.float32, device=device)


class Prognostic:
    """earth2studio's ``PrognosticModel`` protocol on top of ``self.stage_model(step)`` and ``self.grid``."""

    grid: str

    def stage_model(self, step: int) -> nn.Module:
        raise NotImplementedError

    def input_coords(self) -> OrderedDict:
        return OrderedDict(batch=np.empty(0), time=np.empty(0), lead_time=np.array([-SIX_HOURS, 0 * SIX_HOURS]),
                           variable=np.array(CHANNELS), lat=np.array(latitudes(self.grid)),
                           lon=np.array(longitudes(self.grid)))

    def output_coords(self, input_coords: Mapping) -> OrderedDict:
        """The coords one step later; any dims before ``time`` are batch dims (earth2studio's ``batch_func``)."""
        expected = self.input_coords()
        keys = list(input_coords)
        if keys[-len(CORE_DIMS):] != list(CORE_DIMS):
            raise InputShapeError(f"coords must end with the dims {list(CORE_DIMS)} (after any batch dims), got {keys}")
        for key in ("variable", "lat", "lon"):
            given = np.asarray(input_coords[key])
            if given.shape != expected[key].shape or not (
                    given == expected[key] if key == "variable" else np.isclose(given, expected[key])).all():
                raise InputShapeError(f"coords[{key!r}] do not match the model's ({key} of grid {self.grid})")
        lead = np.asarray(input_coords["lead_time"])
        if lead.shape != (2,) or lead[1] - lead[0] != SIX_HOURS:
            raise InputShapeError(f"coords['lead_time'] must be two times 6 h apart, got {lead}")
        out = OrderedDict(input_coords)
        out["lead_time"] = lead[1:] + SIX_HOURS
        return out

    def _step(self, x: torch.Tensor, coords: Mapping, step: int) -> tuple[torch.Tensor, OrderedDict]:
        out_coords = self.output_coords(coords)
        if x.dim() != len(coords) or tuple(x.shape[-4:-2]) != (2, NUM_CHANNELS):
            raise InputShapeError(f"x must be [*batch, time, lead_time=2, variable=69, lat, lon] matching coords "
                                  f"{list(coords)}, got {list(x.shape)}")
        leading, times = x.shape[:-5], x.shape[-5]
        valid = np.asarray(coords["time"]) + np.asarray(coords["lead_time"])[-1]
        if len(valid) != times:
            raise InputShapeError(f"coords['time'] has {len(valid)} entries, x has {times} times")
        flat = x.reshape(-1, *x.shape[-4:])  # [batch · time, 2, 69, lat, lon]
        temb = _embeddings(np.tile(valid, flat.shape[0] // times), x.device)
        with torch.inference_mode():
            out = self.stage_model(step)(flat, temb)
        return out.view(*leading, times, 1, *out.shape[1:]), out_coords

    def prognostic_call(self, x: torch.Tensor, coords: Mapping) -> tuple[torch.Tensor, OrderedDict]:
        """One 6-h step with the short model (earth2studio's ``__call__``)."""
        return self._step(x, coords, 0)

    def create_iterator(self, x: torch.Tensor, coords: Mapping) -> Iterator[tuple[torch.Tensor, OrderedDict]]:
        """The initial state (lead time 0), then one step after another, switching stages at 20 and 40."""
        coords = OrderedDict(coords)
        self.output_coords(coords)
        first = OrderedDict(coords, lead_time=np.asarray(coords["lead_time"])[1:])
        yield x[..., 1:, :, :, :], first
        step = 0
        while True:
            out, out_coords = self._step(x, coords, step)
            yield out, out_coords
            x = torch.cat([x[..., 1:, :, :, :], out], dim=-4)
            coords["lead_time"] = np.asarray(coords["lead_time"]) + SIX_HOURS
            step += 1


class Cascade(Prognostic, nn.Module):
    """PuYun-Short → -Medium → -Long: step ``i`` runs ``stages[min(2, i // 20)]``.

    A missing later stage falls back on the previous one (a Short-only cascade runs Short throughout).
    """

    def __init__(self, short: nn.Module, medium: nn.Module | None = None, long: nn.Module | None = None):
        super().__init__()
        given = {"short": short, "medium": medium, "long": long}
        grids = {getattr(m, "grid", None) for m in given.values() if m is not None}
        if len(grids) != 1 or None in grids:
            raise ConfigError(f"the cascade's models must share one grid, got {sorted(map(str, grids))}")
        self.grid = grids.pop()
        self.stages = nn.ModuleDict({k: m for k, m in given.items() if m is not None})

    def stage_model(self, step: int) -> nn.Module:
        stage = stage_of_step(step)
        while stage not in self.stages:
            stage = STAGES[STAGES.index(stage) - 1]
        return self.stages[stage]

    def forward(self, x: torch.Tensor, coords: Mapping) -> tuple[torch.Tensor, OrderedDict]:
        return self.prognostic_call(x, coords)


def _initial_tensor(initial_state, init_time, grid: str) -> tuple[torch.Tensor, datetime]:
    import xarray as xr

    from zoo_weather.state import to_array

    if isinstance(initial_state, xr.Dataset):
        times = initial_state["time"].values
        if len(times) < 2:
            raise InputShapeError("the initial state needs two times (t−6h, t); got "
                                  f"{len(times)} (duplicate the state explicitly if only one is available)")
        times = times[-2:]
        if (times[1] - times[0]).astype("timedelta64[h]") != SIX_HOURS:
            raise InputShapeError(f"the two initial times must be 6 h apart, got {times}")
        values = torch.from_numpy(to_array(initial_state.sel(time=times)))
        lat, lon = latitudes(grid), longitudes(grid)
        if initial_state.sizes["lat"] != len(lat) or initial_state.sizes["lon"] != len(lon):
            raise InputShapeError(f"the initial state is on a {initial_state.sizes['lat']}×{initial_state.sizes['lon']}"
                                  f" grid, the model on {len(lat)}×{len(lon)} ({grid}°): regrid it first "
                                  "(zoo_weather.data.gridded.regrid)")
        return values, init_time or _to_datetime(times[1])
    if init_time is None:
        raise ConfigError("a tensor initial state needs init_time= (the valid time of its second slice)")
    return torch.as_tensor(initial_state, dtype=torch.float32), init_time


def _device(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def forecast(model_or_cascade, initial_state, steps: int = 40, *, init_time: datetime | None = None):
    """Yield ``steps`` 6-hourly forecasts, each an ``xarray.Dataset`` (see the module docstring).

    ``model_or_cascade``: a PuYun model (torch or ONNX) or a :class:`Cascade`. ``initial_state``: a
    Dataset in the model layout holding (at least) the two times t−6h and t on the model's grid, or
    a ``[2, 69, H, W]`` tensor in physical units with ``init_time`` = t. The stage that made each
    step is stored in the Dataset's ``attrs['stage']``.
    """
    from zoo_weather.state import from_array

    cascade = model_or_cascade if isinstance(model_or_cascade, Cascade) else Cascade(model_or_cascade)
    if steps < 1:
        raise ConfigError(f"steps must be at least 1, got {steps}")
    x, init = _initial_tensor(initial_state, init_time, cascade.grid)
    rows, cols = len(latitudes(cascade.grid)), len(longitudes(cascade.grid))
    if tuple(x.shape) != (2, NUM_CHANNELS, rows, cols):
        raise InputShapeError(f"the initial state must be [2, 69, {rows}, {cols}], got {list(x.shape)}")
    x = x.unsqueeze(0).to(_device(cascade))
    lat, lon = latitudes(cascade.grid), longitudes(cascade.grid)
    for step in range(steps):
        model = cascade.stage_model(step)
        temb = torch.tensor([time_embedding(init, step)], device=x.device)
        with torch.inference_mode():
            out = model(x, temb)
        x = torch.stack([x[:, 1], out], dim=1)
        lead = np.array([SIX_HOURS * (step + 1)], dtype="timedelta64[ns]")
        ds = from_array(out.float().cpu().numpy()[None], lat, lon, time=np.array([init], dtype="datetime64[ns]"),
                        lead_time=lead)
        ds.attrs.update(stage=getattr(model, "stage", stage_of_step(step)), step=step, model=getattr(model, "name", ""))
        yield ds


__all__ = ["Cascade", "Prognostic", "STAGE_STEPS", "forecast"]
