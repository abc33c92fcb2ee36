"""WeatherBench 2 metrics against hand computations, and the baselines on real NCEP 6-hourly fields."""

import math
from importlib.util import find_spec

import numpy as np
import pytest
import xarray as xr

from zoo.errors import DatasetFormatError
from zoo_weather.channels import latitudes
from zoo_weather.metrics import (
    acc,
    bias,
    climatology_forecast,
    latitude_weights,
    mse,
    persistence,
    rmse,
    scorecard,
    verifying_truth,
)


def field(values, lat=(90.0, 0.0, -90.0), lon=(0.0, 120.0, 240.0), times=None):
    values = np.asarray(values, dtype=np.float64)
    times = np.arange(values.shape[0]) if times is None else times
    return xr.DataArray(values, dims=("time", "lat", "lon"), coords={"time": times, "lat": list(lat), "lon": list(lon)})


def test_latitude_weights_by_hand():
    # Rows at 90, 0, -90: bands [45, 90], [-45, 45], [-90, -45] have areas 1 - √½, 2·√½, 1 - √½.
    root = math.sqrt(0.5)
    areas = np.array([1 - root, 2 * root, 1 - root])
    assert latitude_weights([90.0, 0.0, -90.0]).values == pytest.approx(areas / areas.mean())
    assert latitude_weights([-90.0, 0.0, 90.0]).values == pytest.approx(areas / areas.mean())
    # On the offset 5.625° grid the band areas are close to cos φ.
    lat = np.array(latitudes("5.625"))
    cosine = np.cos(np.deg2rad(lat)) / np.cos(np.deg2rad(lat)).mean()
    assert np.allclose(latitude_weights(lat).values, cosine, rtol=2e-3)
    assert latitude_weights(latitudes("0.25")).values.mean() == pytest.approx(1.0)
    with pytest.raises(DatasetFormatError, match="uniformly"):
        latitude_weights([90.0, 10.0, -90.0])


def test_rmse_is_the_root_of_the_mean_mse_over_inits():
    truth = field(np.zeros((2, 3, 3)))
    errors = np.stack([np.ones((3, 3)), 3 * np.ones((3, 3))])  # constant error 1 then 3
    forecast = field(errors)
    assert float(rmse(forecast, truth)) == pytest.approx(math.sqrt((1 + 9) / 2))  # not (1 + 3) / 2
    # A weighted error: only the equator row is wrong, by 2; its weight is 2√½ / mean.
    single = np.zeros((1, 3, 3))
    single[0, 1] = 2.0
    w = latitude_weights([90.0, 0.0, -90.0]).values
    assert mse(field(single), field(np.zeros((1, 3, 3)))).item() == pytest.approx(4 * w[1] / w.sum())
    assert bias(field(single), field(np.zeros((1, 3, 3)))).item() == pytest.approx(2 * w[1] / w.sum())


def test_acc_by_hand():
    rng = np.random.default_rng(0)
    clim = field(rng.normal(size=(1, 3, 3))).isel(time=0, drop=True)
    obs = field(rng.normal(size=(2, 3, 3)))
    fc = field(rng.normal(size=(2, 3, 3)))
    w = latitude_weights([90.0, 0.0, -90.0]).values[:, None]
    expected = []
    for t in range(2):
        f, o = fc.values[t] - clim.values, obs.values[t] - clim.values
        expected.append((w * f * o).sum() / math.sqrt((w * f * f).sum() * (w * o * o).sum()))
    assert float(acc(fc, obs, clim)) == pytest.approx(np.mean(expected))
    assert float(acc(clim + 2 * (obs - clim), obs, clim)) == pytest.approx(1.0)
    assert float(acc(clim - (obs - clim), obs, clim)) == pytest.approx(-1.0)


@pytest.fixture(scope="module")
def ncep_air():
    spec = find_spec("hvsampledata")
    if spec is None:
        pytest.skip("hvsampledata (test extra) is not installed")
    return xr.open_dataset(f"{spec.submodule_search_locations[0]}/_data/air_temperature_small.nc").load()


def test_persistence_and_climatology_baselines_on_real_ncep_fields(ncep_air):
    leads = np.array([6, 12, 24], dtype="timedelta64[h]").astype("timedelta64[ns]")
    inits = ncep_air.isel(time=slice(0, 12))
    forecast = persistence(inits, leads)
    truth = verifying_truth(forecast, ncep_air)
    scores = rmse(forecast, truth)["air"]
    # by hand: errors x(t + lead) − x(t), weighted over the regional grid, mean over the 12 inits, then √
    air = ncep_air["air"].values
    w = latitude_weights(ncep_air["lat"].values).values[:, None]
    for k, hours in enumerate((6, 12, 24)):
        shift = hours // 6
        per_init = [(w * (air[i] - air[i + shift]) ** 2).sum() / (w.sum() * air.shape[2]) for i in range(12)]
        assert float(scores.sel(lead_time=leads[k])) == pytest.approx(math.sqrt(np.mean(per_init)), rel=1e-9)
    # Near-surface air temperature: persistence degrades from 6 to 12 h, but 24 h beats 12 h (the diurnal cycle).
    assert float(scores[0]) < float(scores[1]) and float(scores[2]) < float(scores[1])
    climatology = ncep_air.mean("time")
    clim_scores = rmse(climatology_forecast(climatology, forecast), truth)["air"]
    assert clim_scores.dims == ("lead_time",) and (clim_scores > 0).all()


def test_scorecard_and_alignment(ncep_air):
    leads = np.array([6, 12], dtype="timedelta64[h]").astype("timedelta64[ns]")
    forecast = persistence(ncep_air.isel(time=slice(0, 4)), leads)
    card = scorecard(forecast, ncep_air, climatology=ncep_air.mean("time"), headline=(("air", None),))
    assert list(card.columns) == [6, 12] and set(card.index.get_level_values("metric")) == {"rmse", "bias", "acc"}
    assert card.loc[("rmse", "air"), 6] == pytest.approx(float(rmse(forecast, verifying_truth(forecast, ncep_air))
                                                               ["air"].sel(lead_time=leads[0])))
    late = persistence(ncep_air.isel(time=[19]), leads)
    with pytest.raises(DatasetFormatError, match="valid times"):
        verifying_truth(late, ncep_air)
