"""FCOS on a zoo backbone, built from mmdet's own config.

Tian et al., "FCOS: Fully Convolutional One-Stage Object Detection", arXiv:1904.01355. The detector
is mmdet 3.3's ``configs/fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py`` (FPN P3-P7 with the extra
levels from P5, 256 channels; FCOSHead with 4 stacked GroupNorm convs per branch, focal loss, IoU
loss and centre-ness; NMS at IoU 0.5) with its backbone replaced by ``ZooBackbone``, the FPN's input
widths from the zoo backbone, and the zoo backbone's (ImageNet RGB) normalisation instead of Caffe's.

Input ``[B, 3, H, W]`` (normalised); ``model(x)`` gives ``(cls_scores, bbox_preds, centernesses)``:
per level ``[B, num_classes, H/s, W/s]``, ``[B, 4, H/s, W/s]`` and ``[B, 1, H/s, W/s]`` for s = 8 ... 128.
"""

from __future__ import annotations

from torch import nn

from zoo_detection.detectors import build_on_zoo_backbone


def build_fcos(backbone: str = "pvt-v2-b0", num_classes: int = 80, backbone_pretrained: bool = False) -> nn.Module:
    """FCOS with the zoo model ``backbone`` (``backbone_pretrained``: its zoo ImageNet weights)."""
    return build_on_zoo_backbone("fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py", backbone, num_classes,
                                 backbone_pretrained)
