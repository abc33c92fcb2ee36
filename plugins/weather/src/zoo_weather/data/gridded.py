"""ERA5 netCDF, GRIB (cfgrib/ecCodes) and WeatherBench 2 zarr into PuYun's 69-channel state.

Every reader ends in :func:`to_model_layout`, which selects the variables and the 13 levels by
name and value (never by position), checks units (geopotential vs geopotential height, relative vs
specific humidity, hPa vs Pa, °C vs K), orders levels 50 → 1000 hPa and latitudes north → south,
and regrids bilinearly (periodic in longitude) to a PuYun grid. What is missing is a
:class:`zoo.errors.DatasetFormatError` naming the variable or the levels.

xarray, cfgrib and zarr are imported inside the functions: this module holds the ``DATASETS``
tuple that ``plugin.py`` lists.
"""

from __future__ import annotations

from pathlib import Path

from zoo import DatasetSpec
from zoo.errors import DatasetFormatError
from zoo_weather.channels import GRIDS, LEVELS, PRESSURE_VARIABLES, SURFACE_VARIABLES, latitudes, longitudes

GRAVITY = 9.80665

# Names in ERA5 netCDF (CDS), cfgrib, WeatherBench 2 and the earth2studio lexicon -> the model layout.
# "gh" (geopotential height) and "q" (specific humidity) are recognised so that they get a clear message.
SOURCE_NAMES = {
    "z": ("z", "geopotential"),
    "gh": ("gh", "geopotential_height", "zg"),
    "t": ("t", "temperature", "ta"),
    "u": ("u", "u_component_of_wind", "ua"),
    "v": ("v", "v_component_of_wind", "va"),
    "r": ("r", "relative_humidity", "hur"),
    "q": ("q", "specific_humidity", "hus"),
    "t2m": ("t2m", "2t", "2m_temperature", "tas"),
    "u10m": ("u10m", "u10", "10u", "10m_u_component_of_wind", "uas"),
    "v10m": ("v10m", "v10", "10v", "10m_v_component_of_wind", "vas"),
    "msl": ("msl", "prmsl", "mean_sea_level_pressure", "psl"),
}
LEVEL_DIMS = ("level", "isobaricInhPa", "pressure_level", "plev")
LAT_DIMS = ("lat", "latitude")
LON_DIMS = ("lon", "longitude")

ERA5_LAYOUT = ("*.nc: ERA5 (or any CF netCDF) with z, t, u, v, r on pressure levels including "
               f"{', '.join(map(str, LEVELS))} hPa and 2m temperature, 10 m winds, mean sea-level pressure; "
               "6-hourly times")
GRIB_LAYOUT = ("*.grib / *.grib2 / *.grb2: GRIB1/2 fields (ERA5 or GFS) of z or gh, t, u, v, r on isobaric levels "
               f"including {', '.join(map(str, LEVELS))} hPa, 2t, 10u, 10v and msl or prmsl")
WB2_LAYOUT = ("a WeatherBench 2 zarr store (e.g. 1959-2023_01_10-6h-64x32_equiangular_conservative.zarr) with "
              "geopotential, temperature, u/v_component_of_wind, relative_humidity on 'level', "
              "2m_temperature, 10m_u/v_component_of_wind, mean_sea_level_pressure")
HOMEPAGE_ERA5 = "https://cds.climate.copernicus.eu/datasets/reanalysis-era5-pressure-levels"
HOMEPAGE_WB2 = "https://weatherbench2.readthedocs.io/en/latest/data-guide.html"


def _find(ds, candidates):
    return next((name for name in candidates if name in ds.variables), None)


def _units(field) -> str:
    return str(field.attrs.get("units", field.attrs.get("GRIB_units", ""))).strip()


def _standard_dims(ds):
    renames = {}
    for wanted, candidates in (("level", LEVEL_DIMS), ("lat", LAT_DIMS), ("lon", LON_DIMS)):
        found = _find(ds, candidates)
        if found is None and wanted != "level":
            raise DatasetFormatError(f"no {wanted} coordinate: expected one of {candidates}, found {list(ds.coords)}")
        if found is not None and found != wanted:
            renames[found] = wanted
    ds = ds.rename(renames)
    if "valid_time" in ds.coords and "time" not in ds.dims:
        # GRIB forecasts: 'time' is the initialisation, the state is valid at 'valid_time'.
        ds = ds.drop_vars([c for c in ("time", "step") if c in ds.coords]).rename(valid_time="time")
    if "time" not in ds.dims:
        ds = ds.expand_dims("time") if "time" in ds.coords else ds.expand_dims(time=[0])
    if "level" in ds.coords:
        level = ds["level"]
        if _units(level).lower() == "pa" or float(level.max()) > 2000:
            ds = ds.assign_coords(level=level / 100.0)
    return ds


def _pressure_field(ds, variable: str):
    name = _find(ds, SOURCE_NAMES[variable])
    field = None if name is None else ds[name]
    if variable == "z" and field is None:
        height = _find(ds, SOURCE_NAMES["gh"])
        if height is not None:
            field = ds[height] * GRAVITY  # geopotential height (gpm) -> geopotential (m² s⁻²)
            field.attrs["units"] = "m2 s-2"
    if variable == "r" and field is None and _find(ds, SOURCE_NAMES["q"]) is not None:
        raise DatasetFormatError("PuYun needs relative humidity r (%) on pressure levels; the data has specific "
                                 "humidity q only (Pangu/GraphCast use q, FuXi/PuYun use r)")
    if field is None:
        raise DatasetFormatError(f"missing variable {variable!r} on pressure levels (looked for "
                                 f"{SOURCE_NAMES[variable]}; found {sorted(ds.data_vars)})")
    if "level" not in field.dims:
        raise DatasetFormatError(f"variable {variable!r} has no pressure-level dimension (dims {field.dims})")
    missing = [level for level in LEVELS if not (abs(field["level"] - level) < 1e-6).any()]
    if missing:
        raise DatasetFormatError(f"variable {variable!r} lacks the levels {missing} hPa "
                                 f"(has {sorted(float(v) for v in field['level'].values)})")
    field = field.sel(level=list(LEVELS))
    return _checked_units(variable, field)


def _checked_units(variable: str, field):
    units = _units(field)
    if variable == "z":
        z500 = float(field.sel(level=500).median()) if "level" in field.dims else None
        if units.lower() in ("gpm", "m") or (z500 is not None and z500 < 2e4):
            raise DatasetFormatError(
                f"'z' looks like geopotential height (units {units!r}, median at 500 hPa {z500:.0f}): PuYun takes "
                "geopotential in m² s⁻² (≈ 5.5e4 at 500 hPa); multiply by g = 9.80665 or name it 'gh'")
    elif variable in ("t", "t2m") and units in ("degC", "C", "°C", "celsius"):
        field = field + 273.15
    elif variable == "r" and units in ("1", "0-1", "fraction"):
        field = field * 100.0
    elif variable == "msl" and (units == "hPa" or float(field.median()) < 2000):
        field = field * 100.0
    return field.astype("float32")


def _surface_field(ds, variable: str):
    name = _find(ds, SOURCE_NAMES[variable])
    if name is None:
        raise DatasetFormatError(f"missing surface variable {variable!r} (looked for {SOURCE_NAMES[variable]}; "
                                 f"found {sorted(ds.data_vars)})")
    field = ds[name]
    extra = [dim for dim in field.dims if dim not in ("time", "lat", "lon")]
    if extra:  # e.g. cfgrib's heightAboveGround of length 1
        field = field.squeeze(extra, drop=True)
    return _checked_units(variable, field)


def regrid(ds, grid: str):
    """Bilinear interpolation to a PuYun grid, periodic in longitude (poles extrapolated from the nearest rows)."""
    import numpy as np

    if grid not in GRIDS:
        from zoo.errors import ConfigError

        raise ConfigError(f"unknown grid {grid!r}; PuYun grids are {sorted(GRIDS, key=float)}")
    lat, lon = np.array(latitudes(grid)), np.array(longitudes(grid))
    if ds.sizes["lat"] == lat.size and ds.sizes["lon"] == lon.size and np.allclose(ds["lat"], lat) \
            and np.allclose(ds["lon"], lon):
        return ds.assign_coords(lat=lat, lon=lon)
    wrapped = ds.isel(lon=[-1, *range(ds.sizes["lon"]), 0])
    wrapped = wrapped.assign_coords(lon=np.concatenate([[float(ds["lon"][-1]) - 360.0], ds["lon"].values,
                                                        [float(ds["lon"][0]) + 360.0]]))
    return wrapped.interp(lat=lat, lon=lon, method="linear", kwargs={"fill_value": None})


def to_model_layout(ds, grid: str | None = None):
    """Any supported source Dataset -> the model layout of :mod:`zoo_weather.state`, optionally regridded."""
    import xarray as xr

    ds = _standard_dims(ds)
    fields = {v: _pressure_field(ds, v) for v in PRESSURE_VARIABLES}
    fields.update({v: _surface_field(ds, v) for v in SURFACE_VARIABLES})
    out = xr.Dataset({name: field.drop_vars([c for c in field.coords if c not in field.dims])
                      for name, field in fields.items()})
    out = out.transpose("time", "level", "lat", "lon")
    out = out.assign_coords(lon=out["lon"] % 360.0).sortby("lon").sortby("lat", ascending=False)
    if grid is not None:
        out = regrid(out, grid)
    return out


def _files(root: Path, patterns: tuple[str, ...], layout: str, name: str) -> list[Path]:
    files = sorted(p for pattern in patterns for p in root.glob(pattern))
    if not files:
        raise DatasetFormatError(f"dataset {name!r}: no files under {str(root)!r}; expected {layout}")
    return files


def open_netcdf(root, grid: str | None = None):
    """ERA5-style netCDF files (a folder of ``*.nc`` or one file), merged, in the model layout."""
    import xarray as xr

    root = Path(root)
    files = [root] if root.is_file() else _files(root, ("*.nc", "*.nc4"), ERA5_LAYOUT, "era5-netcdf")
    return to_model_layout(xr.merge([xr.open_dataset(f) for f in files], compat="override"), grid)


def open_grib(root, grid: str | None = None):
    """GRIB1/2 files through cfgrib (each hypercube of a file is opened and merged), in the model layout."""
    import cfgrib
    import xarray as xr

    root = Path(root)
    files = [root] if root.is_file() else _files(root, ("*.grib", "*.grib2", "*.grb2", "*.grb"), GRIB_LAYOUT,
                                                   "grib")
    parts = []
    for path in files:
        try:
            cubes = cfgrib.open_datasets(str(path), backend_kwargs={"indexpath": ""})
        except (EOFError, OSError, ValueError, KeyError) as error:  # EOFError: no GRIB message in the file
            raise DatasetFormatError(f"{path}: not a readable GRIB file ({type(error).__name__}: {error})") from None
        for cube in cubes:
            level_type = next((c for c in ("isobaricInhPa", "heightAboveGround", "meanSea", "surface")
                               if c in cube.coords), None)
            if level_type == "heightAboveGround":
                cube = cube.squeeze("heightAboveGround", drop=True) if "heightAboveGround" in cube.dims \
                    else cube.drop_vars("heightAboveGround")
            elif level_type in ("meanSea", "surface") and level_type not in cube.dims:
                cube = cube.drop_vars(level_type)
            parts.append(cube)
    merged = xr.merge(parts, compat="override", join="override", combine_attrs="drop_conflicts")
    return to_model_layout(merged, grid)


def open_weatherbench2(root, grid: str | None = None):
    """A WeatherBench 2 zarr store (latitudes ascending, ``level`` in hPa) in the model layout."""
    import xarray as xr

    try:
        ds = xr.open_zarr(str(root))
    except (OSError, ValueError, KeyError) as error:  # zarr's GroupNotFoundError is both
        raise DatasetFormatError(f"{root}: not a readable zarr store ({type(error).__name__}: {error}); "
                                 f"expected {WB2_LAYOUT}") from None
    return to_model_layout(ds, grid)


class ForecastSamples:
    """6-hourly training samples from a Dataset in the model layout.

    Item ``i``: ``(x [2, 69, H, W], time_embedding [12], target [69, H, W])`` with x the states at
    ``times[i]`` and ``times[i+1]`` and the target at ``times[i+2]``; with ``rollout > 1`` the time
    embeddings of the ``rollout`` steps and their targets are stacked (``[rollout, 12]``,
    ``[rollout, 69, H, W]``). The times must be 6 hours apart.
    """

    def __init__(self, ds, rollout: int = 1):
        import numpy as np
        import torch

        from zoo_weather.state import to_array

        times = ds["time"].values
        if len(times) < 2 + rollout:
            raise DatasetFormatError(f"need at least {2 + rollout} consecutive 6-hourly times, got {len(times)}")
        steps = np.diff(times.astype("datetime64[h]").astype(np.int64))
        if not (steps == 6).all():
            raise DatasetFormatError(f"times must be 6 hours apart; got steps {sorted(set(steps.tolist()))} h")
        self.times, self.rollout, self.ds = times, rollout, ds
        self.values = torch.from_numpy(to_array(ds))  # [T, 69, H, W]

    def __len__(self) -> int:
        return len(self.times) - 1 - self.rollout

    def __getitem__(self, index: int):
        import pandas as pd
        import torch

        from zoo_weather.channels import time_embedding

        if not 0 <= index < len(self):
            raise IndexError(index)
        init = pd.Timestamp(self.times[index + 1]).to_pydatetime()
        x = self.values[index:index + 2]
        temb = torch.tensor([time_embedding(init, k) for k in range(self.rollout)])
        target = self.values[index + 2:index + 2 + self.rollout]
        return (x, temb[0], target[0]) if self.rollout == 1 else (x, temb, target)


def _reader(opener, layout: str, name: str):
    def load(root, split: str = "all", grid: str | None = "2.5", rollout: int = 1):
        root = Path(root)
        if root.is_dir() and not any(root.iterdir()):
            raise DatasetFormatError(f"dataset {name!r}: {str(root)!r} is empty; expected {layout}")
        return ForecastSamples(opener(root, grid), rollout=rollout)

    load.__doc__ = f"``zoo.dataset({name!r}, root, grid=...)``: training samples from {layout}."
    return load


load_era5 = _reader(open_netcdf, ERA5_LAYOUT, "era5-netcdf")
load_grib = _reader(open_grib, GRIB_LAYOUT, "grib")
load_weatherbench2 = _reader(open_weatherbench2, WB2_LAYOUT, "weatherbench2")

_MODULE = "zoo_weather.data.gridded"
DATASETS = (
    DatasetSpec(name="era5-netcdf", domain="weather", task="forecasting", builder=f"{_MODULE}:load_era5",
                layout=ERA5_LAYOUT, homepage=HOMEPAGE_ERA5, splits=("all",), license="Copernicus licence",
                description="ERA5 (or CF netCDF) 6-hourly states as PuYun training samples, regridded."),
    DatasetSpec(name="grib", domain="weather", task="forecasting", builder=f"{_MODULE}:load_grib",
                layout=GRIB_LAYOUT, homepage="https://confluence.ecmwf.int/display/CKB/ERA5", splits=("all",),
                description="GRIB1/2 states (ERA5, GFS) through cfgrib/ecCodes as PuYun training samples."),
    DatasetSpec(name="weatherbench2", domain="weather", task="forecasting", builder=f"{_MODULE}:load_weatherbench2",
                layout=WB2_LAYOUT, homepage=HOMEPAGE_WB2, splits=("all",), license="CC-BY 4.0",
                description="A WeatherBench 2 ERA5 zarr store as PuYun training samples."),
)
