"""Fixtures for plugin authors' tests (registered through the ``pytest11`` entry point).

``local_hub``: a :class:`LocalHub` on 127.0.0.1 with ``HF_ENDPOINT`` pointing at it and a
fresh Hub cache and zoo cache, so the whole download/publish path runs through the real client
with no network.

``one_torch_thread``: runs a test on one intra-op thread and restores the setting afterwards
(an explicit ``OMP_NUM_THREADS`` wins). Tests use small tensors, where a second thread buys
nothing and, on a busy 2-core machine, OpenMP barrier spinning made small convolutions and
sparse gathers 5-40x slower. :func:`zoo.testing.plugin_suite` uses it; a plugin's conftest can
make it autouse for all its tests.
"""

from __future__ import annotations

import os

import pytest

from zoo.testing.hub_server import LocalHub


@pytest.fixture
def local_hub(tmp_path, monkeypatch):
    with LocalHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "zoo-cache"))
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        yield hub


@pytest.fixture
def one_torch_thread():
    if "OMP_NUM_THREADS" in os.environ:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
