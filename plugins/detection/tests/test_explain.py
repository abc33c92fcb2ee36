"""Grad-CAM of one chosen detection of an mmdet detector (zoo.explainers.DetectionTarget)."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.explainers import DetectionTarget


@pytest.mark.parametrize("name", ["retinanet-pvt-v2-b0", "fcos-pvt-v2-b0"])
def test_grad_cam_of_the_top_detection(name, coins):
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope
    from zoo_detection.detectors import coco_test_pipeline

    torch.manual_seed(0)
    detector = zoo.load(name, num_classes=1).eval()
    detector.bbox_head.test_cfg.score_thr = 0.0
    with DefaultScope.overwrite_default_scope("mmdet"):
        dataset = DATASETS.build(dict(type="CocoDataset", data_root=str(coins), ann_file="annotations.json",
                                      data_prefix=dict(img="images/"), metainfo=dict(classes=("coin",)),
                                      pipeline=coco_test_pipeline((160, 128))))
    data = detector.data_preprocessor(pseudo_collate([dataset[0]]), training=False)
    x = data["inputs"]
    with torch.no_grad():
        detections = detector.predict(x, data["data_samples"], rescale=False)[0].pred_instances
    box, label, score = detections.bboxes[0], int(detections.labels[0]), float(detections.scores[0])

    target = DetectionTarget.for_model(detector, box=box.tolist(), label=label)
    with torch.no_grad():
        # The differentiable decoding finds the prediction mmdet's predict kept (its score, before NMS).
        assert float(target(detector(x))[0]) == pytest.approx(score, rel=1e-5)
    explanation = zoo.explain(detector, x, method="grad-cam", targets=target)
    assert explanation.target_layer == "backbone.body.model.stages.3"
    assert explanation.maps.shape == (1, *x.shape[-2:])
    assert torch.isfinite(explanation.maps).all() and explanation.maps.max() > 0
