"""Readers for gridded weather data (ERA5 netCDF, GRIB, WeatherBench 2 zarr) into the PuYun state."""
