"""Shared fixtures: one torch thread per test, and the small real data committed under tests/data
(Cora raw files, Amazon-Electronics)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="session")
def cora():
    from zoo_graph.data.planetoid import load_planetoid

    return load_planetoid(DATA / "planetoid", "cora")


@pytest.fixture(scope="session")
def electronics():
    from zoo_graph.data.recsys import load_user_item

    return load_user_item(DATA / "recsys" / "amazon-electronics", name="amazon-electronics")
