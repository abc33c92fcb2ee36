"""zoo train on zoo-medical: the papers' recipes as declared, and real runs on files in the datasets' formats."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo.errors import ConfigError


def _readers_test_module():
    """The readers' tests, which write files in the published formats. Loaded under a name of its own:
    putting this folder on sys.path would shadow other packages' test modules of the same name."""
    spec = importlib.util.spec_from_file_location("zoo_medical_tests_data", Path(__file__).with_name("test_data.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_READERS = _readers_test_module()
write_npz, write_task = _READERS.write_npz, _READERS.write_task


def test_every_family_declares_its_papers_recipe():
    scse, xlstm, medvit = (zoo.info(n)["recipes"] for n in ("scse-unet-3d", "xlstm-unet-enc-3d", "medvit-v2-base"))
    assert {k: scse[0][k] for k in ("optimiser", "lr", "weight_decay", "batch_size", "schedule", "step_epochs",
                                    "gamma", "epochs")} == {"optimiser": "adam", "lr": 1e-4, "weight_decay": 1e-5,
                                                            "batch_size": 5, "schedule": "step", "step_epochs": 3,
                                                            "gamma": 0.1, "epochs": 10}
    assert {k: xlstm[0][k] for k in ("optimiser", "momentum", "nesterov", "weight_decay", "schedule", "poly_power",
                                     "steps_per_epoch", "loss")} == {
        "optimiser": "sgd", "momentum": 0.99, "nesterov": True, "weight_decay": 3e-5, "schedule": "poly",
        "poly_power": 0.9, "steps_per_epoch": 250, "loss": "dice-ce"}
    assert zoo.info("xlstm-unet-bot-2d")["recipes"][0]["batch_size"] == 12
    assert [r["name"] for r in medvit] == ["paper", "chestmnist"] and medvit[1]["loss"] == "bce"
    assert {k: medvit[0][k] for k in ("optimiser", "lr", "weight_decay", "min_lr", "batch_size", "epochs")} == {
        "optimiser": "adamw", "lr": 1e-4, "weight_decay": 0.05, "min_lr": 5e-6, "batch_size": 24, "epochs": 100}
    assert all(r["source"] for r in (*scse, *xlstm, *medvit))


def test_medvit_trains_on_medmnist_with_its_augmentation(tmp_path):
    write_npz(tmp_path / "pathmnist_64.npz", (64, 64, 3), classes=9, n=(4, 2, 1))
    result = zoo.train("medvit-v2-tiny", f"medmnist:{tmp_path}", out=tmp_path / "run", epochs=1, batch_size=2,
                       data_options={"size": 64}, progress=False)
    assert result["metrics"]["step"] == 2 and 0.0 <= result["metrics"]["accuracy"] <= 1.0
    model = zoo.load(tmp_path / "run" / "best")
    assert model.zoo_config["num_classes"] == 9  # taken from the dataset
    saved = json.loads((tmp_path / "run" / "best" / "config.json").read_text())
    assert saved["zoo_model"] == "medvit-v2-tiny"
    with pytest.raises(ConfigError, match="classification model but dataset 'medical-decathlon' is for segmentation"):
        zoo.train("medvit-v2-tiny", f"medical-decathlon:{tmp_path}", out=tmp_path / "x", progress=False)


def test_scse_unet_trains_on_a_decathlon_task(tmp_path):
    root = write_task(tmp_path / "Task00_Box", name="Box", modality="MRI", cases=5)
    result = zoo.train("scse-unet-3d", f"medical-decathlon:{root}", out=tmp_path / "run", epochs=2, batch_size=2,
                       lr=1e-2, config={"channels": [4, 8], "strides": [2]}, progress=False)
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].split(",")[5] == "dice"
    assert 0.0 <= result["best"] <= 1.0
    model = zoo.load(tmp_path / "run" / "last")
    assert model.zoo_config["out_channels"] == 2 and model.zoo_config["channels"] == [4, 8]
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 12, 10, 8)).shape == (1, 2, 12, 10, 8)
