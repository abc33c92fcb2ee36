"""zoo train: recipes, the engine's outputs, two processes against one, kill-and-resume, bad input."""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import zoo
from zoo.errors import ConfigError, SpecError, TrainingError, UnknownNameError
from zoo.training import TrainRecipe, lr_factor

HERE = Path(__file__).parent
SCRIPT = HERE / "train_fixtures.py"


@pytest.fixture
def registered(fresh_registry, one_torch_thread):
    import train_fixtures

    zoo.register_plugin(train_fixtures.TrainPlugin(), name="train-fixtures")
    yield train_fixtures


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def run_script(*args: str, torchrun: int = 0, **popen) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(HERE))
    prefix = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={torchrun}"] \
        if torchrun else [sys.executable]
    return subprocess.Popen([*prefix, str(SCRIPT), "train", *args, "--no-progress"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def test_recipe_is_checked_data_and_its_schedule_is_arithmetic():
    recipe = TrainRecipe(name="r", optimiser="adamw", lr=1e-3, epochs=10, batch_size=8, schedule="cosine",
                         warmup_epochs=1, min_lr=1e-5)
    factors = [lr_factor(recipe, step, total_steps=100, steps_per_epoch=10) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)  # linear warm-up
    assert factors[10] == pytest.approx(1.0) and factors[-1] == pytest.approx(1e-2, rel=0.05)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    poly = recipe.replace(schedule="poly", warmup_epochs=0)
    assert lr_factor(poly, 50, 100, 10) == pytest.approx(0.5 ** 0.9)
    step = recipe.replace(schedule="step", step_epochs=3, warmup_epochs=0)
    assert lr_factor(step, 29, 100, 10) == pytest.approx(1.0) and lr_factor(step, 30, 100, 10) == pytest.approx(0.1)
    multistep = recipe.replace(schedule="multistep", milestones=(0.6, 0.8), warmup_epochs=0)
    assert [lr_factor(multistep, s, 100, 10) for s in (59, 60, 79, 80)] == pytest.approx([1, 0.1, 0.1, 0.01])
    with pytest.raises(SpecError, match="milestones"):
        recipe.replace(schedule="multistep")
    with pytest.raises(SpecError, match="label_smoothing"):
        recipe.replace(label_smoothing=1.5)
    with pytest.raises(SpecError, match="optimiser"):
        recipe.replace(optimiser="lion")
    with pytest.raises(SpecError, match="micro_batch"):
        recipe.replace(micro_batch=3)
    with pytest.raises(SpecError, match="augmentation"):
        recipe.replace(augmentation="mixup please")
    assert math.isclose(recipe.as_dict()["lr"], 1e-3) and "torch" not in json.dumps(recipe.as_dict())


def test_spec_recipes_are_shown_by_info(registered, capsys):
    from zoo.cli import main

    with pytest.raises(SpecError, match="recipes must be a tuple"):
        registered.spec(recipes=[registered.RECIPE])
    with pytest.raises(SpecError, match="dice-ce loss, which is for segmentation"):
        registered.spec(recipes=(registered.RECIPE.replace(loss="dice-ce"),))
    with pytest.raises(SpecError, match="duplicate recipe"):
        registered.spec(recipes=(registered.RECIPE, registered.RECIPE))
    details = zoo.info("tiny-train-net")
    assert [r["name"] for r in details["recipes"]] == ["paper", "adamw-ema-flip"]
    assert details["recipes"][0]["source"].startswith("A tiny test network")
    assert main(["info", "tiny-train-net"]) == 0
    shown = capsys.readouterr().out
    assert "recipe paper: sgd lr=0.05 wd=0.0001 cosine (warm-up 0.5 epochs), 2 epochs, batch 4" in shown


def test_train_writes_loadable_checkpoints_csv_and_events(registered, tmp_path):
    result = zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "run", epochs=3,
                       progress=False)
    run = tmp_path / "run"
    rows = (run / "metrics.csv").read_text().splitlines()
    assert rows[0].split(",")[:6] == ["epoch", "step", "lr", "train_loss", "val_loss", "accuracy"]
    assert [r.split(",")[:2] for r in rows[1:]] == [["1", "6"], ["2", "12"], ["3", "18"]]
    assert any(p.name.startswith("events.out.tfevents") for p in (run / "tensorboard").iterdir())
    accuracies = [float(r.split(",")[5]) for r in rows[1:]]
    assert result["best"] == max(accuracies) > 0.25  # better than chance on a learnable toy task
    best, last = zoo.load(run / "best"), zoo.load(run / "last")
    assert isinstance(best, registered.TinyNet)
    assert torch.equal(last.head.weight, weights(run / "last")["head.weight"])
    card = (run / "best" / "README.md").read_text()
    assert "## Training" in card and "recipe `paper`" in card and "| accuracy |" in card
    assert sorted(p.name for p in run.iterdir() if p.name.startswith("ckpt-")) == sorted(
        [(run / "best").resolve().name, (run / "last").resolve().name])
    with pytest.raises(TrainingError, match="already holds a run"):
        zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=run, epochs=1, progress=False)


@pytest.mark.parametrize("fsdp", ["never", "always"])
def test_two_processes_equal_one_with_the_same_global_batch(registered, tmp_path, fsdp):
    # one process: micro-batches of 2 accumulated twice; two processes (DDP, or FSDP-sharded): one micro-batch
    # of 2 each
    single = zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "one", epochs=1,
                       micro_batch=2, progress=False)
    assert single["accumulation"] == 2
    process = run_script("tiny-train-net", "--data", f"tiny-quadrants:{tmp_path}", "--out", str(tmp_path / "two"),
                         "--epochs", "1", "--fsdp", fsdp, torchrun=2)
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output
    one, two = weights(tmp_path / "one" / "last"), weights(tmp_path / "two" / "last")
    start = weights(tmp_path / "one" / "best")  # the same run's epoch-1 weights: K = 6 steps were taken
    assert torch.equal(one["head.weight"], start["head.weight"])
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-5, atol=1e-6)
    torch.manual_seed(0)  # the recipe's seed: the weights every process started from
    assert not torch.equal(one["conv.weight"], zoo.build("tiny-train-net").state_dict()["conv.weight"])
    card = (tmp_path / "two" / "last" / "README.md").read_text()
    assert "2 process(es)" in card and "data `tiny-quadrants`" in card and str(tmp_path) not in card


def test_a_model_training_parameter_subsets_runs_on_two_processes(registered, tmp_path):
    process = run_script("tiny-branchy-net", "--data", f"tiny-quadrants:{tmp_path}", "--out", str(tmp_path / "two"),
                         "--epochs", "1", torchrun=2)
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output
    sharded = run_script("tiny-branchy-net", "--data", f"tiny-quadrants:{tmp_path}", "--out", str(tmp_path / "x"),
                         "--epochs", "1", "--fsdp", "always", torchrun=2)
    output, _ = sharded.communicate(timeout=240)
    assert sharded.returncode != 0 and "--fsdp never" in output


def test_a_killed_run_resumes_bit_for_bit(registered, tmp_path):
    args = ["tiny-train-net", "--data", f"tiny-quadrants:{tmp_path}", "--recipe", "adamw-ema-flip", "--epochs", "2",
            "--checkpoint-every", "2"]
    reference = zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "whole",
                          recipe="adamw-ema-flip", epochs=2, checkpoint_every=2, progress=False)
    run = tmp_path / "killed"
    process = run_script(*args, "--out", str(run), "--data-option", "delay=0.1")
    state = run / "last" / "training_state.pt"
    deadline = time.monotonic() + 120
    while not state.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, output
    stopped = torch.load(state, weights_only=True)
    assert (stopped["epoch"], stopped["step_in_epoch"]) == (0, 2)  # killed mid-epoch, after the first checkpoint
    resumed = run_script(*args, "--out", str(run), "--resume")
    output, _ = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, output
    for folder in ("last", "best"):
        expected, got = weights(tmp_path / "whole" / folder), weights(run / folder)
        assert all(torch.equal(expected[k], got[k]) for k in expected), folder
    final = torch.load(run / "last" / "training_state.pt", weights_only=True)
    assert final["global_step"] == 12 and reference["metrics"]["step"] == 12
    whole_csv = (tmp_path / "whole" / "metrics.csv").read_text().splitlines()
    killed_csv = (run / "metrics.csv").read_text().splitlines()
    column = whole_csv[0].split(",").index("seconds")
    assert [r.split(",")[:column] for r in killed_csv] == [r.split(",")[:column] for r in whole_csv]


def test_bad_input_gets_zoo_errors(registered, tmp_path, monkeypatch):
    with pytest.raises(UnknownNameError, match="unknown dataset 'tiny-quadrant'"):
        zoo.train("tiny-train-net", f"tiny-quadrant:{tmp_path}", out=tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="classification model but dataset 'tiny-masks' is for segmentation"):
        zoo.train("tiny-train-net", f"tiny-masks:{tmp_path}", out=tmp_path / "b", progress=False)
    zoo.train("tiny-train-net-wide", f"tiny-quadrants:{tmp_path}", out=tmp_path / "wide", epochs=1, progress=False)
    with pytest.raises(ConfigError, match="is a run of 'tiny-train-net-wide', not 'tiny-train-net'"):
        zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "wide", resume=True,
                  progress=False)
    with pytest.raises(ConfigError, match="no checkpoint written by zoo train"):
        zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "empty", resume=True,
                  progress=False)

    import safetensors.torch

    real_save, calls = safetensors.torch.save_file, []

    def full_disk(*args, **kwargs):  # the second checkpoint finds the disk full half-way through its file
        calls.append(args[1])
        if len(calls) > 1:
            Path(args[1]).write_bytes(b"\0" * 10)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(safetensors.torch, "save_file", full_disk)
    run = tmp_path / "full"
    with pytest.raises(TrainingError, match="disk is full.*previous checkpoint .*ckpt-last-00000002 is intact"):
        zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=run, epochs=1, checkpoint_every=2,
                  progress=False)
    monkeypatch.setattr(safetensors.torch, "save_file", real_save)
    assert sorted(p.name for p in run.iterdir() if p.name.startswith("ckpt-")) == ["ckpt-last-00000002"]
    assert zoo.load(run / "last") is not None  # what was there before is whole


def test_python_dash_m_zoo_is_the_cli():
    result = subprocess.run([sys.executable, "-m", "zoo", "train", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "--resume" in result.stdout and "DATASET:ROOT" in result.stdout


def test_bf16_autocast_recipe_trains_float32_weights(registered, tmp_path):
    recipe = registered.RECIPE.replace(precision="bf16", epochs=1)
    zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "bf16", recipe=recipe, progress=False)
    torch.manual_seed(recipe.seed)  # the engine's initial weights
    trained, initial = weights(tmp_path / "bf16" / "last"), zoo.build("tiny-train-net").state_dict()
    assert all(t.dtype == torch.float32 for t in trained.values())
    assert not torch.equal(trained["conv.weight"], initial["conv.weight"])


class _OwnCollate(torch.utils.data.Dataset):
    """Quadrants whose items do not default-collate (a dict of a tensor and an int); its ``collate`` gives
    ``((images,), labels)``: a tuple input, passed to the model as arguments."""

    def __init__(self, base):
        self.base, self.num_classes, self.in_channels, self.calls = base, 4, 1, 0

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int):
        image, label = self.base[index]
        return {"pixels": image, "class": int(label)}

    def collate(self, items):
        self.calls += 1
        return (torch.stack([i["pixels"] for i in items]),), torch.tensor([i["class"] for i in items])


def test_datasets_collate_their_own_items_and_best_can_be_the_lowest_validation_loss(registered, tmp_path):
    train, val = (_OwnCollate(registered.load_quadrants(tmp_path, split)) for split in ("train", "val"))
    recipe = registered.RECIPE.replace(epochs=3, select="val-loss")
    result = zoo.train("tiny-train-net", (train, val), out=tmp_path / "own", recipe=recipe, progress=False)
    assert train.calls == 3 * len(train) // recipe.batch_size and val.calls >= 3
    rows = (tmp_path / "own" / "metrics.csv").read_text().splitlines()
    losses = [float(r.split(",")[4]) for r in rows[1:]]
    assert result["best"] == pytest.approx(-min(losses))
    assert (tmp_path / "own" / "best").resolve().name.endswith(f"{6 * (losses.index(min(losses)) + 1):08d}")


def test_ignored_targets_neither_score_nor_count_and_a_whole_graph_weighs_its_nodes():
    from zoo.training.parts import loss_fn, metric_sums

    recipe = TrainRecipe(name="r", optimiser="adam", lr=1e-3, epochs=1, batch_size=1, class_weights=(1.0, 3.0))
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 2.0]])  # predicts 0, 1, 0, 1
    y = torch.tensor([0, 0, -100, -100])  # one graph of 4 nodes, two outside the split
    assert metric_sums("classification", recipe, logits, y, torch.ones(1)).tolist() == [2.0, 1.0]
    assert metric_sums("classification", recipe, logits, y, torch.zeros(1)).tolist() == [0.0, 0.0]  # padding
    expected = torch.nn.functional.cross_entropy(logits[:2], y[:2], weight=torch.tensor([1.0, 3.0]))
    assert torch.allclose(loss_fn(recipe)(logits, y), expected)
    with pytest.raises(SpecError, match="class_weights"):
        recipe.replace(loss="bce")


def test_loss_and_epoch_hooks_rmsprop_and_early_stops(registered, tmp_path):
    registered.CALLS.clear()
    recipe = registered.RECIPE.replace(optimiser="rmsprop", beta2=0.9, eps=1.0, epochs=3,
                                       loss="train_fixtures:counting_loss", epoch_start="train_fixtures:record_epoch")
    zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "hooks", recipe=recipe, progress=False)
    assert [c for c in registered.CALLS if c[0] == "epoch"] == [("epoch", 0), ("epoch", 1), ("epoch", 2)]
    assert ("loss", "TinyNet") in registered.CALLS
    budget = zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "budget", epochs=5,
                       time_budget=1e-9, progress=False)
    assert budget["out_of_time"] and budget["metrics"]["step"] == 1 and budget["metrics"]["epoch"] == 1
    # lr so small that nothing changes: no epoch after the first is better, so patience 2 stops after epoch 3
    still = registered.RECIPE.replace(lr=1e-30, epochs=10, patience=2, schedule="constant", warmup_epochs=0)
    stopped = zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "patience", recipe=still,
                        progress=False)
    assert stopped["metrics"]["epoch"] == 3
    with pytest.raises(ConfigError, match="time_budget must be a positive"):
        zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "x", time_budget=0, progress=False)


def test_fp16_recipe_runs_in_fp32_on_the_cpu(registered, tmp_path):
    recipe = registered.RECIPE.replace(precision="fp16", epochs=1)
    with pytest.warns(UserWarning, match="on the CPU it runs in fp32"):
        zoo.train("tiny-train-net", f"tiny-quadrants:{tmp_path}", out=tmp_path / "fp16", recipe=recipe,
                  progress=False, device="cpu")
    assert all(t.dtype == torch.float32 for t in weights(tmp_path / "fp16" / "last").values())


def test_task_metrics_and_recipe_fields_are_checked():
    from zoo.training import parts

    assert parts.task_kind("word-classification") == "classification"
    assert parts.TASK_METRICS["forecasting"] == ("rmse", False) and not parts.higher_is_better("rmse")
    prediction, target = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 2.0)
    sums = parts.metric_sums("forecasting", TrainRecipe("r", "adam", 1e-3, 1, 2), prediction, target, torch.ones(2))
    assert parts.metric_value("forecasting", sums) == ("rmse", 2.0)
    for bad in (dict(loss="hinge"), dict(prepare="not a ref"), dict(patience=-1), dict(eps=0.0),
                dict(optimiser="adagrad"), dict(inputs="video")):
        with pytest.raises(SpecError):
            TrainRecipe(**{**dict(name="r", optimiser="adam", lr=1e-3, epochs=1, batch_size=2), **bad})
    with pytest.raises(SpecError, match="no no_recipe reason"):
        import train_fixtures

        train_fixtures.spec(no_recipe="cannot")


def test_detection_batches_metric_and_flip():
    from zoo.training import parts

    images, targets = parts.detection_collate([(torch.zeros(3, 8, 8), torch.tensor([[1, 0.25, 0.5, 0.5, 0.5]])),
                                               (torch.ones(3, 8, 8), torch.zeros(0, 5)),
                                               (torch.ones(3, 8, 8), [[0, 0.5, 0.5, 1.0, 1.0]])])
    assert images.shape == (3, 3, 8, 8) and targets.tolist() == [[0, 1, 0.25, 0.5, 0.5, 0.5], [2, 0, 0.5, 0.5, 1, 1]]
    assert parts.TASK_METRICS["detection"] == ("map50", True)
    # image 0's class-1 box is x 0..4, y 2..6 at 8 x 8; image 2's class-0 box the whole image
    exact = [torch.tensor([[0.0, 2, 4, 6, 0.9, 1]]), torch.zeros(0, 6), torch.tensor([[0.0, 0, 8, 8, 0.8, 0]])]
    sums = parts.detection_sums(exact, targets, (8, 8), torch.ones(3), 2)
    assert parts.metric_value("detection", sums) == ("map50", 1.0)
    # a false positive scored above the hit halves class 1's precision at full recall; a padded image counts nothing
    noisy = [torch.tensor([[4.0, 4, 8, 8, 0.95, 1], [0.0, 2, 4, 6, 0.9, 1]]), torch.zeros(0, 6),
             torch.tensor([[0.0, 0, 8, 8, 0.8, 0]])]
    sums = parts.detection_sums(noisy, targets, (8, 8), torch.tensor([1.0, 1.0, 0.0]), 2)
    assert parts.detection_map(sums) == pytest.approx(0.5) and sums[0] == 2
    assert parts.detection_map(parts.detection_sums(exact, torch.zeros(0, 6), (8, 8), torch.ones(3), 2)) == 0.0
    # the flipped boxes still frame what they framed: a marked 4 x 4 patch at x 0..4, y 1..5
    image = torch.zeros(1, 1, 8, 8)
    image[..., 1:5, 0:4] = 1
    box = torch.tensor([[0, 1, 0.25, 0.375, 0.5, 0.5]])
    seen = set()
    for seed in range(8):
        torch.manual_seed(seed)
        x, y = parts.random_flip(image, box, "detection")
        cx, cy = round(float(y[0, 2]) * 8), round(float(y[0, 3]) * 8)
        assert x[0, 0, cy - 2:cy + 2, cx - 2:cx + 2].sum() == 16
        seen.add((cx, cy))
    assert seen == {(2, 3), (6, 3), (2, 5), (6, 5)}
