"""Grad-CAM (or any gradient CAM of zoo.explain) for one chosen detection of PK-YOLO.

A detection is a box and a class. Its score, the quantity explained, is that of the prediction
that produced it: among the model's dense predictions (one per anchor point), the one of the
chosen class whose box overlaps the chosen box most (IoU x class probability). The explained
score is that prediction's class probability plus its IoU with the chosen box, so the map shows
what makes the model both call the class and place the box there (the box-score target of
pytorch-grad-cam's Faster R-CNN tutorial, applied to an anchor-free detector).

Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
Localization", ICCV 2017, arXiv:1610.02391.
"""

from __future__ import annotations

import torch
from torch import Tensor

from zoo.errors import ExplainError
from zoo_medical.blocks.detection import bbox_iou, xywh2xyxy

DEFAULT_LAYER = "up_p3"  # the main head's stride-8 GELAN: it feeds all three detection levels


def explain_detection(model, x: Tensor, box, class_index: int | None = None, *, method: str = "grad-cam",
                      target_layer=DEFAULT_LAYER, min_iou: float = 0.3, **options):
    """Explain one detection per image of ``x`` (``[B, C, H, W]``).

    ``box``: ``[4]`` or ``[B, 4]`` ``x1, y1, x2, y2`` in pixels, or a row (rows) of
    ``model.predict`` (``x1, y1, x2, y2, score, class``, which also gives the class).
    ``class_index``: the class explained (int or one per image); required unless ``box`` is a
    ``predict`` row. Raises :class:`zoo.errors.ExplainError` when no prediction of that class
    overlaps the box by at least ``min_iou``. Returns a :class:`zoo.explainers.Explanation`
    (``maps`` ``[B, H, W]`` in [0, 1], ``targets`` the classes).
    """
    import zoo

    boxes, classes = _boxes_and_classes(x, box, class_index)
    if ((classes < 0) | (classes >= model.num_classes)).any():
        raise ExplainError(f"class {classes.tolist()} out of range for {model.num_classes} classes")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            chosen = _matching_predictions(model(x), boxes, classes, min_iou)
    finally:
        model.train(was_training)

    def score(output: Tensor) -> Tensor:
        rows = torch.arange(len(chosen), device=output.device)
        prediction = output[rows, :, chosen]  # [B, 4 + K]
        iou = bbox_iou(xywh2xyxy(prediction[:, :4]), boxes.to(output.dtype))
        return prediction[rows, 4 + classes] + iou

    explanation = zoo.explain(model, x, method=method, target_layer=target_layer, targets=score, **options)
    explanation.targets = classes
    return explanation


def _boxes_and_classes(x: Tensor, box, class_index) -> tuple[Tensor, Tensor]:
    batch = x.shape[0]
    box = torch.as_tensor(box, dtype=torch.float32).reshape(-1, torch.as_tensor(box).shape[-1])
    if box.shape[-1] not in (4, 6) or len(box) not in (1, batch):
        raise ExplainError(f"box must be [4] / [B, 4] (x1, y1, x2, y2) or predict rows [6] / [B, 6]; got "
                           f"{list(box.shape)} for a batch of {batch}")
    if class_index is None:
        if box.shape[-1] != 6:
            raise ExplainError("give class_index, or pass rows of model.predict (which carry the class)")
        classes = box[:, 5].long()
    else:
        classes = torch.as_tensor(class_index, dtype=torch.long).reshape(-1)
    boxes = box[:, :4].expand(batch, 4).contiguous() if len(box) == 1 else box[:, :4]
    if len(classes) not in (1, batch):
        raise ExplainError(f"class_index has {len(classes)} entries for a batch of {batch}")
    return boxes.to(x.device), classes.expand(batch).contiguous().to(x.device)


def _matching_predictions(output: Tensor, boxes: Tensor, classes: Tensor, min_iou: float) -> Tensor:
    """Per image, the anchor whose prediction of the class best matches the box (IoU x probability)."""
    chosen = []
    for image in range(output.shape[0]):
        predicted = xywh2xyxy(output[image, :4].T)  # [A, 4]
        iou = bbox_iou(predicted, boxes[image][None])
        probability = output[image, 4 + classes[image]]
        if iou.max() < min_iou:
            raise ExplainError(f"image {image}: no prediction overlaps box {boxes[image].tolist()} by IoU >= "
                               f"{min_iou} (best {float(iou.max()):.2f}); is it a detection of this model?")
        chosen.append(int((iou * probability * (iou >= min_iou)).argmax()))
    return torch.tensor(chosen, device=output.device)
