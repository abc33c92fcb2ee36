"""Test settings for zoo-detection: one torch thread per test, and the coins COCO set written once."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="session")
def coins(tmp_path_factory):
    """scikit-image's coins photograph as a two-image COCO set (24 boxes each), see zoo_detection.data.coins."""
    from zoo_detection.data.coins import write_coins_coco

    return write_coins_coco(tmp_path_factory.mktemp("coins"))
