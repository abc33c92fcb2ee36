"""A tiny model and datasets for the training tests, registered at run time; run as a script it is the
``zoo`` command with them registered (what the torchrun and kill-and-resume tests start).

    python train_fixtures.py train tiny-mlp-net --data tiny-quadrants:ROOT --out OUT
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch import nn

import zoo
from zoo import DatasetSpec, ModelSpec, Paper, TrainRecipe

PAPER = Paper("A tiny test network", arxiv="0000.00000")
RECIPE = TrainRecipe(name="paper", optimiser="sgd", lr=0.05, epochs=2, batch_size=4, momentum=0.9,
                     weight_decay=1e-4, schedule="cosine", warmup_epochs=0.5, source=PAPER)


CALLS: list = []  # what the hooks below saw, for the tests


def counting_loss(output: torch.Tensor, target: torch.Tensor, model) -> torch.Tensor:
    """A loss hook: cross-entropy, recording that it ran and on which model."""
    CALLS.append(("loss", type(model).__name__))
    return nn.functional.cross_entropy(output, target)


def record_epoch(model, epoch: int, recipe) -> None:
    """An epoch_start hook."""
    CALLS.append(("epoch", epoch))


class TinyNet(nn.Module):
    """conv3x3 -> ReLU -> global mean -> linear (no batch norm: per-process statistics would break the
    equality of one and two processes). Input [B, C, 8, 8], logits [B, classes]."""

    def __init__(self, in_channels: int = 1, num_classes: int = 4, width: int = 6):
        super().__init__()
        self.conv, self.head = nn.Conv2d(in_channels, width, 3, padding=1), nn.Linear(width * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zoo.expect_shape(x, "B C H W", C=self.conv.in_channels, model="tiny-train-net")
        return self.head(nn.functional.adaptive_avg_pool2d(self.conv(x).relu(), 2).flatten(1))


class TinyBranchyNet(TinyNet):
    """TinyNet with two heads, one drawn per training step (as SN-Net draws a configuration): the other head's
    parameters get no gradient in that step."""

    trains_parameter_subsets = True

    def __init__(self, in_channels: int = 1, num_classes: int = 4, width: int = 6):
        super().__init__(in_channels, num_classes, width)
        self.other_head = nn.Linear(width * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.other_head if self.training and torch.rand(()) < 0.5 else self.head
        return head(nn.functional.adaptive_avg_pool2d(self.conv(x).relu(), 2).flatten(1))


def build_tiny_branchy_net(in_channels: int = 1, num_classes: int = 4, width: int = 6) -> TinyBranchyNet:
    return TinyBranchyNet(in_channels, num_classes, width)


def build_tiny_net(in_channels: int = 1, num_classes: int = 4, width: int = 6) -> TinyNet:
    return TinyNet(in_channels, num_classes, width)


def example_input(config: dict) -> torch.Tensor:
    return torch.zeros(2, config["in_channels"], 8, 8)


def spec(name: str = "tiny-train-net", **changes) -> ModelSpec:
    fields = dict(name=name, domain="testing", task="classification", paper=PAPER,
                  builder="train_fixtures:build_tiny_net", example_input="train_fixtures:example_input",
                  num_params=1 * 6 * 9 + 6 + 24 * 4 + 4, default_config={"in_channels": 1, "num_classes": 4},
                  recipes=(RECIPE, RECIPE.replace(name="adamw-ema-flip", optimiser="adamw", lr=1e-2,
                                                          ema_decay=0.9, augmentation="flip")))
    fields.update(changes)
    return ModelSpec(**fields)


class Quadrants(torch.utils.data.Dataset):
    """[1, 8, 8] noise images brightened by 0.6 x their label (0..3; unchanged by flips); ``delay`` seconds
    per item slows a run down for the kill test."""

    num_classes, in_channels = 4, 1

    def __init__(self, root: Path, split: str, delay: float = 0.0):
        generator = torch.Generator().manual_seed({"train": 0, "val": 1}[split])
        size = {"train": 24, "val": 8}[split]
        self.labels = torch.randint(0, 4, (size,), generator=generator)
        self.images = torch.rand(size, 1, 8, 8, generator=generator)
        self.images += 0.6 * self.labels.view(-1, 1, 1, 1)
        self.delay = delay

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        if self.delay:
            time.sleep(self.delay)
        return self.images[index], self.labels[index]


def load_quadrants(root, split: str = "train", delay: float = 0.0) -> Quadrants:
    return Quadrants(Path(root), split, delay)


DATASETS = (
    DatasetSpec(name="tiny-quadrants", domain="testing", task="classification",
                builder="train_fixtures:load_quadrants", layout="any folder", splits=("train", "val")),
    DatasetSpec(name="tiny-masks", domain="testing", task="segmentation",
                builder="train_fixtures:load_quadrants", layout="any folder", splits=("train", "val")),
)


class TrainPlugin:
    def __init__(self, *specs):
        self.specs = list(specs) or [spec(), spec("tiny-train-net-wide", default_config={
            "in_channels": 1, "num_classes": 4, "width": 8}, num_params=1 * 8 * 9 + 8 + 32 * 4 + 4),
            spec("tiny-branchy-net", builder="train_fixtures:build_tiny_branchy_net",
                 num_params=1 * 6 * 9 + 6 + 2 * (24 * 4 + 4))]

    @zoo.hookimpl
    def zoo_models(self):
        return self.specs

    @zoo.hookimpl
    def zoo_datasets(self):
        return list(DATASETS)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    torch.set_num_threads(1)
    import train_fixtures  # the builders' module path, as the specs name it

    zoo.register_plugin(train_fixtures.TrainPlugin(), name="train-fixtures")
    from zoo.cli import main

    sys.exit(main(sys.argv[1:]))
