"""Explaining one detection of an object detector: :class:`DetectionTarget`.

Grad-CAM and the other gradient methods explain one score per sample; for a detector that score
is the chosen detection's: the class score of the prediction that produced the box. pytorch-grad-cam
does the same for torchvision's Faster R-CNN (``FasterRCNNBoxScoreTarget``) on the post-NMS output;
here the score is read from the raw dense predictions before NMS, whose scores are differentiable
(mmdet's ``predict`` detaches them)::

    target = DetectionTarget(box=(x1, y1, x2, y2), label=3, decode=detector.zoo_decode)
    explanation = zoo.explain(detector, x, method="grad-cam", targets=target)

The detector only has to provide ``decode(outputs) -> (boxes [B, N, 4], scores [B, N, C])``: every
prior's (anchor's, grid point's) decoded box in input pixels (x1, y1, x2, y2) and its class scores,
computed from ``model(x)``'s output by differentiable operations. zoo-detection attaches one to
its mmdet detectors as ``zoo_decode``; a stand-alone detector (a YOLO) defines the method itself,
and :meth:`DetectionTarget.for_model` finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from zoo.errors import ExplainError


def box_iou(boxes: Tensor, box: Tensor) -> Tensor:
    """IoU of ``boxes`` ``[..., 4]`` with one ``box`` ``[4]`` (x1, y1, x2, y2) -> ``[...]``."""
    top_left = torch.maximum(boxes[..., :2], box[:2])
    bottom_right = torch.minimum(boxes[..., 2:], box[2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    area = (boxes[..., 2:] - boxes[..., :2]).clamp(min=0).prod(-1)
    union = area + (box[2:] - box[:2]).clamp(min=0).prod() - inter
    return inter / union.clamp(min=1e-9)


@dataclass
class DetectionTarget:
    """The score of one detection (``box`` in input pixels, x1 y1 x2 y2, and its class ``label``).

    Called on the detector's output it returns one score per sample: the highest ``label`` score
    among the predictions whose decoded box overlaps ``box`` with IoU >= ``iou_threshold`` — the
    prediction the detection came from (``reduce="max"``), or the sum over all of them
    (``reduce="sum"``: every prediction that votes for this object). A sample with no such
    prediction scores 0, and its map is empty.
    """

    box: Sequence[float]
    label: int
    decode: Callable[[Any], tuple[Tensor, Tensor]]
    iou_threshold: float = 0.5
    reduce: str = "max"

    def __post_init__(self) -> None:
        if len(self.box) != 4 or not self.box[2] > self.box[0] or not self.box[3] > self.box[1]:
            raise ExplainError(f"box must be (x1, y1, x2, y2) with x2 > x1 and y2 > y1, got {list(self.box)}")
        if self.reduce not in ("max", "sum"):
            raise ExplainError(f"reduce must be 'max' or 'sum', got {self.reduce!r}")
        if not callable(self.decode):
            raise ExplainError("decode must be a callable: outputs -> (boxes [B, N, 4], scores [B, N, C])")

    @classmethod
    def for_model(cls, model: Any, box: Sequence[float], label: int, **options: Any) -> DetectionTarget:
        """A target decoding ``model``'s outputs with its ``zoo_decode`` method."""
        decode = getattr(model, "zoo_decode", None)
        if decode is None:
            raise ExplainError(f"{type(model).__name__} has no zoo_decode(outputs) -> (boxes, scores); pass decode=")
        return cls(box=box, label=label, decode=decode, **options)

    def __call__(self, outputs: Any) -> Tensor:
        boxes, scores = self.decode(outputs)
        if boxes.ndim != 3 or boxes.shape[-1] != 4 or scores.ndim != 3 or scores.shape[:2] != boxes.shape[:2]:
            raise ExplainError(f"decode must give boxes [B, N, 4] and scores [B, N, C], got "
                               f"{list(boxes.shape)} and {list(scores.shape)}")
        if not 0 <= self.label < scores.shape[-1]:
            raise ExplainError(f"label {self.label} out of range for {scores.shape[-1]} classes")
        box = torch.as_tensor(self.box, dtype=boxes.dtype, device=boxes.device)
        matched = box_iou(boxes.detach(), box) >= self.iou_threshold
        score = torch.where(matched, scores[..., self.label], torch.zeros_like(scores[..., self.label]))
        return score.amax(1) if self.reduce == "max" else score.sum(1)
