"""The PuYun state: its 69 channels, its grids and its time embedding (torch- and numpy-free).

The contract is the one of the authors' ai-models plugin (PuYun, arXiv:2409.02123):
z, t, u, v, r on 13 pressure levels ordered 50 → 1000 hPa, then 2t, 10u, 10v, msl, in physical
units (z is geopotential in m² s⁻², r relative humidity in %). Channel names follow the
earth2studio lexicon (``z500``, ``t850``, ``t2m``, ``u10m``, ``msl``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

LEVELS = (50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 850, 925, 1000)  # hPa, in the model's order
PRESSURE_VARIABLES = ("z", "t", "u", "v", "r")
SURFACE_VARIABLES = ("t2m", "u10m", "v10m", "msl")
CHANNELS = tuple(f"{v}{level}" for v in PRESSURE_VARIABLES for level in LEVELS) + SURFACE_VARIABLES
NUM_CHANNELS = len(CHANNELS)  # 69

UNITS = {"z": "m2 s-2", "t": "K", "u": "m s-1", "v": "m s-1", "r": "%",
         "t2m": "K", "u10m": "m s-1", "v10m": "m s-1", "msl": "Pa"}

STEP_HOURS = 6
STAGES = ("short", "medium", "long")
STAGE_STEPS = 20  # the ai-models plugin: step i (0-based) runs stages[min(2, i // 20)]

# name -> (rows, columns, first latitude, spacing). Rows run north to south; the 0.25°, 1.5° and
# 2.5° grids include both poles, WeatherBench 2's 5.625° grid is offset by half a cell.
GRIDS = {
    "0.25": (721, 1440, 90.0, 0.25),
    "1.5": (121, 240, 90.0, 1.5),
    "2.5": (73, 144, 90.0, 2.5),
    "5.625": (32, 64, 90.0 - 5.625 / 2, 5.625),
}


def grid_shape(grid: str) -> tuple[int, int]:
    from zoo.errors import ConfigError

    if grid not in GRIDS:
        raise ConfigError(f"unknown grid {grid!r}; PuYun grids are {sorted(GRIDS, key=float)} (degrees)")
    rows, cols, _, _ = GRIDS[grid]
    return rows, cols


def latitudes(grid: str) -> list[float]:
    """Cell-centre latitudes, north to south (90 → −90 on the grids that include the poles)."""
    rows, _ = grid_shape(grid)
    _, _, first, step = GRIDS[grid]
    return [first - step * i for i in range(rows)]


def longitudes(grid: str) -> list[float]:
    """Longitudes 0 → 360 − spacing, eastwards."""
    _, cols = grid_shape(grid)
    step = GRIDS[grid][3]
    return [step * j for j in range(cols)]


def channel_index(name: str) -> int:
    from zoo.errors import UnknownNameError

    try:
        return CHANNELS.index(name)
    except ValueError:
        raise UnknownNameError("PuYun channel", name, CHANNELS) from None


def stage_of_step(step: int) -> str:
    """The cascade stage that makes forecast step ``step`` (0-based): 0-19 short, 20-39 medium, then long."""
    return STAGES[min(len(STAGES) - 1, step // STAGE_STEPS)]


def time_embedding(init_time: datetime, step: int) -> list[float]:
    """The 12 values PuYun (as FuXi) takes for forecast step ``step`` (0-based) from ``init_time``.

    ``init_time`` is the valid time of the latest input slice ``t``. The three valid times
    ``init + 6h·(step−1)``, ``init + 6h·step`` and ``init + 6h·(step+1)`` each give
    ``[sin(doy/366), sin(hour/24), cos(doy/366), cos(hour/24)]`` (day of year from 1, no 2π,
    exactly as the authors' plugin computes it); the three are concatenated.
    """
    values: list[float] = []
    for offset in (step - 1, step, step + 1):
        when = init_time + timedelta(hours=STEP_HOURS * offset)
        day, hour = when.timetuple().tm_yday / 366, when.hour / 24
        values += [math.sin(day), math.sin(hour), math.cos(day), math.cos(hour)]
    return values


# Normalisation the model starts from (its buffers; `PuYun.fit_normalization` replaces them with
# statistics of the training data). Means of z and t follow the ICAO standard atmosphere, so every
# level starts near zero mean; the spreads are typical ERA5 magnitudes. ⚠ assumed: the released
# ONNX files bake in the authors' statistics, which are not published.
_G, _R, _LAPSE, _T0, _P0 = 9.80665, 287.05, 0.0065, 288.15, 1013.25
_TROPOPAUSE_T, _TROPOPAUSE_P = 216.65, 226.32
SPREAD = {"z": 3000.0, "t": 10.0, "u": 12.0, "v": 8.0, "r": 30.0,
          "t2m": 20.0, "u10m": 5.5, "v10m": 4.5, "msl": 1200.0}
SURFACE_MEAN = {"t2m": 278.0, "u10m": 0.0, "v10m": 0.0, "msl": 101100.0}
PRESSURE_MEAN = {"u": 5.0, "v": 0.0, "r": 50.0}


def standard_atmosphere(level_hpa: float) -> tuple[float, float]:
    """(geopotential in m² s⁻², temperature in K) of the ICAO standard atmosphere at ``level_hpa``."""
    exponent = _R * _LAPSE / _G
    if level_hpa >= _TROPOPAUSE_P:
        temperature = _T0 * (level_hpa / _P0) ** exponent
        return _G * (_T0 - temperature) / _LAPSE, temperature
    tropopause_z, _ = standard_atmosphere(_TROPOPAUSE_P)
    return tropopause_z + _R * _TROPOPAUSE_T * math.log(_TROPOPAUSE_P / level_hpa), _TROPOPAUSE_T


def default_normalization() -> tuple[list[float], list[float]]:
    """(mean, std) per channel, in :data:`CHANNELS` order."""
    mean, std = [], []
    for variable in PRESSURE_VARIABLES:
        for level in LEVELS:
            z, t = standard_atmosphere(level)
            mean.append({"z": z, "t": t}.get(variable, PRESSURE_MEAN.get(variable, 0.0)))
            std.append(SPREAD[variable])
    for variable in SURFACE_VARIABLES:
        mean.append(SURFACE_MEAN[variable])
        std.append(SPREAD[variable])
    return mean, std
