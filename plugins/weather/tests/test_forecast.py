"""The cascade rollout (switch at steps 20 and 40, no autograd), its Datasets, and earth2studio's protocol."""

from collections import OrderedDict
from datetime import datetime
from typing import Protocol, runtime_checkable

import numpy as np
import pytest
import torch
import xarray as xr

from zoo.errors import ConfigError, InputShapeError
from zoo_weather import Cascade, forecast
from zoo_weather.channels import CHANNELS, time_embedding
from zoo_weather.models.puyun import build_puyun, example_input
from zoo_weather.state import from_array, to_array

INIT = datetime(2018, 1, 1, 6)


@runtime_checkable
class PrognosticModel(Protocol):
    """earth2studio 0.x's ``models.px.base.PrognosticModel``, restated so the test needs no earth2studio."""

    def __call__(self, x, coords): ...
    def create_iterator(self, x, coords): ...
    def input_coords(self): ...
    def output_coords(self, input_coords): ...
    def to(self, device): ...


def stage_models(grid="5.625"):
    models = {}
    for k, stage in enumerate(("short", "medium", "long")):
        torch.manual_seed(k)
        model = build_puyun(stage, grid, embed_dim=8, depth=1)
        torch.nn.init.normal_(model.head.weight, std=1e-3)
        models[stage] = model
    return models


def recorder(models):
    calls = []

    def hook(module, inputs, output):
        calls.append((module.stage, inputs[1].clone(), output.requires_grad, torch.is_grad_enabled()))

    for model in models.values():
        model.register_forward_hook(hook)
    return calls


def test_cascade_switches_at_steps_20_and_40_without_autograd(initial_state):
    models = stage_models()
    calls = recorder(models)
    cascade = Cascade(**models)  # trainable weights (requires_grad), yet no graph may be kept
    steps = list(forecast(cascade, initial_state, steps=45))
    assert [s.attrs["stage"] for s in steps] == ["short"] * 20 + ["medium"] * 20 + ["long"] * 5
    assert [c[0] for c in calls] == ["short"] * 20 + ["medium"] * 20 + ["long"] * 5
    assert not any(requires_grad or grad_enabled for _, _, requires_grad, grad_enabled in calls)
    assert all(p.grad is None for p in cascade.parameters())
    for step, (_, temb, _, _) in enumerate(calls):  # step i gets the embedding of init + 6h·(i−1, i, i+1)
        assert torch.allclose(temb[0], torch.tensor(time_embedding(INIT, step)))


def test_forecast_yields_datasets_in_the_model_layout(initial_state):
    models = stage_models()
    first, second = list(forecast(models["short"], initial_state, steps=2))
    assert set(first.data_vars) == {"z", "t", "u", "v", "r", "t2m", "u10m", "v10m", "msl"}
    assert first["z"].dims == ("time", "lead_time", "level", "lat", "lon")
    assert first["t2m"].dims == ("time", "lead_time", "lat", "lon")
    assert first["time"].values[0] == np.datetime64("2018-01-01T06")
    assert second["lead_time"].values[0] == np.timedelta64(12, "h")
    assert first["level"].values.tolist()[:2] == [50, 100] and first["lat"].values[0] > first["lat"].values[-1]
    # The second step is the model applied to (state at t, first forecast).
    x, _ = example_input({"grid": "5.625"})
    out1 = torch.from_numpy(to_array(first)[0, 0])
    with torch.no_grad():
        expected = models["short"](torch.stack([x[0, 1], out1])[None], torch.tensor([time_embedding(INIT, 1)]))
    assert np.allclose(to_array(second)[0, 0], expected[0].numpy(), rtol=1e-6)


def test_a_single_model_runs_every_step_and_bad_initial_states_are_clear(initial_state):
    short = stage_models()["short"]
    assert [s.attrs["stage"] for s in forecast(short, initial_state, steps=22)][-1] == "short"
    state = initial_state
    with pytest.raises(InputShapeError, match="two times"):
        next(forecast(short, state.isel(time=[1]), steps=1))
    with pytest.raises(InputShapeError, match="regrid"):
        next(forecast(build_puyun("short", "2.5", embed_dim=8, depth=1), state, steps=1))
    with pytest.raises(ConfigError, match="init_time"):
        next(forecast(short, torch.zeros(2, 69, 32, 64), steps=1))
    with pytest.raises(ConfigError, match="one grid"):
        Cascade(short, build_puyun("medium", "2.5", embed_dim=8, depth=1))


def e2s_input(grid="5.625"):
    x, _ = example_input({"grid": grid})
    coords = OrderedDict(Cascade(stage_models()["short"]).input_coords())
    coords["batch"] = np.array([0])
    coords["time"] = np.array([np.datetime64("2018-01-01T06")], dtype="datetime64[ns]")
    return x[:, None], coords  # [batch=1, time=1, lead_time=2, variable=69, lat, lon]


def test_earth2studio_prognostic_protocol():
    models = stage_models()
    cascade = Cascade(**models)
    assert isinstance(cascade, PrognosticModel) and isinstance(models["short"], PrognosticModel)
    coords = cascade.input_coords()
    assert list(coords) == ["batch", "time", "lead_time", "variable", "lat", "lon"]
    assert coords["variable"].tolist() == list(CHANNELS) and coords["lat"][0] == pytest.approx(87.1875)
    assert coords["lead_time"].tolist() == [np.timedelta64(-6, "h"), np.timedelta64(0, "h")]
    x, coords = e2s_input()
    out, out_coords = cascade(x, coords)
    assert out.shape == (1, 1, 1, 69, 32, 64) and out_coords["lead_time"].tolist() == [np.timedelta64(6, "h")]
    assert list(out_coords) == list(coords)
    direct, _ = models["short"](x, coords)  # the model object alone speaks the protocol too
    assert torch.equal(out, direct)
    # One protocol step equals the forecast API's first step.
    state = from_array(x[0, 0].numpy(), coords["lat"], coords["lon"], time=np.array(
        ["2018-01-01T00", "2018-01-01T06"], dtype="datetime64[ns]"))
    first = next(forecast(cascade, state, steps=1))
    assert np.allclose(to_array(first)[0, 0], out[0, 0, 0].numpy())
    with pytest.raises(InputShapeError, match="variable"):
        bad = OrderedDict(coords, variable=np.array(CHANNELS[::-1]))
        cascade.output_coords(bad)


def test_earth2studio_iterator_starts_with_the_initial_state_and_switches_stages():
    models = stage_models()
    calls = recorder(models)
    x, coords = e2s_input()
    iterator = Cascade(**models).create_iterator(x, coords)
    state, state_coords = next(iterator)
    assert torch.equal(state, x[:, :, 1:]) and state_coords["lead_time"].tolist() == [np.timedelta64(0, "h")]
    leads = [next(iterator)[1]["lead_time"][0] for _ in range(41)]
    assert leads[0] == np.timedelta64(6, "h") and leads[-1] == np.timedelta64(41 * 6, "h")
    assert [c[0] for c in calls] == ["short"] * 20 + ["medium"] * 20 + ["long"]
    for step, (_, temb, _, _) in enumerate(calls[:3]):
        assert torch.allclose(temb[0], torch.tensor(time_embedding(INIT, step)), atol=1e-6)


def test_protocol_takes_any_number_of_batch_dims():
    """earth2studio's workflows pass coords without 'batch' (its batch_func adds and removes it)."""
    cascade = Cascade(stage_models()["short"])
    x, coords = e2s_input()
    reference, _ = cascade(x, coords)
    plain = OrderedDict((k, v) for k, v in coords.items() if k != "batch")
    out, out_coords = cascade(x[0], plain)
    assert torch.equal(out, reference[0]) and list(out_coords) == list(plain)
    two = OrderedDict([("ensemble", np.arange(2)), *coords.items()])
    out, _ = cascade(x[None].repeat(2, 1, 1, 1, 1, 1, 1), two)
    assert out.shape == (2, 1, 1, 1, 69, 32, 64) and torch.allclose(out[1, 0], reference[0])
    iterator = cascade.create_iterator(x[0], plain)
    assert next(iterator)[0].shape == (1, 1, 69, 32, 64) and next(iterator)[0].shape == (1, 1, 69, 32, 64)
    with pytest.raises(InputShapeError, match="must end with"):
        cascade(x, OrderedDict((k, coords[k]) for k in ("batch", "lead_time", "time", "variable", "lat", "lon")))


def test_dataset_round_trip():
    values = np.random.default_rng(0).normal(size=(3, 69, 4, 8)).astype(np.float32)
    ds = from_array(values, [1, 2, 3, 4], np.arange(8) * 45.0, time=np.arange(3))
    assert isinstance(ds, xr.Dataset) and ds["r"].sel(level=50).values.tolist() == values[:, 52].tolist()
    assert np.array_equal(to_array(ds), values)
