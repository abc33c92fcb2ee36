"""zoo train pk-yolo on a tiny slice set written in the YOLO txt format: the engine's detection task."""

import csv
import math

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.errors import ConfigError
from zoo.serialization import read_safetensors
from zoo_medical.models.pk_yolo_specs import PAPER_RECIPE, TINY_CONFIG

# the tiny layout (1 bottleneck per GELAN) on 64 px slices: a step takes well under a second on a CPU;
# the config's image_size comes from the dataset's
CONFIG = {k: v for k, v in TINY_CONFIG.items() if k != "image_size"}


def write_slices(root, counts=(("train", 4), ("test", 2))):
    """Grey 64 x 64 slices with one bright square ("positive") or none, YOLO labels beside them."""
    rng = np.random.default_rng(0)
    for split, count in counts:
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for index in range(count):
            image = (rng.random((64, 64)) * 60).astype(np.uint8)
            top, left, size = int(rng.integers(4, 36)), int(rng.integers(4, 36)), int(rng.integers(12, 24))
            image[top:top + size, left:left + size] = 230
            Image.fromarray(image).save(root / "images" / split / f"s{index}.png")
            label = f"1 {(left + size / 2) / 64} {(top + size / 2) / 64} {size / 64} {size / 64}\n"
            (root / "labels" / split / f"s{index}.txt").write_text(label)
    return root


def test_pk_yolo_trains_one_epoch_and_reloads_bit_exactly(tmp_path):
    root = write_slices(tmp_path / "slices")
    seen = {}

    def keep(epoch, model):
        seen["state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    result = zoo.train("pk-yolo", f"mri-slices-yolo:{root}", out=tmp_path / "run", epochs=1, batch_size=2,
                       config=CONFIG, data_options={"image_size": 64}, progress=False, on_epoch_end=keep)
    metrics = result["metrics"]
    assert metrics["step"] == 2 and math.isfinite(metrics["train_loss"]) and metrics["train_loss"] > 0
    assert 0.0 <= metrics["map50"] <= 1.0 and math.isnan(metrics["val_loss"])  # no loss on eval-mode output
    with open(tmp_path / "run" / "metrics.csv", newline="") as handle:
        assert "map50" in next(csv.DictReader(handle))
    for kind in ("best", "last"):
        model = zoo.load(tmp_path / "run" / kind)
        assert model.zoo_config["num_classes"] == 2 and model.zoo_config["image_size"] == 64 and not model.training
        saved = read_safetensors(tmp_path / "run" / kind / "model.safetensors")
        state = model.state_dict()
        assert state.keys() == seen["state"].keys() == saved.keys()
        assert all(torch.equal(state[k], seen["state"][k]) and torch.equal(state[k], saved[k]) for k in state)
    found = model.predict(torch.rand(1, 3, 64, 64), conf_threshold=0.0)
    assert len(found) == 1 and found[0].shape[1] == 6


def test_wrong_pairings_and_recipes_give_zoo_errors(tmp_path):
    root = write_slices(tmp_path / "slices", counts=(("train", 2), ("test", 1)))
    with pytest.raises(ConfigError, match="detection model but dataset 'medmnist' is for classification"):
        zoo.train("pk-yolo", f"medmnist:{tmp_path}", out=tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="classification model but dataset 'mri-slices-yolo' is for detection"):
        zoo.train("medvit-v2-tiny", f"mri-slices-yolo:{root}", out=tmp_path / "b", progress=False)
    with pytest.raises(ConfigError, match="a detector trains with its own loss"):  # found before reading data
        zoo.train("pk-yolo", f"mri-slices-yolo:{tmp_path / 'nowhere'}", out=tmp_path / "c",
                  recipe=PAPER_RECIPE.replace(loss="bce"), config=CONFIG, progress=False)
    with pytest.raises(ConfigError, match="no validation loss"):
        zoo.train("pk-yolo", f"mri-slices-yolo:{root}", out=tmp_path / "d", config=CONFIG, progress=False,
                  recipe=PAPER_RECIPE.replace(select="val-loss"))


def test_the_recipe_names_the_models_own_loss():
    recipe = zoo.info("pk-yolo")["recipes"][0]
    assert recipe["loss"] == "zoo_medical.models.pk_yolo:training_loss"
    assert {k: recipe[k] for k in ("optimiser", "lr", "momentum", "weight_decay", "warmup_epochs", "epochs",
                                   "batch_size")} == {"optimiser": "sgd", "lr": 0.01, "momentum": 0.937,
                                                      "weight_decay": 5e-4, "warmup_epochs": 3, "epochs": 300,
                                                      "batch_size": 4}
