"""zoo-weather: the PuYun cascade (arXiv:2409.02123), gridded-data readers and WeatherBench 2 metrics.

Light on purpose: importing the package imports neither torch nor xarray. The forecast API is
``zoo_weather.forecast`` (resolved lazily, see :func:`__getattr__`).
"""

from __future__ import annotations

_LAZY = {
    "forecast": "zoo_weather.cascade",
    "Cascade": "zoo_weather.cascade",
    "load_onnx": "zoo_weather.models.puyun_onnx",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo_weather' has no attribute {name!r}")
