"""Grad-CAM of one detection (zoo.explainers.DetectionTarget) on a stand-alone YOLO-style detector."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import zoo
from zoo.errors import ExplainError
from zoo.explainers import DetectionTarget
from zoo.explainers.detection import box_iou


class GridDetector(nn.Module):
    """A YOLO-like toy: a conv trunk, then per cell of a stride-8 grid a box (centre offset, log size)
    and class logits; ``zoo_decode`` turns the raw map into boxes and scores."""

    stride = 8

    def __init__(self, classes: int = 3):
        super().__init__()
        self.classes = classes
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU(),
                                   nn.Conv2d(16, 16, 3, 2, 1), nn.ReLU())
        self.head = nn.Conv2d(16, 4 + classes, 1)

    def forward(self, x):
        return self.head(self.trunk(x))

    def zoo_decode(self, raw):
        b, _, h, w = raw.shape
        raw = raw.permute(0, 2, 3, 1).reshape(b, h * w, -1)
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        centre = (torch.stack([xs, ys], -1).reshape(-1, 2) + 0.5) * self.stride + raw[..., :2].tanh() * self.stride
        size = self.stride * 2 * raw[..., 2:4].exp()
        return torch.cat([centre - size / 2, centre + size / 2], -1), raw[..., 4:].sigmoid()


def test_box_iou():
    boxes = torch.tensor([[0.0, 0, 10, 10], [5, 5, 15, 15], [20, 20, 30, 30]])
    iou = box_iou(boxes, torch.tensor([0.0, 0, 10, 10]))
    torch.testing.assert_close(iou, torch.tensor([1.0, 25 / 175, 0.0]))


def test_grad_cam_of_one_detection_is_grad_cam_of_its_prediction():
    torch.manual_seed(0)
    model = GridDetector().eval()
    x = torch.zeros(1, 3, 64, 64)
    x[:, :, 8:24, 40:56] = 1.0  # one bright object, top right
    with torch.no_grad():
        boxes, scores = model.zoo_decode(model(x))
    target = DetectionTarget.for_model(model, box=[40.0, 8.0, 56.0, 24.0], label=1, iou_threshold=0.0)
    score = target(model(x))
    assert score.shape == (1,) and score.item() == pytest.approx(scores[0, :, 1].max().item(), rel=1e-6)

    cell = int(scores[0, :, 1].argmax())
    target = DetectionTarget.for_model(model, box=boxes[0, cell].tolist(), label=1)
    explanation = zoo.explain(model, x, method="grad-cam", target_layer="trunk.5", targets=target)
    assert explanation.maps.shape == (1, 64, 64)

    # By hand: with reduce="max" the score is the chosen prediction's class score, so the gradient
    # reaches the trunk's output at that one grid cell only; Grad-CAM is then as usual.
    acts = model.trunk(x).detach().requires_grad_()
    (grads,) = torch.autograd.grad(target(model.head(acts)).sum(), acts)
    assert grads.flatten(2).abs().sum(1).nonzero()[:, 1].tolist() == [cell]
    def minmax(m):
        return (m - m.min()) / (1e-7 + (m - m.min()).max())

    cam = minmax(torch.relu((grads.mean((2, 3), keepdim=True) * acts).sum(1)).detach())
    expected = minmax(torch.nn.functional.interpolate(cam[:, None], size=(64, 64), mode="bilinear")[:, 0])
    torch.testing.assert_close(explanation.maps, expected, rtol=0, atol=1e-5)

def test_a_detection_nobody_predicted_scores_zero_and_bad_targets_are_explained():
    model = GridDetector().eval()
    x = torch.randn(2, 3, 32, 32)
    far = DetectionTarget(box=[1000.0, 1000.0, 1010.0, 1010.0], label=0, decode=model.zoo_decode)
    assert far(model(x)).tolist() == [0.0, 0.0]
    with pytest.raises(ExplainError, match="x2 > x1"):
        DetectionTarget(box=[5.0, 5.0, 1.0, 9.0], label=0, decode=model.zoo_decode)
    with pytest.raises(ExplainError, match="out of range"):
        DetectionTarget(box=[0.0, 0.0, 8.0, 8.0], label=7, decode=model.zoo_decode)(model(x))
    with pytest.raises(ExplainError, match="zoo_decode"):
        DetectionTarget.for_model(nn.Conv2d(3, 3, 1), box=[0.0, 0.0, 8.0, 8.0], label=0)
