"""What a new user hit (issue 18, items 3-11): raw tracebacks where a zoo.errors message belongs,
and problems that stayed silent."""

import json
import socket

import pytest
from zoo_core_fixtures import RaisingPlugin, SpecPlugin, tiny_spec

import zoo
from zoo.cli import main
from zoo.errors import HubError


@pytest.fixture
def tiny(fresh_registry, monkeypatch):
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "none")
    zoo.register_plugin(SpecPlugin(tiny_spec(), tiny_spec(name="tiny-segnet", task="segmentation")), name="tiny")


@pytest.fixture
def unreachable_hub(monkeypatch, tmp_path):
    """HF_ENDPOINT on a loopback port nothing listens on: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "zoo-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return f"http://127.0.0.1:{port}"


# -- 3: publish to an unreachable Hub ---------------------------------------------------------

def test_publish_to_an_unreachable_hub_is_a_hub_error(tiny, unreachable_hub, tmp_path, capsys):
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    with pytest.raises(HubError, match="could not reach " + unreachable_hub):
        zoo.publish(folder, repo_id="me/x")
    assert main(["publish", str(folder), "--repo", "me/x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: publishing to me/x failed") and "Traceback" not in err
    assert len(err.splitlines()) == 1
