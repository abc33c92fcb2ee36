"""WeatherBench 2 scores on Datasets in the model layout (:mod:`zoo_weather.state`).

Rasp et al., "WeatherBench 2: A benchmark for the next generation of data-driven global weather
models", arXiv:2308.15560. Definitions as in its ``metrics.py``:

- latitude weights ``w_i`` = area of the latitude band of row ``i`` (``sin φ_upper − sin φ_lower``, bands
  bounded by the midpoints between rows, the outer ones half a spacing beyond the last rows, clipped at
  the poles), divided by their mean;
- ``RMSE = sqrt( mean_over_inits( Σ w (f − o)² / Σ w ) )``: the square root is taken *after* averaging the
  weighted MSE over initialisation times (some papers average per-forecast RMSEs instead);
- ``ACC = mean_over_inits( Σ w f'o' / sqrt(Σ w f'² · Σ w o'²) )`` with anomalies ``f' = f − c``, ``o' = o − c``
  from a climatology ``c`` (uncentred, no spatial mean removed);
- ``bias = mean_over_inits( Σ w (f − o) / Σ w )``.

Forecasts carry dims ``(time, lead_time, ...)`` with ``time`` the initialisation; :func:`verifying_truth`
picks the truth at ``time + lead_time``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from zoo.errors import DatasetFormatError

SPATIAL = ("lat", "lon")
HEADLINE = (("z", 500), ("t", 850), ("u", 850), ("r", 700), ("t2m", None), ("u10m", None), ("msl", None))


def latitude_weights(lat) -> xr.DataArray:
    """WeatherBench 2's cell-area weights (mean 1) for latitudes in degrees, in either order."""
    lat = np.asarray(lat, dtype=np.float64)
    order = np.argsort(lat)
    points = np.deg2rad(lat[order])
    if len(points) > 1 and not np.allclose(np.diff(points), np.diff(points)[0], rtol=1e-4):
        raise DatasetFormatError("latitude weights need uniformly spaced latitudes")
    half = (points[1] - points[0]) / 2 if len(points) > 1 else np.pi / 2
    bounds = np.concatenate([[max(points[0] - half, -np.pi / 2)], (points[:-1] + points[1:]) / 2,
                             [min(points[-1] + half, np.pi / 2)]])
    area = np.sin(bounds[1:]) - np.sin(bounds[:-1])
    weights = np.empty_like(area)
    weights[order] = area / area.mean()
    return xr.DataArray(weights, dims=["lat"], coords={"lat": lat})


def _spatial_mean(field: xr.DataArray | xr.Dataset) -> xr.DataArray | xr.Dataset:
    return field.weighted(latitude_weights(field["lat"].values)).mean(SPATIAL)


def verifying_truth(forecast: xr.Dataset, truth: xr.Dataset) -> xr.Dataset:
    """The truth at each forecast's valid time, laid out like ``forecast`` (``time`` × ``lead_time``)."""
    valid = forecast["time"] + forecast["lead_time"]
    missing = np.setdiff1d(valid.values.ravel(), truth["time"].values)
    if missing.size:
        raise DatasetFormatError(f"the truth lacks the valid times {missing[:5].tolist()}")
    picked = truth.sel(time=valid.rename(time="init")).drop_vars("time").rename(init="time")
    return picked.assign_coords(time=forecast["time"], lead_time=forecast["lead_time"])


def mse(forecast, truth) -> xr.Dataset:
    """Latitude-weighted spatial MSE per init and lead time."""
    return _spatial_mean((forecast - truth) ** 2)


def rmse(forecast, truth, *, over: str = "time"):
    """WeatherBench 2 RMSE: √ of the mean over ``over`` (init times) of the weighted MSE."""
    return np.sqrt(mse(forecast, truth).mean(over))


def bias(forecast, truth, *, over: str = "time"):
    return _spatial_mean(forecast - truth).mean(over)


def acc(forecast, truth, climatology, *, over: str = "time"):
    """Anomaly correlation coefficient against ``climatology`` (broadcastable against the fields)."""
    f, o = forecast - climatology, truth - climatology
    weights = latitude_weights(forecast["lat"].values)
    num = (weights * f * o).sum(SPATIAL)
    den = np.sqrt((weights * f**2).sum(SPATIAL) * (weights * o**2).sum(SPATIAL))
    return (num / den).mean(over)


def persistence(initial: xr.Dataset, lead_times) -> xr.Dataset:
    """The persistence baseline: the state at each init repeated at every lead time."""
    lead = xr.DataArray(np.asarray(lead_times, dtype="timedelta64[ns]"), dims="lead_time")
    return initial.expand_dims(lead_time=lead).transpose("time", "lead_time", ...)


def climatology_forecast(climatology: xr.Dataset, like: xr.Dataset) -> xr.Dataset:
    """The climatology baseline laid out like the forecast ``like``."""
    return climatology.broadcast_like(like)[list(like.data_vars)]


def scorecard(forecast: xr.Dataset, truth: xr.Dataset, *, climatology: xr.Dataset | None = None,
              headline=HEADLINE):
    """A ``pandas.DataFrame`` of RMSE (and bias, ACC with a climatology) per headline variable and lead time."""
    import pandas as pd

    truth = verifying_truth(forecast, truth)
    rows = []
    scores = {"rmse": rmse(forecast, truth), "bias": bias(forecast, truth)}
    if climatology is not None:
        scores["acc"] = acc(forecast, truth, climatology)
    for variable, level in headline:
        for name, score in scores.items():
            field = score[variable] if level is None else score[variable].sel(level=level)
            for lead, value in zip(field["lead_time"].values, np.atleast_1d(field.values)):
                rows.append({"variable": f"{variable}{level or ''}", "metric": name,
                             "lead_time_h": int(lead / np.timedelta64(1, "h")), "value": float(value)})
    return pd.DataFrame(rows).pivot_table(index=["metric", "variable"], columns="lead_time_h", values="value")
