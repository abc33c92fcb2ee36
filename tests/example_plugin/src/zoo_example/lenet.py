"""LeNet-5 (LeCun et al., "Gradient-Based Learning Applied to Document Recognition", 1998).

Input ``[B, 1, 32, 32]``, output logits ``[B, num_classes]``. C1 6@5x5, S2 pool, C3 16@5x5, S4 pool,
C5 120, F6 84, output: 61,706 parameters for 10 classes (max pooling and ReLU, the modern reading).
"""

import torch
from torch import nn

import zoo


class LeNet5(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.in_channels = in_channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zoo.expect_shape(x, "B C 32 32", C=self.in_channels, model="example-lenet5")
        return self.classifier(self.features(x))


def example_input(config: dict) -> torch.Tensor:
    return torch.rand(2, config["in_channels"], 32, 32)
