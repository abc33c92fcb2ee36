"""Test settings for zoo-weather."""

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
GFS = DATA / "gfs_2p5deg_puyun69.grib2"


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield
