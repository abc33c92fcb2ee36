"""Anchor-free detection in plain torch: anchor points, box codecs, (C)IoU, NMS, the task-aligned
assigner and the YOLOv9 / PK-YOLO box-classification-DFL loss.

- Task-aligned assignment: Feng et al., "TOOD: Task-aligned One-stage Object Detection", ICCV 2021,
  arXiv:2108.07755 (as YOLOv8/YOLOv9 use it: top-k 10, alpha 0.5, beta 6, CIoU as the overlap).
- Distribution focal loss (DFL): Li et al., "Generalized Focal Loss", NeurIPS 2020, arXiv:2006.04388.
- CIoU: Zheng et al., "Distance-IoU Loss", AAAI 2020, arXiv:1911.08287.
- Focaler-IoU: Zhang & Zhang, "Focaler-IoU", arXiv:2401.10525 (the term PK-YOLO adds to its box loss).

Boxes are ``x1, y1, x2, y2`` in pixels unless a name says otherwise. No torchvision: NMS is a
greedy pass over an IoU matrix (tested against a brute-force reference).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

EPS = 1e-7


def make_anchors(sizes: list[tuple[int, int]], strides: list[int], offset: float = 0.5,
                 device=None, dtype=torch.float32) -> tuple[Tensor, Tensor]:
    """Grid-cell centres of every level, in grid units (``[A, 2]``, x then y) and each one's stride (``[A, 1]``)."""
    points, stride_column = [], []
    for (height, width), stride in zip(sizes, strides):
        ys = torch.arange(height, device=device, dtype=dtype) + offset
        xs = torch.arange(width, device=device, dtype=dtype) + offset
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        points.append(torch.stack((grid_x, grid_y), -1).reshape(-1, 2))
        stride_column.append(torch.full((height * width, 1), float(stride), device=device, dtype=dtype))
    return torch.cat(points), torch.cat(stride_column)


def dist2bbox(distance: Tensor, points: Tensor, dim: int = -1) -> Tensor:
    """Left/top/right/bottom distances from ``points`` -> ``x1y1x2y2`` boxes."""
    lt, rb = distance.chunk(2, dim)
    return torch.cat((points - lt, points + rb), dim)


def bbox2dist(points: Tensor, boxes: Tensor, max_dist: float) -> Tensor:
    """``x1y1x2y2`` boxes -> distances from ``points``, clamped just below ``max_dist`` (the DFL range)."""
    x1y1, x2y2 = boxes.chunk(2, -1)
    return torch.cat((points - x1y1, x2y2 - points), -1).clamp(0, max_dist - 0.01)


def xywh2xyxy(boxes: Tensor) -> Tensor:
    centre, size = boxes[..., :2], boxes[..., 2:4]
    return torch.cat((centre - size / 2, centre + size / 2), -1)


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise IoU of ``[N, 4]`` and ``[M, 4]`` boxes -> ``[N, M]``."""
    area_a = (a[:, 2] - a[:, 0]).clamp(0) * (a[:, 3] - a[:, 1]).clamp(0)
    area_b = (b[:, 2] - b[:, 0]).clamp(0) * (b[:, 3] - b[:, 1]).clamp(0)
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(0).prod(-1)
    return inter / (area_a[:, None] + area_b[None] - inter + EPS)


def bbox_iou(a: Tensor, b: Tensor, ciou: bool = False) -> Tensor:
    """Element-wise (broadcast) IoU, or CIoU, of ``[..., 4]`` boxes -> ``[...]``."""
    ax1, ay1, ax2, ay2 = a.unbind(-1)
    bx1, by1, bx2, by2 = b.unbind(-1)
    wa, ha = ax2 - ax1, ay2 - ay1 + EPS
    wb, hb = bx2 - bx1, by2 - by1 + EPS
    inter = (torch.minimum(ax2, bx2) - torch.maximum(ax1, bx1)).clamp(0) * \
            (torch.minimum(ay2, by2) - torch.maximum(ay1, by1)).clamp(0)
    iou = inter / (wa * ha + wb * hb - inter + EPS)
    if not ciou:
        return iou
    cw = torch.maximum(ax2, bx2) - torch.minimum(ax1, bx1)  # enclosing box
    ch = torch.maximum(ay2, by2) - torch.minimum(ay1, by1)
    diagonal = cw ** 2 + ch ** 2 + EPS
    centre_distance = ((bx1 + bx2 - ax1 - ax2) ** 2 + (by1 + by2 - ay1 - ay2) ** 2) / 4
    v = (4 / math.pi ** 2) * (torch.atan(wb / hb) - torch.atan(wa / ha)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + EPS))
    return iou - (centre_distance / diagonal + v * alpha)


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression: indices of the kept boxes, by decreasing score."""
    order = scores.argsort(descending=True)
    overlaps = box_iou(boxes[order], boxes[order])
    keep = torch.ones(len(order), dtype=torch.bool, device=boxes.device)
    for i in range(len(order)):
        if keep[i]:
            keep[i + 1:] &= overlaps[i, i + 1:] <= iou_threshold
    return order[keep]


def batched_nms(boxes: Tensor, scores: Tensor, classes: Tensor, iou_threshold: float) -> Tensor:
    """NMS within each class: boxes of different classes are shifted apart so they never overlap."""
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    shift = classes.to(boxes.dtype)[:, None] * (boxes.max() + 1)
    return nms(boxes + shift, scores, iou_threshold)


def non_max_suppression(predictions: Tensor, conf_threshold: float = 0.25, iou_threshold: float = 0.45,
                        max_det: int = 300, max_candidates: int = 3000) -> list[Tensor]:
    """Decoded predictions ``[B, 4 + K, A]`` (``cx, cy, w, h`` in pixels, then class probabilities)
    -> per image a ``[N, 6]`` tensor of ``x1, y1, x2, y2, score, class``, best first.

    One label per box (its best class), as YOLOv9's default; ``max_candidates`` caps the boxes
    that enter NMS, highest scores first.
    """
    out = []
    for prediction in predictions.transpose(1, 2):  # [A, 4 + K]
        scores, classes = prediction[:, 4:].max(1)
        chosen = scores > conf_threshold
        boxes, scores, classes = xywh2xyxy(prediction[chosen, :4]), scores[chosen], classes[chosen]
        if len(scores) > max_candidates:
            top = scores.topk(max_candidates).indices
            boxes, scores, classes = boxes[top], scores[top], classes[top]
        keep = batched_nms(boxes, scores, classes, iou_threshold)[:max_det]
        out.append(torch.cat((boxes[keep], scores[keep, None], classes[keep, None].to(boxes.dtype)), 1))
    return out


class TaskAlignedAssigner:
    """TOOD's assignment: per ground truth, the ``topk`` anchors inside it with the largest
    ``score^alpha * CIoU^beta``; an anchor claimed by several keeps the one it overlaps most.

    Targets are the one-hot class scaled, per ground truth, so that its best-aligned anchor gets
    that anchor's IoU (the "normalised alignment" of TOOD).
    """

    def __init__(self, num_classes: int, topk: int = 10, alpha: float = 0.5, beta: float = 6.0, eps: float = 1e-9):
        self.num_classes, self.topk, self.alpha, self.beta, self.eps = num_classes, topk, alpha, beta, eps

    @torch.no_grad()
    def __call__(self, pd_scores: Tensor, pd_boxes: Tensor, points: Tensor, gt_labels: Tensor, gt_boxes: Tensor,
                 gt_mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``pd_scores`` ``[B, A, K]`` (probabilities), ``pd_boxes`` ``[B, A, 4]`` and ``points`` ``[A, 2]`` in
        pixels; ``gt_labels`` ``[B, M]``, ``gt_boxes`` ``[B, M, 4]``, ``gt_mask`` ``[B, M]`` (False at padding).
        Returns target boxes ``[B, A, 4]``, target scores ``[B, A, K]`` and the foreground mask ``[B, A]``."""
        batch, anchors = pd_scores.shape[:2]
        boxes_per_image = gt_boxes.shape[1]
        if boxes_per_image == 0:
            return torch.zeros_like(pd_boxes), torch.zeros_like(pd_scores), pd_scores.new_zeros(batch, anchors).bool()
        labels = gt_labels.long().clamp(0, self.num_classes - 1)
        # [B, M, A] scores of each gt's class and CIoU of each gt with each predicted box
        class_scores = pd_scores.gather(2, labels[:, None, :].expand(-1, anchors, -1)).transpose(1, 2)
        overlaps = bbox_iou(gt_boxes[:, :, None], pd_boxes[:, None], ciou=True).clamp(0)
        align = class_scores.pow(self.alpha) * overlaps.pow(self.beta)
        lt, rb = gt_boxes[:, :, None, :2], gt_boxes[:, :, None, 2:]
        inside = torch.cat((points - lt, rb - points), -1).amin(-1) > self.eps
        valid = inside & gt_mask[:, :, None]

        k = min(self.topk, anchors)
        top = (align * valid).topk(k, dim=-1).indices
        in_topk = torch.zeros_like(valid).scatter_(-1, top, True)
        positive = in_topk & valid

        claimed = positive.sum(1)  # [B, A]: how many ground truths claim each anchor
        if claimed.max() > 1:
            best = F.one_hot(overlaps.argmax(1), boxes_per_image).transpose(1, 2).bool()
            positive = torch.where((claimed > 1)[:, None], best, positive)
        foreground = positive.any(1)
        owner = positive.float().argmax(1)  # [B, A]

        target_boxes = gt_boxes.gather(1, owner[..., None].expand(-1, -1, 4))
        target_labels = labels.gather(1, owner)
        target_scores = F.one_hot(target_labels, self.num_classes).to(pd_scores.dtype) * foreground[..., None]

        align = align * positive
        norm = (align * (overlaps * positive).amax(-1, keepdim=True) /
                (align.amax(-1, keepdim=True) + self.eps)).amax(1)  # [B, A]
        return target_boxes, target_scores * norm[..., None], foreground


class DetectionLoss:
    """YOLOv9's dual-branch loss as PK-YOLO trains it (box 7.5, cls 0.5, DFL 1.5; auxiliary x 0.25).

    Per branch: BCE on the class logits against the task-aligned soft targets; for foreground
    anchors ``(1 - CIoU)`` weighted by the target score, plus PK-YOLO's Focaler-IoU term
    ``mean(IoU - clamp(IoU / u, 0, 1))`` (``u`` = 0.95, a small reward linear in IoU), plus DFL.
    Like the authors' code, the returned total is multiplied by the batch size.
    """

    def __init__(self, num_classes: int, strides: tuple[int, ...], reg_max: int = 16, box_gain: float = 7.5,
                 cls_gain: float = 0.5, dfl_gain: float = 1.5, aux_weight: float = 0.25, focaler_u: float = 0.95,
                 topk: int = 10, alpha: float = 0.5, beta: float = 6.0):
        self.nc, self.strides, self.reg_max = num_classes, tuple(strides), reg_max
        self.gains = (box_gain, cls_gain, dfl_gain)
        self.aux_weight, self.focaler_u = aux_weight, focaler_u
        self.assigner = TaskAlignedAssigner(num_classes, topk, alpha, beta)

    def __call__(self, branches: list[list[Tensor]], targets: Tensor) -> tuple[Tensor, Tensor]:
        """``branches``: the raw head maps per branch (``[B, 4 * reg_max + K, H, W]`` per level), the
        weighted ones first (auxiliary), the main one last. ``targets``: ``[N, 6]`` rows of
        ``image index, class, cx, cy, w, h`` normalised to [0, 1] (YOLO labels).
        Returns the total and the detached ``(box, cls, dfl)`` parts."""
        first = branches[-1][0]
        batch, dev, dtype = first.shape[0], first.device, first.dtype
        sizes = [tuple(level.shape[-2:]) for level in branches[-1]]
        points, stride_column = make_anchors(sizes, self.strides, device=dev, dtype=dtype)
        image_size = torch.tensor(sizes[0], device=dev, dtype=dtype) * self.strides[0]  # (h, w)
        gt_labels, gt_boxes, gt_mask = self._pad_targets(targets, batch, image_size[[1, 0, 1, 0]])

        parts = torch.zeros(3, device=dev)
        weights = [self.aux_weight] * (len(branches) - 1) + [1.0]
        for weight, levels in zip(weights, branches):
            parts = parts + weight * self._branch(levels, points, stride_column, gt_labels, gt_boxes, gt_mask)
        parts = parts * torch.tensor(self.gains, device=dev)
        return parts.sum() * batch, parts.detach()

    def _pad_targets(self, targets: Tensor, batch: int, scale: Tensor):
        counts = torch.bincount(targets[:, 0].long(), minlength=batch) if len(targets) else torch.zeros(batch)
        width = int(counts.max()) if len(targets) else 0
        labels = torch.zeros(batch, width, device=scale.device)
        boxes = torch.zeros(batch, width, 4, device=scale.device, dtype=scale.dtype)
        mask = torch.zeros(batch, width, dtype=torch.bool, device=scale.device)
        for image in range(batch):
            rows = targets[targets[:, 0] == image]
            n = len(rows)
            labels[image, :n] = rows[:, 1]
            boxes[image, :n] = xywh2xyxy(rows[:, 2:6] * scale)
            mask[image, :n] = True
        return labels, boxes, mask

    def _branch(self, levels, points, stride_column, gt_labels, gt_boxes, gt_mask) -> Tensor:
        batch = levels[0].shape[0]
        flat = torch.cat([level.flatten(2) for level in levels], 2).transpose(1, 2)  # [B, A, 4R + K]
        distribution, logits = flat.split((4 * self.reg_max, self.nc), -1)
        bins = torch.arange(self.reg_max, device=flat.device, dtype=flat.dtype)
        distances = distribution.view(batch, -1, 4, self.reg_max).softmax(-1) @ bins
        pred_boxes = dist2bbox(distances, points)  # grid units

        target_boxes, target_scores, foreground = self.assigner(
            logits.detach().sigmoid(), pred_boxes.detach() * stride_column, points * stride_column,
            gt_labels, gt_boxes, gt_mask)
        target_boxes = target_boxes / stride_column
        score_sum = target_scores.sum().clamp(min=1)

        cls = F.binary_cross_entropy_with_logits(logits, target_scores, reduction="sum") / score_sum
        box = dfl = flat.new_zeros(())
        if foreground.any():
            weight = target_scores.sum(-1)[foreground]
            pred_fg, target_fg = pred_boxes[foreground], target_boxes[foreground]
            box = ((1 - bbox_iou(pred_fg, target_fg, ciou=True)) * weight).sum() / score_sum
            iou = bbox_iou(pred_fg, target_fg)
            focaler = torch.where(iou <= self.focaler_u, (iou / self.focaler_u).clamp(0, 1), torch.ones_like(iou))
            box = box + (iou - focaler).mean()
            target_dist = bbox2dist(points[None].expand_as(pred_boxes[..., :2])[foreground], target_fg,
                                    self.reg_max - 1)
            dfl = (_dfl(distribution[foreground].view(-1, 4, self.reg_max), target_dist) * weight).sum() / score_sum
        return torch.stack((box, cls, dfl))


def _dfl(logits: Tensor, target: Tensor) -> Tensor:
    """Distribution focal loss ``[N, 4, R]`` vs continuous targets ``[N, 4]`` -> ``[N]`` (mean over sides)."""
    left = target.long()
    right_weight = target - left
    log_probs = logits.log_softmax(-1)
    loss = -(log_probs.gather(-1, left[..., None]).squeeze(-1) * (1 - right_weight)
             + log_probs.gather(-1, (left + 1)[..., None]).squeeze(-1) * right_weight)
    return loss.mean(-1)
