"""A tiny model family registered at run time by the core's tests (no plugin distribution needed)."""

from __future__ import annotations

import torch
from torch import nn

import zoo
from zoo import ModelSpec, Paper

PAPER = Paper("A tiny test network", arxiv="0000.00000")


class TinyConvNet(nn.Module):
    """conv3x3 -> BN -> ReLU -> global pool -> linear. Input [B, C, H, W], output logits [B, classes]."""

    def __init__(self, in_channels: int = 3, num_classes: int = 4, width: int = 8):
        super().__init__()
        self.in_channels = in_channels
        self.features = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zoo.expect_shape(x, "B C H W", C=self.in_channels, model="tiny-convnet")
        return self.head(self.features(x).mean((2, 3)))


def build_tiny_convnet(in_channels: int = 3, num_classes: int = 4, width: int = 8) -> TinyConvNet:
    return TinyConvNet(in_channels, num_classes, width)


def example_image(config: dict) -> torch.Tensor:
    return torch.randn(2, config["in_channels"], 16, 16, generator=torch.Generator().manual_seed(0))


def tiny_params(in_channels: int = 3, num_classes: int = 4, width: int = 8) -> int:
    return in_channels * width * 9 + width + 2 * width + width * num_classes + num_classes


def tiny_spec(name: str = "tiny-convnet", weights: tuple = (), **changes) -> ModelSpec:
    fields = dict(
        name=name, domain="testing", task="classification", paper=PAPER,
        builder="zoo_core_fixtures:build_tiny_convnet", example_input="zoo_core_fixtures:example_image",
        num_params=tiny_params(), default_config={"in_channels": 3, "num_classes": 4, "width": 8},
        weights=weights, explain_layer="features.2", license="mit",
    )
    fields.update(changes)
    return ModelSpec(**fields)


class SpecPlugin:
    """A run-time plugin that registers the given specs."""

    def __init__(self, *specs):
        self.specs = list(specs)

    @zoo.hookimpl
    def zoo_models(self):
        return self.specs


class RaisingPlugin:
    @zoo.hookimpl
    def zoo_models(self):
        raise RuntimeError("this plugin's hook is broken")


class MalformedPlugin:
    @zoo.hookimpl
    def zoo_models(self):
        return ["not a spec"]


def load_pretrained_in_child(env: dict, weights: dict, go: str, results) -> None:
    """Entry point of a forked test process: register the tiny model with ``weights``, wait for
    the file ``go`` (so that all processes start together), load it pretrained, report the result."""
    import os
    import time

    os.environ.update(env)
    zoo.register_plugin(SpecPlugin(tiny_spec(weights=(zoo.WeightsSpec(**weights),))), name="tiny")
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        results.put(float(zoo.load("tiny-convnet", pretrained=True).head.weight.detach().sum()))
    except Exception as error:  # noqa: BLE001 - reported to the parent test
        results.put(repr(error))


def save_killed_mid_write_in_child(folder: str) -> None:
    """Entry point of a forked test process: ``zoo.save`` whose weights file is half written when
    the process is killed (SIGKILL, so no ``finally`` and no cleanup runs)."""
    import os
    import signal

    import safetensors.torch

    def half_then_die(tensors, path, metadata=None):
        with open(path, "wb") as handle:
            handle.write(b"\0" * 64)
        os.kill(os.getpid(), signal.SIGKILL)

    safetensors.torch.save_file = half_then_die
    zoo.register_plugin(SpecPlugin(tiny_spec()), name="tiny")
    zoo.save(zoo.load("tiny-convnet"), folder)
