"""The authors' PuYun ONNX files (handed out on request) behind the same interface as our torch model.

PuYun, arXiv:2409.02123. The authors' ai-models plugin feeds each of ``short.onnx``, ``medium.onnx``
and ``long.onnx`` two inputs, ``input`` float32 ``[1, 2, 69, 721, 1440]`` (physical units) and
``time_embeddings`` (12 values; ``[1, 12]`` or ``[1, 1, 12]``), and reads one output
``[1, 69, 721, 1440]``. :class:`PuYunOnnx` runs such a file through onnxruntime as a
``torch.nn.Module`` with the same call (``model(x [B, 2, 69, H, W], temb [B, 12]) -> [B, 69, H, W]``),
so :func:`zoo_weather.forecast` and the earth2studio protocol take it unchanged.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

import zoo
from zoo.errors import ConfigError, WeightsError
from zoo_weather.cascade import Cascade, Prognostic
from zoo_weather.channels import GRIDS, NUM_CHANNELS, STAGES

INPUT, TIME = "input", "time_embeddings"


class PuYunOnnx(Prognostic, nn.Module):
    """One PuYun stage as an onnxruntime session; the grid is read from the file's input shape."""

    def __init__(self, path: str | Path, stage: str = "short", *, providers: list[str] | None = None,
                 num_threads: int | None = None):
        super().__init__()
        import onnxruntime as ort

        if stage not in STAGES:
            raise ConfigError(f"puyun-onnx: stage must be one of {STAGES}, got {stage!r}")
        path = Path(path).expanduser()
        if not path.is_file():
            raise WeightsError(f"PuYun ONNX file {str(path)!r} not found (the authors hand out short.onnx, "
                               "medium.onnx and long.onnx on request; pass the folder holding them)")
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidProtobuf

        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers or ["CPUExecutionProvider"])
        except (Fail, InvalidProtobuf, RuntimeError) as error:
            raise WeightsError(f"{path}: not a readable ONNX model ({type(error).__name__}: {error})") from None
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        if set(inputs) != {INPUT, TIME}:
            raise WeightsError(f"{path}: a PuYun ONNX model takes inputs {INPUT!r} and {TIME!r}, "
                               f"this one takes {sorted(inputs)}")
        shape = inputs[INPUT]
        if len(shape) != 5 or shape[1:3] != [2, NUM_CHANNELS]:
            raise WeightsError(f"{path}: input {INPUT!r} has shape {shape}, expected [1, 2, 69, H, W]")
        grid = next((g for g, (rows, cols, _, _) in GRIDS.items() if [rows, cols] == shape[3:]), None)
        if grid is None:
            raise WeightsError(f"{path}: grid {shape[3:]} is none of the PuYun grids "
                               f"{ {g: v[:2] for g, v in GRIDS.items()} }")
        self.path, self.stage, self.grid, self.name = path, stage, grid, f"puyun-{stage}-onnx"
        self.rows, self.cols = GRIDS[grid][:2]
        self.time_rank = len(inputs[TIME])
        self.output_name = self.session.get_outputs()[0].name

    def stage_model(self, step: int) -> PuYunOnnx:
        return self

    def forward(self, x: torch.Tensor, time_embedding):
        from collections.abc import Mapping

        if isinstance(time_embedding, Mapping):
            return self.prognostic_call(x, time_embedding)
        sizes = zoo.expect_shape(x, "B 2 C H W", C=NUM_CHANNELS, H=self.rows, W=self.cols, dtype="float",
                                 model=self.name)
        zoo.expect_shape(time_embedding, "B 12", B=sizes["B"], dtype="float", name="time_embedding", model=self.name)
        outputs = []
        for b in range(sizes["B"]):  # the released files are exported for batch 1
            temb = time_embedding[b:b + 1].reshape([1] * (self.time_rank - 1) + [12])
            feeds = {INPUT: x[b:b + 1].detach().float().cpu().contiguous().numpy(),
                     TIME: temb.detach().float().cpu().contiguous().numpy()}
            (out,) = self.session.run([self.output_name], feeds)
            outputs.append(torch.from_numpy(out))
        return torch.cat(outputs).to(x.device)


def load_onnx(assets: str | Path, stage: str | None = None, **options) -> PuYunOnnx | Cascade:
    """``assets``: a folder with ``short.onnx`` [, ``medium.onnx``, ``long.onnx``] or one ``.onnx`` file.

    With ``stage`` (or a single file) one :class:`PuYunOnnx` is returned; otherwise the
    :class:`~zoo_weather.cascade.Cascade` of every stage found in the folder (short is required).
    """
    assets = Path(assets).expanduser()
    if assets.is_file():
        return PuYunOnnx(assets, stage or "short", **options)
    if stage is not None:
        return PuYunOnnx(assets / f"{stage}.onnx", stage, **options)
    if not (assets / "short.onnx").is_file():
        found = sorted(p.name for p in assets.glob("*.onnx")) if assets.is_dir() else []
        raise WeightsError(f"{str(assets)!r} holds no short.onnx (found {found}); the cascade needs at least "
                           "short.onnx, then medium.onnx and long.onnx")
    models = {s: PuYunOnnx(assets / f"{s}.onnx", s, **options) for s in STAGES if (assets / f"{s}.onnx").is_file()}
    return Cascade(**models)
