"""The core's conformance kit on every model and dataset spec of zoo-weather."""

from zoo.testing import plugin_suite

TestConformance = plugin_suite(
    "weather",
    models={"puyun-short", "puyun-medium", "puyun-long"},
    datasets={"era5-netcdf", "grib", "weatherbench2"},
    forbidden=("torch", "numpy", "xarray", "pandas", "cfgrib", "onnxruntime"),
)
