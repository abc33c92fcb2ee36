"""FCOS on zoo backbones: what the family is (torch-free; :mod:`zoo_detection.models.fcos` builds it)."""

from __future__ import annotations

from zoo import ModelSpec, Paper
from zoo_detection.models.retinanet_specs import COCO_1X, INPUT

PAPER = Paper(
    title="FCOS: Fully Convolutional One-Stage Object Detection", arxiv="1904.01355", venue="ICCV 2019",
    code="https://github.com/open-mmlab/mmdetection/tree/v3.3.0/configs/fcos",
)

# 80 COCO classes, the zoo backbone's (unused) ImageNet head included; counted on the meta device.
NUM_PARAMS = {"pvt-v2-b0": 11_402_426}

_MODULE = "zoo_detection.models.fcos"


def _spec(backbone: str) -> ModelSpec:
    return ModelSpec(
        name=f"fcos-{backbone}", domain="vision", task="detection", paper=PAPER,
        builder=f"{_MODULE}:build_fcos", example_input="zoo_detection.detectors:example_input",
        num_params=NUM_PARAMS[backbone],
        default_config={"backbone": backbone, "num_classes": 80, "backbone_pretrained": False},
        explain_layer="backbone.body.model.stages.3",
        input_shape=INPUT,
        tags=("detection", "one-stage", "anchor-free", "mmdet", "coco"),
        license="apache-2.0",
        # The PVT v2 paper trains every detector on its backbones with the same AdamW 1x schedule.
        recipes=(COCO_1X,),
        description=f"FCOS (anchor-free: per-pixel class, box distances and centre-ness on FPN P3-P7) on the "
                    f"zoo's {backbone} backbone, built through mmdet's config system "
                    "(configs/fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py with backbone=ZooBackbone).",
    )


MODELS = (_spec("pvt-v2-b0"),)
