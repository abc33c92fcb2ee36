"""RetinaNet on zoo backbones: what the family is (torch-free; :mod:`zoo_detection.models.retinanet` builds it)."""

from __future__ import annotations

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="Focal Loss for Dense Object Detection", arxiv="1708.02002", venue="ICCV 2017",
    code="https://github.com/open-mmlab/mmdetection/tree/v3.3.0/configs/retinanet",
)
PVT_V2_PAPER = Paper(
    title="PVT v2: Improved Baselines with Pyramid Vision Transformer", arxiv="2106.13797",
    venue="Computational Visual Media 2022", code="https://github.com/whai362/PVT",
)

# The PVT v2 paper's COCO detection schedule (§4.2: AdamW, lr 1e-4, weight decay 1e-4, batch 16,
# "1x" = 12 epochs), as mmdet's configs/pvt/retinanet_pvtv2-b0_fpn_1x_coco.py runs it: the rate
# drops 10x after epochs 8 and 11, after a 500-iteration linear warm-up (about 0.07 of a COCO epoch
# at batch 16). The loss is the detector's own (focal + L1 for RetinaNet); train through mmengine's
# Runner (docs/plugins/vision-detection.md), not `zoo train`, which knows classification losses only.
COCO_1X = TrainRecipe(
    name="coco-1x", optimiser="adamw", lr=1e-4, weight_decay=1e-4, epochs=12, batch_size=16,
    schedule="multistep", milestones=(8 / 12, 11 / 12), warmup_epochs=500 / 7330, source=PVT_V2_PAPER,
    notes="COCO train2017, 1333 x 800 resize + flip; mmdet's loss and data pipeline (mmengine Runner).",
)

# Parameters with 80 COCO classes, the zoo backbone's ImageNet head included (it is part of the
# zoo model and of its pretrained weights; it never runs). Counted on the meta device.
NUM_PARAMS = {"pvt-v2-b0": 12_947_028}
INPUT = ("[B, 3, H, W] float, normalised with the ImageNet mean/std (in the Runner the detector's "
         "data_preprocessor does it)")

_MODULE = "zoo_detection.models.retinanet"


def _spec(backbone: str) -> ModelSpec:
    return ModelSpec(
        name=f"retinanet-{backbone}", domain="vision", task="detection", paper=PAPER,
        builder=f"{_MODULE}:build_retinanet", example_input="zoo_detection.detectors:example_input",
        num_params=NUM_PARAMS[backbone],
        default_config={"backbone": backbone, "num_classes": 80, "backbone_pretrained": False},
        # The backbone's deepest level feeds every FPN level (top-down), so every detection's score
        # has a gradient there; a shallow FPN level would miss the large objects.
        explain_layer="backbone.body.model.stages.3",
        input_shape=INPUT,
        tags=("detection", "one-stage", "anchor-based", "mmdet", "coco"),
        license="apache-2.0",
        recipes=(COCO_1X,),
        description=f"RetinaNet (FPN P3-P7, focal loss, 9 anchors per position) on the zoo's {backbone} "
                    "backbone, built through mmdet's config system (configs/pvt/retinanet_pvtv2-b0_fpn_1x_coco.py "
                    "with backbone=ZooBackbone).",
    )


MODELS = (_spec("pvt-v2-b0"),)
