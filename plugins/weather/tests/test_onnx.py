"""The authors' ONNX path: a tiny ONNX exported from our own torch model, run behind the same API."""

import numpy as np
import pytest
import torch

from zoo.errors import InputShapeError, WeightsError
from zoo_weather import Cascade, forecast, load_onnx
from zoo_weather.models.puyun import build_puyun, example_input
from zoo_weather.state import to_array

pytest.importorskip("onnxruntime", reason="the ONNX path needs onnxruntime (zoo-weather[onnx])")
# torch's TorchScript exporter warns about itself and about tracing the shape checks; neither matters here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def export(model, path, *, temb_rank=2):
    x, temb = example_input({"grid": model.grid})
    if temb_rank == 3:  # the authors' plugin feeds [1, 1, 12]: wrap to export that signature
        class Rank3(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x, temb):
                return self.inner(x, temb[:, 0])

        model, temb = Rank3(model), temb[:, None]
    torch.onnx.export(model.eval(), (x, temb), str(path), input_names=["input", "time_embeddings"],
                      output_names=["output"], dynamo=False)


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("puyun-onnx")
    models = {}
    for k, stage in enumerate(("short", "medium", "long")):
        torch.manual_seed(k)
        model = build_puyun(stage, "5.625", embed_dim=8, depth=1).eval()
        torch.nn.init.normal_(model.head.weight, std=1e-3)
        export(model, folder / f"{stage}.onnx", temb_rank=3 if stage == "medium" else 2)
        models[stage] = model
    return folder, models


def test_onnx_matches_the_torch_model_it_was_exported_from(assets):
    folder, models = assets
    onnx_model = load_onnx(folder, stage="short")
    assert onnx_model.grid == "5.625" and onnx_model.stage == "short"
    x, temb = example_input({"grid": "5.625"})
    x = torch.cat([x, x.flip(-1)])  # batch 2: run one by one as the released files take batch 1
    temb = temb.repeat(2, 1)
    with torch.no_grad():
        expected = models["short"](x, temb)
    got = onnx_model(x, temb)
    scale = models["short"].std.view(1, 69, 1, 1)
    assert torch.allclose(got / scale, expected / scale, atol=1e-5)
    with pytest.raises(InputShapeError, match="C=69"):
        onnx_model(x[:, :, :60], temb)


def test_onnx_cascade_behind_the_forecast_api_switches_stages(assets, initial_state):
    folder, models = assets
    cascade = load_onnx(folder)
    assert isinstance(cascade, Cascade) and set(cascade.stages) == {"short", "medium", "long"}
    state = initial_state
    onnx_steps = list(forecast(cascade, state, steps=42))
    torch_steps = list(forecast(Cascade(**models), state, steps=42))
    assert [s.attrs["stage"] for s in onnx_steps] == ["short"] * 20 + ["medium"] * 20 + ["long"] * 2
    for step in (0, 25, 41):  # the medium file takes a [1, 1, 12] embedding, as the authors' files do
        a, b = to_array(onnx_steps[step]), to_array(torch_steps[step])
        scale = models["short"].std.numpy().reshape(1, 1, 69, 1, 1)
        assert np.allclose(a / scale, b / scale, atol=1e-4)


def test_missing_or_wrong_assets_are_clear(tmp_path, assets):
    with pytest.raises(WeightsError, match="short.onnx"):
        load_onnx(tmp_path)
    (tmp_path / "short.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(WeightsError, match="not a readable ONNX"):
        load_onnx(tmp_path)
    with pytest.raises(WeightsError, match="not found"):
        load_onnx(tmp_path, stage="long")
