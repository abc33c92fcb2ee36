import json

import pytest
from zoo_core_fixtures import RaisingPlugin, SpecPlugin, tiny_spec

import zoo
from zoo.cli import main


@pytest.fixture
def tiny(fresh_registry, monkeypatch):
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "none")
    zoo.register_plugin(SpecPlugin(tiny_spec(), tiny_spec(name="tiny-segnet", task="segmentation")), name="tiny")


def test_list_filters_and_json(tiny, capsys):
    assert main(["list", "--task", "segmentation"]) == 0
    out = capsys.readouterr().out
    assert "tiny-segnet" in out and "tiny-convnet" not in out
    assert main(["list", "tiny-*", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["tiny-convnet", "tiny-segnet"] and rows[0]["num_params"] > 0


def test_info_and_unknown_names(tiny, capsys):
    assert main(["info", "tiny-convnet"]) == 0
    out = capsys.readouterr().out
    assert "params: 276" in out and "weights: none" in out and "explain layer: features.2" in out
    assert main(["info", "tiny-convnt"]) == 2
    assert "did you mean 'tiny-convnet'" in capsys.readouterr().err


def test_plugins_reports_failures_with_a_non_zero_status(tiny, capsys):
    assert main(["plugins"]) == 0
    assert "tiny" in capsys.readouterr().out
    zoo.register_plugin(RaisingPlugin(), name="raising")
    assert main(["plugins", "--json"]) == 1
    report = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert report["raising"]["status"] == "failed" and report["tiny"]["models"] == ["tiny-convnet", "tiny-segnet"]


def test_doctor_offline(tiny, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "torch 2." in out and "HF_HUB_OFFLINE is set" in out and "no problems found" in out


def test_download_and_publish_through_the_cli(local_hub, tiny, tmp_path, capsys):
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    assert main(["publish", str(folder), "--repo", "me/cli"]) == 0
    uri = capsys.readouterr().out.strip()
    assert uri.startswith("hf://me/cli@")
    assert zoo.load(uri).zoo_name == "tiny-convnet"
