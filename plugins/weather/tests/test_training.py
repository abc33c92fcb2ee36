"""The latitude-weighted loss and multi-step autoregressive fine-tuning."""

import numpy as np
import pytest
import torch

from zoo.errors import DatasetFormatError
from zoo_weather.channels import latitudes, longitudes
from zoo_weather.data.gridded import ForecastSamples
from zoo_weather.metrics import latitude_weights as wb2_weights
from zoo_weather.models.puyun import build_puyun, example_input
from zoo_weather.state import from_array
from zoo_weather.training import fine_tune, latitude_weights, rollout_loss, weighted_loss


def series(steps=6, grid="5.625"):
    """A travelling wave on top of the example state, 6-hourly."""
    x, _ = example_input({"grid": grid})
    base = x[0, 1].numpy()
    lon = np.deg2rad(np.array(longitudes(grid)))
    std = build_puyun("short", grid, embed_dim=8, depth=1).std.numpy()
    frames = [base + std * np.sin(lon - 0.3 * k)[None, None, :] for k in range(steps)]
    times = np.datetime64("2018-01-01T00", "ns") + np.arange(steps) * np.timedelta64(6, "h")
    return from_array(np.stack(frames), latitudes(grid), longitudes(grid), time=times)


def test_weighted_loss_by_hand():
    weights = latitude_weights("5.625")
    assert torch.allclose(weights[:, 0].double(), torch.tensor(wb2_weights(latitudes("5.625")).values))
    std = torch.full((69, 1, 1), 2.0)
    target = torch.zeros(1, 69, 32, 64)
    prediction = target.clone()
    prediction[:, :, 0] = 4.0  # only the northernmost row is wrong, by 2 std
    expected = 2.0 * weights[0, 0] / 32
    assert weighted_loss(prediction, target, std, weights).item() == pytest.approx(expected.item(), rel=1e-6)
    assert weighted_loss(prediction, target, std, weights, "mse").item() == pytest.approx(2 * expected.item(), rel=1e-6)


def test_samples_and_rollout_targets():
    samples = ForecastSamples(series(6), rollout=2)
    x, temb, target = samples[0]
    assert len(samples) == 3 and x.shape == (2, 69, 32, 64) and temb.shape == (2, 12)
    assert target.shape == (2, 69, 32, 64)
    assert torch.equal(target[0], samples.values[2]) and torch.equal(target[1], samples.values[3])
    with pytest.raises(DatasetFormatError, match="6 hours"):
        ForecastSamples(series(6).isel(time=[0, 1, 3, 4]))


def test_rollout_loss_feeds_predictions_back():
    torch.manual_seed(0)
    model = build_puyun("short", "5.625", embed_dim=8, depth=1)
    torch.nn.init.normal_(model.head.weight, std=1e-2)
    x, temb, target = ForecastSamples(series(6), rollout=2)[0]
    loss = rollout_loss(model, x[None], temb[None], target[None])
    loss.backward()
    assert model.head.weight.grad is not None and torch.isfinite(loss)
    # the second step's input is the first step's prediction, not the first target
    with torch.no_grad():
        first = model(x[None], temb[None, 0])
        second = model(torch.stack([x[None, 1], first], dim=1), temb[None, 1])
    w = latitude_weights("5.625")
    expected = (weighted_loss(first, target[None, 0], model.std, w)
                + weighted_loss(second, target[None, 1], model.std, w)) / 2
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_fine_tuning_lowers_the_loss():
    torch.manual_seed(0)
    model = build_puyun("short", "5.625", embed_dim=16, depth=1)
    samples = ForecastSamples(series(8), rollout=2)
    x, temb, target = (t[None] for t in samples[0])
    with torch.no_grad():
        before = rollout_loss(model.eval(), x, temb, target).item()
    losses = fine_tune(model, samples, epochs=6, rollout=2, lr=3e-3)
    with torch.no_grad():
        after = rollout_loss(model, x, temb, target).item()
    assert len(losses) == 6 * len(samples) and not model.training
    assert after < 0.7 * before


def test_zoo_train_runs_the_fuxi_recipe_holding_out_the_last_samples(tmp_path):
    import zoo
    from zoo.registry import get_registry
    from zoo_weather.training import OneStep, hold_out_last

    samples = ForecastSamples(series(12), rollout=1)
    recipe = get_registry().model("puyun-short").get_recipe()
    train, validation = hold_out_last(samples, None, recipe, {})
    assert isinstance(train, OneStep) and (len(train), len(validation)) == (9, 1)
    assert list(validation.indices) == [9] and train.model_config == {"grid": "5.625"}
    (x, temb), target = train[0]
    assert x.shape == (2, 69, 32, 64) and temb.shape == (12,) and target.shape == (69, 32, 64)
    torch.manual_seed(0)
    result = zoo.train("puyun-short", (samples, None), out=tmp_path / "run", progress=False,
                       recipe=recipe.replace(epochs=1, steps_per_epoch=2, batch_size=2, lr=3e-3),
                       config={"embed_dim": 8, "depth": 1})
    metrics = result["metrics"]
    assert metrics["step"] == 2 and np.isfinite(metrics["val_loss"]) and metrics["rmse"] > 0
    assert zoo.load(tmp_path / "run" / "best").grid == "5.625"
