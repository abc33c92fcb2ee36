"""Tiny models of each kind the explainers must handle (imported by the test_explain* files; no
tests here). Each is a few thousand parameters so that every method runs on every kind in seconds:

- ``SmallCNN``: images ``[B, 3, 32, 32]`` -> logits ``[B, 5]``;
- ``TinyViT``: images ``[B, 3, 16, 16]``, 4×4 patches + a class token -> logits ``[B, 5]``;
- ``Tiny3D``: volumes ``[B, 1, 8, 16, 16]`` -> per-voxel logits ``[B, 3, 8, 16, 16]`` (segmentation);
- ``TinySpiking``: images ``[B, 2, 16, 16]`` presented for T = 4 steps to LIF neurons with a
  surrogate gradient, the conv/LIF layers called once per step -> mean firing logits ``[B, 5]``;
- ``TinyPointNet``: sparse points (``SparseBatch``: features ``[N_active, 3]`` + sample index)
  through per-point layers -> logits ``[B, 5]``; its activations are ``[N_active, C]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

import zoo
from zoo import ModelSpec, Paper
from zoo.explainers.framework import Points

PAPER = Paper("tiny test models for the explainers")


class SmallCNN(nn.Module):
    def __init__(self, classes: int = 5):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        return self.head(self.block(self.stem(x)).mean((2, 3)))


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 2, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    def __init__(self, classes: int = 5, dim: int = 16):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, stride=4)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, 17, dim) * 0.02)
        self.blocks = nn.Sequential(Block(dim), Block(dim))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], 1) + self.pos
        return self.head(self.norm(self.blocks(tokens))[:, 0])


class Tiny3D(nn.Module):
    def __init__(self, classes: int = 3):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv3d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv3d(8, 8, 3, stride=2, padding=1),
                                     nn.ReLU())
        self.decoder = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv3d(8, classes, 1))

    def forward(self, x):
        return self.decoder(self.encoder(x))


class SpikeFunction(torch.autograd.Function):
    """Heaviside spike with a sigmoid surrogate gradient (slope 4)."""

    @staticmethod
    def forward(ctx, v):
        ctx.save_for_backward(v)
        return (v >= 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        s = torch.sigmoid(4 * v)
        return grad * 4 * s * (1 - s)


class LIF(nn.Module):
    """Leaky integrate-and-fire, single step: the membrane state lives between calls."""

    def __init__(self, tau: float = 2.0, threshold: float = 0.5):
        super().__init__()
        self.tau, self.threshold, self.v = tau, threshold, None

    def forward(self, x):
        v = x if self.v is None else self.v + (x - self.v) / self.tau
        spike = SpikeFunction.apply(v - self.threshold)
        self.v = v * (1 - spike)
        return spike


class TinySpiking(nn.Module):
    def __init__(self, classes: int = 5, steps: int = 4):
        super().__init__()
        self.steps = steps
        self.conv1, self.lif1 = nn.Conv2d(2, 8, 3, padding=1), LIF()
        self.conv2, self.lif2 = nn.Conv2d(8, 16, 3, stride=2, padding=1), LIF()
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        self.lif1.v = self.lif2.v = None
        out = 0
        for _ in range(self.steps):
            spikes = self.lif2(self.conv2(self.lif1(self.conv1(x))))
            out = out + self.head(spikes.mean((2, 3)))
        return out / self.steps


class TinyMultiStep(nn.Module):
    """A multi-step layout: the target layer sees all T steps at once, ``[T, B, C, H, W]``."""

    def __init__(self, classes: int = 5, steps: int = 3):
        super().__init__()
        self.steps = steps
        self.conv = nn.Conv2d(2, 8, 3, padding=1)
        self.features = nn.Identity()
        self.head = nn.Linear(8, classes)

    def forward(self, x):
        frames = torch.stack([x * (t + 1) / self.steps for t in range(self.steps)])  # [T, B, C, H, W]
        feats = self.features(torch.relu(self.conv(frames.flatten(0, 1))).unflatten(0, (self.steps, x.shape[0])))
        return self.head(feats.mean((0, 3, 4)))


@dataclass
class SparseBatch:
    """Sparse points of a batch, the layout of spconv/torchsparse/MinkowskiEngine tensors."""

    features: torch.Tensor  # [N_active, C]
    batch: torch.Tensor  # [N_active] sample index


class PointLinear(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.linear = nn.Linear(cin, cout)

    def forward(self, sparse: SparseBatch) -> SparseBatch:
        return SparseBatch(torch.relu(self.linear(sparse.features)), sparse.batch)


class TinyPointNet(nn.Module):
    def __init__(self, classes: int = 5):
        super().__init__()
        self.layer1, self.layer2 = PointLinear(3, 16), PointLinear(16, 32)
        self.head = nn.Linear(32, classes)

    def forward(self, features: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        sparse = self.layer2(self.layer1(SparseBatch(features, batch)))
        size = int(batch.max()) + 1
        sums = torch.zeros(size, sparse.features.shape[1]).index_add(0, batch, sparse.features)
        counts = torch.bincount(batch, minlength=size).clamp_min(1)[:, None]
        return self.head(sums / counts)


def sparse_points(sparse: SparseBatch) -> Points:
    """The ``explain_reshape`` of TinyPointNet's layers."""
    return Points(sparse.features, sparse.batch)


def point_input(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    batch = torch.tensor([0] * 7 + [1] * 5 + [2] * 9)
    return torch.randn(batch.numel(), 3, generator=generator), batch


def build(kind: str) -> nn.Module:
    return {"cnn": SmallCNN, "vit": TinyViT, "3d": Tiny3D, "spiking": TinySpiking, "points": TinyPointNet,
            "multistep": TinyMultiStep}[kind]()


def example_input(config: dict):
    return torch.randn(2, 3, 16, 16)


# A ModelSpec per kind: the default target layer and reshape come from here, as for zoo models.
SPECS = {
    "cnn": dict(explain_layer="block"),
    "vit": dict(explain_layer="blocks.1.norm1", explain_reshape="zoo.explainers.reshapes:vit_tokens"),
    "3d": dict(explain_layer="encoder"),
    "spiking": dict(explain_layer="lif2"),
    "points": dict(explain_layer="layer2", explain_reshape="test_explain_models:sparse_points"),
    "multistep": dict(explain_layer="features", explain_reshape="zoo.explainers.reshapes:time_major"),
}


def spec(kind: str) -> ModelSpec:
    return ModelSpec(name=f"tiny-explain-{kind}", domain="testing", task="classification", paper=PAPER,
                     builder="test_explain_models:build", example_input="test_explain_models:example_input",
                     num_params=1, default_config={"kind": kind}, **SPECS[kind])


class TinyModelsPlugin:
    @zoo.hookimpl
    def zoo_models(self):
        return [spec(kind) for kind in SPECS]


def tagged(kind: str, seed: int = 0) -> nn.Module:
    """The model as ``zoo.load`` would return it: tagged with its registered name."""
    torch.manual_seed(seed)
    model = build(kind).eval()
    model.zoo_name = f"tiny-explain-{kind}"
    return model


def inputs(kind: str, batch: int = 2, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    shapes = {"cnn": (batch, 3, 32, 32), "vit": (batch, 3, 16, 16), "3d": (batch, 1, 8, 16, 16),
              "spiking": (batch, 2, 16, 16), "multistep": (batch, 2, 8, 8)}
    if kind == "points":
        return point_input(seed)
    x = torch.randn(shapes[kind], generator=generator)
    return x.abs() * 2 if kind == "spiking" else x
