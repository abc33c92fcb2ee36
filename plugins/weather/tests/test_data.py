"""Readers on real fields: the NCEP GFS 2.5° GRIB2 state (Debian python-grib-doc), NCEP air temperature
(hvsampledata), and ERA5-netCDF / WeatherBench 2 zarr files written in those products' layouts."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import zoo
from zoo.errors import DatasetFormatError, DatasetNotFoundError
from zoo_weather import forecast
from zoo_weather.channels import LEVELS
from zoo_weather.data.gridded import GRAVITY, open_grib, open_netcdf, open_weatherbench2, regrid, to_model_layout
from zoo_weather.models.puyun import build_puyun
from zoo_weather.state import to_array

GFS = Path(__file__).parent / "data" / "gfs_2p5deg_puyun69.grib2"
warnings.filterwarnings("ignore", category=FutureWarning)


@pytest.fixture(scope="module")
def gfs():
    return open_grib(GFS)


@pytest.fixture(scope="module")
def raw_gfs():
    import cfgrib

    return cfgrib.open_datasets(str(GFS), backend_kwargs={"indexpath": ""})


def test_the_real_gfs_file_is_a_69_channel_state(gfs, raw_gfs):
    assert gfs.sizes == {"time": 1, "level": 13, "lat": 73, "lon": 144}
    assert gfs["time"].values[0] == np.datetime64("2011-01-15T12:00")  # 120-h forecast from 2011-01-10 12Z
    assert gfs["level"].values.tolist() == list(LEVELS)  # the file stores 1000 → 50
    assert gfs["lat"].values[0] == 90.0 and gfs["lon"].values[-1] == 357.5
    pressure = next(c for c in raw_gfs if "gh" in c)
    # gh (geopotential metres) became geopotential (m² s⁻²)
    gh500 = pressure["gh"].sel(isobaricInhPa=500).values
    assert np.allclose(gfs["z"].sel(level=500).values[0], gh500 * GRAVITY, rtol=1e-6)
    assert 4.6e4 < float(gfs["z"].sel(level=500).min()) and float(gfs["z"].sel(level=500).max()) < 6.0e4
    assert np.allclose(gfs["t"].sel(level=850).values[0], pressure["t"].sel(isobaricInhPa=850).values)
    assert 0 <= float(gfs["r"].min()) and float(gfs["r"].max()) <= 100.5
    assert 9.5e4 < float(gfs["msl"].min()) and float(gfs["msl"].max()) < 1.1e5  # prmsl in Pa
    values = to_array(gfs)
    assert values.shape == (1, 69, 73, 144) and np.isfinite(values).all()


def test_the_real_gfs_state_goes_in_and_a_forecast_dataset_comes_out(gfs):
    state = xr.concat([gfs.assign_coords(time=gfs["time"] - np.timedelta64(6, "h")), gfs], dim="time")
    model = build_puyun("short", "2.5", embed_dim=8, depth=1).eval()
    (step,) = list(forecast(model, state, steps=1))  # an untrained model forecasts persistence
    assert step["time"].values[0] == np.datetime64("2011-01-15T12:00")
    assert step["lead_time"].values[0] == np.timedelta64(6, "h")
    assert np.array_equal(to_array(step)[0, 0], to_array(gfs)[0])


def test_regrid_to_the_cpu_grids(gfs):
    coarse = regrid(gfs, "5.625")
    assert coarse.sizes["lat"] == 32 and coarse["lat"].values[0] == pytest.approx(87.1875)
    # bilinear in latitude between the 2.5° rows 87.5 and 85.0, and periodic across 0°/360°
    row = gfs["t2m"].sel(lat=[87.5, 85.0]).values[0]
    weight = (87.5 - 87.1875) / 2.5
    at_zero = (1 - weight) * row[0, 0] + weight * row[1, 0]
    assert float(coarse["t2m"].values[0, 0, 0]) == pytest.approx(at_zero, rel=1e-6)
    fine = regrid(gfs, "1.5")
    last = fine["t2m"].sel(lon=358.5).values[0, 0]  # between 357.5 and 360 (= 0)
    assert last == pytest.approx(0.6 * gfs["t2m"].values[0, 0, -1] + 0.4 * gfs["t2m"].values[0, 0, 0], rel=1e-6)
    assert np.isfinite(to_array(fine)).all() and fine.sizes["lat"] == 121


def era5_like(gfs):
    """The GFS state renamed and laid out as the CDS writes ERA5 netCDF (pressure_level, latitude, valid_time)."""
    ds = gfs.rename(lat="latitude", lon="longitude", level="pressure_level", time="valid_time",
                    t2m="t2m", u10m="u10", v10m="v10")
    ds["z"].attrs["units"] = "m**2 s**-2"
    return ds.isel(pressure_level=slice(None, None, -1))


def test_era5_netcdf(gfs, tmp_path):
    era5 = era5_like(gfs)
    era5.to_netcdf(tmp_path / "era5.nc")
    back = open_netcdf(tmp_path)
    assert np.array_equal(to_array(back), to_array(gfs))
    samples_root = tmp_path / "series"
    samples_root.mkdir()
    times = np.array(["2011-01-15T00", "2011-01-15T06", "2011-01-15T12"], dtype="datetime64[ns]")
    series = xr.concat([era5.assign_coords(valid_time=[t]) for t in times], dim="valid_time")
    series.to_netcdf(samples_root / "era5.nc")
    samples = zoo.dataset("era5-netcdf", root=samples_root, grid="5.625")
    x, temb, target = samples[0]
    assert len(samples) == 1 and x.shape == (2, 69, 32, 64) and temb.shape == (12,) and target.shape == (69, 32, 64)


def test_weatherbench2_zarr(gfs, tmp_path):
    names = {"z": "geopotential", "t": "temperature", "u": "u_component_of_wind", "v": "v_component_of_wind",
             "r": "relative_humidity", "t2m": "2m_temperature", "u10m": "10m_u_component_of_wind",
             "v10m": "10m_v_component_of_wind", "msl": "mean_sea_level_pressure"}
    wb2 = gfs.rename(names).rename(lat="latitude", lon="longitude").sortby("latitude")  # WB2: latitudes ascending
    wb2.to_zarr(tmp_path / "wb2.zarr")
    back = open_weatherbench2(tmp_path / "wb2.zarr")
    assert back["lat"].values[0] == 90.0 and np.array_equal(to_array(back), to_array(gfs))
    with pytest.raises(DatasetFormatError, match="not a readable zarr"):
        open_weatherbench2(tmp_path)


def test_unit_and_level_checks_name_the_problem(gfs):
    with pytest.raises(DatasetFormatError, match="geopotential height"):
        height = gfs.assign(z=gfs["z"] / GRAVITY)
        height["z"].attrs["units"] = "gpm"
        to_model_layout(height)
    with pytest.raises(DatasetFormatError, match="specific humidity"):
        to_model_layout(gfs.drop_vars("r").assign(q=gfs["t"] * 0 + 1e-3))
    with pytest.raises(DatasetFormatError, match=r"levels \[925\]"):
        to_model_layout(gfs.drop_sel(level=925))
    with pytest.raises(DatasetFormatError, match="'msl'"):
        to_model_layout(gfs.drop_vars("msl"))
    in_pa = to_model_layout(gfs.assign_coords(level=gfs["level"] * 100.0))  # Pa levels, as in CMIP 'plev'
    assert in_pa["level"].values.tolist() == list(LEVELS)
    in_hpa = gfs.assign(msl=gfs["msl"] / 100.0)
    in_hpa["msl"].attrs["units"] = "hPa"
    assert np.allclose(to_model_layout(in_hpa)["msl"], gfs["msl"], rtol=1e-6)


def test_real_ncep_netcdf_without_the_state_variables_is_a_clear_error(tmp_path):
    from importlib.util import find_spec

    spec = find_spec("hvsampledata")
    if spec is None:
        pytest.skip("hvsampledata (test extra) is not installed")
    path = f"{spec.submodule_search_locations[0]}/_data/air_temperature_small.nc"
    with pytest.raises(DatasetFormatError, match="missing variable 'z'"):
        open_netcdf(path)


def test_missing_and_empty_roots(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="grib"):
        zoo.dataset("grib", root=tmp_path / "nowhere")
    (tmp_path / "x.grib2").write_bytes(b"GRIB but not really")
    with pytest.raises(DatasetFormatError, match="not a readable GRIB"):
        zoo.dataset("grib", root=tmp_path)
