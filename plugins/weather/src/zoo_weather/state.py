"""The PuYun state as an ``xarray.Dataset`` and back.

The *model layout*: data variables ``z, t, u, v, r`` with dims ``(time, level, lat, lon)`` (level in
hPa, ordered 50 → 1000) and ``t2m, u10m, v10m, msl`` with dims ``(time, lat, lon)``; latitudes north
→ south, longitudes 0 → 360; physical units (:data:`zoo_weather.channels.UNITS`). Forecasts add a
``lead_time`` dim. Names follow the earth2studio lexicon.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from zoo.errors import DatasetFormatError
from zoo_weather.channels import LEVELS, NUM_CHANNELS, PRESSURE_VARIABLES, SURFACE_VARIABLES, UNITS

VARIABLES = PRESSURE_VARIABLES + SURFACE_VARIABLES


def to_array(ds: xr.Dataset) -> np.ndarray:
    """``[..., 69, lat, lon]`` float32 in channel order from a Dataset in the model layout."""
    missing = [name for name in VARIABLES if name not in ds]
    if missing:
        raise DatasetFormatError(f"the state lacks the variables {missing} (the model layout has {list(VARIABLES)})")
    parts = []
    for name in PRESSURE_VARIABLES:
        field = ds[name].sel(level=list(LEVELS))
        parts.append(field.transpose(..., "level", "lat", "lon").values)
    for name in SURFACE_VARIABLES:
        parts.append(ds[name].transpose(..., "lat", "lon").values[..., None, :, :])
    return np.concatenate(parts, axis=-3).astype(np.float32)


def from_array(values, lat, lon, **coords) -> xr.Dataset:
    """A Dataset in the model layout from ``values`` ``[*lead, 69, lat, lon]``.

    ``coords`` name the leading dims in order (e.g. ``time=[t0], lead_time=[np.timedelta64(6, 'h')]``);
    their lengths must match the leading dims of ``values``.
    """
    values = np.asarray(values)
    lead = tuple(coords)
    if values.ndim != len(lead) + 3 or values.shape[-3] != NUM_CHANNELS:
        raise DatasetFormatError(f"expected values of shape [{', '.join(lead)}, 69, lat, lon], got {values.shape}")
    n = len(LEVELS)
    data = {}
    for k, name in enumerate(PRESSURE_VARIABLES):
        data[name] = ((*lead, "level", "lat", "lon"), values[..., k * n:(k + 1) * n, :, :], {"units": UNITS[name]})
    for k, name in enumerate(SURFACE_VARIABLES):
        data[name] = ((*lead, "lat", "lon"), values[..., len(PRESSURE_VARIABLES) * n + k, :, :],
                      {"units": UNITS[name]})
    return xr.Dataset(data, coords={**{key: np.asarray(value) for key, value in coords.items()},
                                    "level": ("level", np.array(LEVELS), {"units": "hPa"}),
                                    "lat": ("lat", np.asarray(lat, dtype=np.float64), {"units": "degrees_north"}),
                                    "lon": ("lon", np.asarray(lon, dtype=np.float64), {"units": "degrees_east"})})
