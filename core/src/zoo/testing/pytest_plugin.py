"""Fixtures for plugin authors' tests (registered through the ``pytest11`` entry point).

``local_hub``: a :class:`LocalHub` on 127.0.0.1 with ``HF_ENDPOINT`` pointing at it and a
fresh Hub cache and zoo cache, so the whole download/publish path runs through the real client
with no network.
"""

from __future__ import annotations

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
