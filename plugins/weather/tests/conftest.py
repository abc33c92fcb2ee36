"""Test settings for zoo-weather."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture
def initial_state():
    """The example input of the 5.625° grid as a Dataset at 2018-01-01 00 and 06 UTC."""
    from zoo_weather.channels import latitudes, longitudes
    from zoo_weather.models.puyun import example_input
    from zoo_weather.state import from_array

    x, _ = example_input({"grid": "5.625"})
    times = np.array(["2018-01-01T00", "2018-01-01T06"], dtype="datetime64[ns]")
    return from_array(x[0].numpy(), latitudes("5.625"), longitudes("5.625"), time=times)
