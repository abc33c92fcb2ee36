"""zoo-weather demo (CPU, about a minute): PuYun on real fields, scored against persistence.

What is real here, and what is not:
- the global 69-channel state is the NCEP GFS 2.5° forecast valid 2011-01-15 12Z shipped in Debian's
  python-grib-doc (69 messages of it are committed as the plugin's test data);
- the only real *6-hourly sequence* that installs offline is NCEP reanalysis near-surface air temperature
  over North America (hvsampledata: 20 times, 2014-02-24..28, on cells of the same 2.5° grid). It is
  written into the t2m channel of that region; every other channel stays at the GFS state.
So the model learns real 6-hourly t2m dynamics (advection and the diurnal cycle) over one region,
not global weather. A small PuYun-Short (embed_dim 32, depth 2; the registered size is 77M
parameters) is fitted with the latitude-weighted loss and 2-step autoregressive fine-tuning on the
first 14 times and scored on the last ones, against persistence and climatology.

    python plugins/weather/examples/demo.py [--out demo-out/weather] [--epochs 6]
"""

from __future__ import annotations

import argparse
import time
import warnings
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch
import xarray as xr

import zoo
from zoo_weather import forecast
from zoo_weather.data.gridded import ForecastSamples, open_grib
from zoo_weather.metrics import latitude_weights, persistence, rmse, verifying_truth
from zoo_weather.training import fine_tune

HERE = Path(__file__).resolve().parent
GFS = HERE.parent / "tests" / "data" / "gfs_2p5deg_puyun69.grib2"
TRAIN_TIMES = 14
LEADS_H = (6, 12, 18, 24)


def real_series() -> tuple[xr.Dataset, xr.Dataset]:
    """The global GFS state with the NCEP 6-hourly air temperature in its t2m channel; and the region."""
    spec = find_spec("hvsampledata")
    if spec is None:
        raise SystemExit("this demo needs hvsampledata (pip install hvsampledata==0.1.5) for its NCEP series")
    air = xr.open_dataset(f"{spec.submodule_search_locations[0]}/_data/air_temperature_small.nc")["air"].load()
    air = air.assign_coords(lat=air["lat"].astype(float), lon=air["lon"].astype(float))
    state = open_grib(GFS).isel(time=0, drop=True)
    frames = []
    for when in air["time"].values:
        frame = state.copy(deep=True)
        frame["t2m"].loc[{"lat": air["lat"], "lon": air["lon"]}] = air.sel(time=when).values.astype(np.float32)
        frames.append(frame.expand_dims(time=[when]))
    return xr.concat(frames, dim="time"), air


def regional_rmse(forecast_ds: xr.Dataset, truth: xr.Dataset, region) -> np.ndarray:
    fields = forecast_ds[["t2m"]].sel(lat=region["lat"], lon=region["lon"])
    return rmse(fields, verifying_truth(fields, truth[["t2m"]].sel(lat=region["lat"], lon=region["lon"])))["t2m"].values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo-out/weather")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.manual_seed(0)
    torch.set_num_threads(min(2, torch.get_num_threads()))

    series, air = real_series()
    print(f"state: {len(series.time)} 6-hourly global 2.5° states, 69 channels; real t2m over "
          f"{air.sizes['lat']}×{air.sizes['lon']} cells")
    model = zoo.load("puyun-short", grid="2.5", embed_dim=32, depth=2)
    train = ForecastSamples(series.isel(time=slice(0, TRAIN_TIMES)), rollout=2)
    model.fit_normalization(train.values)
    start = time.perf_counter()
    losses = fine_tune(model, train, epochs=args.epochs, rollout=2, lr=3e-3)
    print(f"fitted {sum(p.numel() for p in model.parameters()):,} parameters on {len(train)} samples: "
          f"loss {np.mean(losses[:len(train)]):.4f} → {np.mean(losses[-len(train):]):.4f} "
          f"in {time.perf_counter() - start:.0f} s")

    # Score every init of the held-out part with enough truth left for the longest lead.
    leads = np.array(LEADS_H, dtype="timedelta64[h]").astype("timedelta64[ns]")
    inits = range(TRAIN_TIMES, len(series.time) - max(LEADS_H) // 6)
    runs = []
    for index in inits:
        steps = list(forecast(model, series.isel(time=[index - 1, index]), steps=len(LEADS_H)))
        runs.append(xr.concat(steps, dim="lead_time"))
    model_fc = xr.concat(runs, dim="time")
    persist_fc = persistence(series.isel(time=list(inits)), leads)
    clim = series.isel(time=slice(0, TRAIN_TIMES)).mean("time")
    clim_fc = clim.expand_dims(time=persist_fc["time"], lead_time=leads)
    scores = {name: regional_rmse(fc, series, air) for name, fc in
              (("PuYun (fitted)", model_fc), ("persistence", persist_fc), ("climatology", clim_fc))}
    print("t2m RMSE over the NCEP region (K), WeatherBench 2 definition, held-out inits:",
          [str(np.datetime_as_string(t, unit='h')) for t in model_fc.time.values])
    print("lead (h)        " + "".join(f"{h:>8d}" for h in LEADS_H))
    for name, values in scores.items():
        print(f"{name:<16}" + "".join(f"{v:8.3f}" for v in values))
    wins = scores["PuYun (fitted)"] < scores["persistence"]
    verdict = ("beats persistence at every lead" if wins.all() else
               f"beats persistence at {int(wins.sum())} of {len(wins)} leads" if wins.any() else
               "does NOT beat persistence")
    print(f"verdict: the fitted model {verdict} (one region, one variable, {len(runs)} held-out inits)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, values in scores.items():
        ax.plot(LEADS_H, values, marker="o", label=name)
    ax.set(xlabel="lead time (h)", ylabel="t2m RMSE (K)", title="NCEP region, held-out inits", xticks=LEADS_H)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "rmse_vs_lead.png", dpi=110)

    last = model_fc.isel(time=0).sel(lead_time=leads[-1])
    truth = series.sel(time=model_fc.time.values[0] + leads[-1])
    region = {"lat": air["lat"], "lon": air["lon"]}
    panels = {"truth (NCEP)": truth["t2m"].sel(region), "PuYun +24 h": last["t2m"].sel(region),
              "persistence +24 h": persist_fc.isel(time=0).sel(lead_time=leads[-1])["t2m"].sel(region)}
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
    low, high = float(panels["truth (NCEP)"].min()), float(panels["truth (NCEP)"].max())
    for ax, (title, field) in zip(axes, panels.items()):
        mesh = ax.pcolormesh(field["lon"], field["lat"], field, vmin=low, vmax=high, cmap="coolwarm")
        ax.set(title=title, xlabel="longitude (°E)")
    axes[0].set_ylabel("latitude (°N)")
    fig.colorbar(mesh, ax=axes, label="t2m (K)")
    fig.savefig(out / "t2m_maps.png", dpi=110, bbox_inches="tight")
    weights = latitude_weights(series["lat"].values)
    print(f"wrote {out / 'rmse_vs_lead.png'} and {out / 't2m_maps.png'} (latitude weights mean {weights.mean():.3f})")


if __name__ == "__main__":
    main()
