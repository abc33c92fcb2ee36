"""Building mmdet detectors on zoo backbones through mmdet's own config files, and what every
such detector shares: its example input and the differentiable decoding its explanations use.

A detector is an mmdet ``BaseDetector`` (an ``nn.Module``): ``model(x)`` with ``x`` ``[B, 3, H, W]``
(already normalised) runs mmdet's ``mode="tensor"`` forward and returns the head's raw outputs
per FPN level; ``model(x, data_samples, mode="loss")`` the loss dict and ``mode="predict"`` the
detections after NMS. mmengine's Runner drives it through its ``data_preprocessor``.
"""

from __future__ import annotations

import copy
import types
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from zoo.errors import ConfigError, ExplainError
from zoo.registry import get_registry

# ImageNet statistics in mmdet's 0-255 scale: the zoo backbones' preprocessing (RGB).
DATA_PREPROCESSOR = {"type": "DetDataPreprocessor", "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375],
                     "bgr_to_rgb": True, "pad_size_divisor": 32}


def mmdet_config(relative: str):
    """``model`` of one of the config files mmdet ships (``mmdet/.mim/configs/<relative>``), read by
    mmengine's ``Config`` with its ``_base_`` inheritance."""
    import mmdet
    from mmengine.config import Config

    path = Path(mmdet.__file__).parent / ".mim" / "configs" / relative
    if not path.exists():
        raise ConfigError(f"mmdet {mmdet.__version__} has no config {relative!r} (looked in {path.parent})")
    return Config.fromfile(str(path)).model


def backbone_levels(backbone: str) -> list[int]:
    """Channels of the four deepest feature levels of a zoo backbone (what the FPN reads)."""
    spec = get_registry().model(backbone)
    if len(spec.features) < 4:
        raise ConfigError(f"{backbone!r} declares {len(spec.features)} feature levels; a detector needs four")
    return [level.channels for level in spec.features[-4:]]


def zoo_backbone_config(backbone: str, pretrained: bool) -> dict[str, Any]:
    spec = get_registry().model(backbone)
    first = len(spec.features) - 4
    return {"type": "ZooBackbone", "model": backbone, "pretrained": pretrained,
            "out_indices": tuple(range(first, first + 4))}


def build_on_zoo_backbone(config_file: str, backbone: str, num_classes: int, backbone_pretrained: bool) -> nn.Module:
    """mmdet's ``config_file`` (a path under its ``configs/``) with its backbone replaced by the zoo model
    ``backbone`` (``backbone_pretrained``: its zoo ImageNet weights), the neck's input widths and the
    normalisation taken from it, and ``num_classes`` classes."""
    cfg = mmdet_config(config_file)
    cfg.data_preprocessor = dict(DATA_PREPROCESSOR)
    cfg.backbone = zoo_backbone_config(backbone, backbone_pretrained)
    cfg.neck.in_channels = backbone_levels(backbone)
    cfg.bbox_head.num_classes = num_classes
    return build_detector(cfg)


def build_detector(model_cfg) -> nn.Module:
    """``MODELS.build(model_cfg)`` in mmdet's scope, weights initialised as mmengine's Runner would
    (the zoo backbone keeps the pretrained weights it loaded), with the explanation decoder attached."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.logging import MMLogger

    import zoo_detection.backbone  # noqa: F401  (registers ZooBackbone)

    register_all_modules(init_default_scope=False)
    MMLogger.get_instance("mmengine", log_level="WARNING")
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope("mmdet"):
        detector = MODELS.build(copy.deepcopy(model_cfg))
    # mmengine initialises BaseModules only: the zoo backbone keeps the init (or weights) zoo gave it.
    # On the meta device (zoo counting parameters, or about to adopt saved weights) there is nothing to
    # initialise, and mmengine's init log would read the values.
    if not any(p.is_meta for p in detector.parameters()):
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel("WARNING")  # mmengine logs every tensor's init at INFO
        try:
            detector.init_weights()
        finally:
            logger.setLevel(level)
    detector.zoo_decode = types.MethodType(decode_dense_outputs, detector)
    return detector


def decode_dense_outputs(detector: nn.Module, outputs: Any) -> tuple[Tensor, Tensor]:
    """The raw outputs of a dense head (``model(x)``) -> every prior's box ``[B, N, 4]`` (x1, y1, x2, y2
    in input pixels) and class scores ``[B, N, C]`` in [0, 1], differentiably (mmdet's ``predict``
    detaches the scores). FCOS-style centre-ness multiplies the class scores, as in its ``predict``."""
    head = detector.bbox_head
    if not isinstance(outputs, (tuple, list)) or len(outputs) < 2:
        raise ExplainError(f"expected the dense head's (cls_scores, bbox_preds, ...) outputs, got {type(outputs)}")
    cls_scores, bbox_preds = outputs[0], outputs[1]
    factors = outputs[2] if len(outputs) > 2 else None
    sizes = [score.shape[-2:] for score in cls_scores]
    priors = head.prior_generator.grid_priors(sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device)
    batch = cls_scores[0].shape[0]
    boxes, scores = [], []
    for level, (score, delta, prior) in enumerate(zip(cls_scores, bbox_preds, priors)):
        score = score.permute(0, 2, 3, 1).reshape(batch, -1, head.cls_out_channels).sigmoid()
        if factors is not None:
            score = score * factors[level].permute(0, 2, 3, 1).reshape(batch, -1, 1).sigmoid()
        delta = delta.permute(0, 2, 3, 1).reshape(batch, -1, 4)
        boxes.append(head.bbox_coder.decode(prior[None].expand(batch, -1, -1), delta))
        scores.append(score)
    return torch.cat(boxes, 1), torch.cat(scores, 1)


def coco_test_pipeline(scale: tuple[int, int] = (1333, 800)) -> list[dict]:
    """mmdet's COCO test pipeline (load, resize keeping the aspect ratio, annotations, pack); the
    configs' 1333 x 800 by default."""
    return [dict(type="LoadImageFromFile"), dict(type="Resize", scale=scale, keep_ratio=True),
            dict(type="LoadAnnotations", with_bbox=True),
            dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor"))]


def example_input(config: dict) -> Tensor:
    return torch.randn(1, 3, 64, 64)
