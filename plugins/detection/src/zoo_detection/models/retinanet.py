"""RetinaNet on a zoo backbone, built from mmdet's own config.

Lin et al., "Focal Loss for Dense Object Detection", arXiv:1708.02002. The detector is mmdet 3.3's
``configs/pvt/retinanet_pvtv2-b0_fpn_1x_coco.py`` (FPN on levels 2-4 plus two extra levels from
the backbone's last map: P3-P7, 256 channels; RetinaHead with 4 stacked convs, 9 anchors per
position, focal loss + L1; NMS at IoU 0.5, 100 detections per image) with its backbone replaced by
``ZooBackbone`` and the FPN's input widths taken from the zoo backbone's feature levels.

Input ``[B, 3, H, W]`` (normalised); ``model(x)`` gives ``(cls_scores, bbox_preds)``: per level
``[B, 9·num_classes, H/s, W/s]`` and ``[B, 9·4, H/s, W/s]`` for s = 8 ... 128.
"""

from __future__ import annotations

from torch import nn

from zoo_detection.detectors import build_on_zoo_backbone


def build_retinanet(backbone: str = "pvt-v2-b0", num_classes: int = 80, backbone_pretrained: bool = False) -> nn.Module:
    """RetinaNet with the zoo model ``backbone`` (``backbone_pretrained``: its zoo ImageNet weights)."""
    return build_on_zoo_backbone("pvt/retinanet_pvtv2-b0_fpn_1x_coco.py", backbone, num_classes, backbone_pretrained)
