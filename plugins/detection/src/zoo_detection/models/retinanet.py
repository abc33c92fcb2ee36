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

from zoo_detection.detectors import (
    DATA_PREPROCESSOR,
    backbone_levels,
    build_detector,
    mmdet_config,
    zoo_backbone_config,
)


def build_retinanet(backbone: str = "pvt-v2-b0", num_classes: int = 80, backbone_pretrained: bool = False) -> nn.Module:
    """RetinaNet with the zoo model ``backbone`` (``backbone_pretrained``: its zoo ImageNet weights)."""
    cfg = mmdet_config("pvt/retinanet_pvtv2-b0_fpn_1x_coco.py")
    cfg.data_preprocessor = dict(DATA_PREPROCESSOR)
    cfg.backbone = zoo_backbone_config(backbone, backbone_pretrained)
    cfg.neck.in_channels = backbone_levels(backbone)
    cfg.bbox_head.num_classes = num_classes
    return build_detector(cfg)
