"""Detectors as zoo models: built through mmdet's config system, trained a step by mmengine's Runner
on a real COCO-format set with CocoMetric, and predicting with mmcv's compiled NMS."""

from __future__ import annotations

import pytest
import torch

import zoo

PIPELINE = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True),
            dict(type="Resize", scale=(160, 128), keep_ratio=True), dict(type="PackDetInputs")]


def _dataloader(root, shuffle: bool):
    return dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type="DefaultSampler", shuffle=shuffle),
        dataset=dict(type="CocoDataset", data_root=str(root), ann_file="annotations.json",
                     data_prefix=dict(img="images/"), metainfo=dict(classes=("coin",)), pipeline=PIPELINE,
                     filter_cfg=dict(filter_empty_gt=False)),
    )


def _runner(detector, root, work_dir):
    from mmengine.runner import Runner

    return Runner(
        model=detector, work_dir=str(work_dir), default_scope="mmdet",
        train_dataloader=_dataloader(root, shuffle=True), val_dataloader=_dataloader(root, shuffle=False),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=2, val_interval=2), val_cfg=dict(type="ValLoop"),
        val_evaluator=dict(type="CocoMetric", ann_file=str(root / "annotations.json"), metric="bbox"),
        optim_wrapper=dict(optimizer=dict(type="AdamW", lr=1e-4, weight_decay=1e-4)),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=-1), logger=dict(type="LoggerHook")),
        log_level="WARNING", randomness=dict(seed=0),
    )


@pytest.mark.parametrize("name", ["retinanet-pvt-v2-b0", "fcos-pvt-v2-b0"])
def test_trains_a_step_evaluates_and_predicts(name, coins, tmp_path):
    torch.manual_seed(0)
    detector = zoo.load(name, num_classes=1)
    # Two steps from a random init leave every score under the config's 0.05: keep them all, so that
    # CocoMetric and NMS have detections to work on.
    detector.bbox_head.test_cfg.score_thr = 0.0
    before = {n: p.detach().clone() for n, p in detector.named_parameters()}
    runner = _runner(detector, coins, tmp_path)
    runner.train()
    changed = [n for n, p in detector.named_parameters() if not torch.equal(p, before[n])]
    assert any(n.startswith("backbone.body.model.") for n in changed)
    assert any(n.startswith("bbox_head.") for n in changed)
    metrics = runner.val_loop.run()
    assert "coco/bbox_mAP" in metrics and 0.0 <= metrics["coco/bbox_mAP"] <= 1.0

    # predict (mmcv's compiled batched NMS): 100 detections, none overlapping another of its class by
    # more than the config's IoU 0.5
    batch = next(iter(runner.val_dataloader))
    detector.eval()
    with torch.no_grad():
        results = detector.test_step(batch)
    from mmdet.structures.bbox import bbox_overlaps

    for result in results:
        pred = result.pred_instances
        assert len(pred) == 100 and pred.bboxes.shape[-1] == 4  # max_per_img, after NMS
        for label in pred.labels.unique():
            boxes = pred.bboxes[pred.labels == label]
            overlaps = bbox_overlaps(boxes, boxes) - torch.eye(len(boxes))
            assert float(overlaps.max()) <= 0.5 + 1e-6


def test_mmcv_ops_are_the_compiled_ones():
    import importlib

    from mmcv.ops import batched_nms

    extension = importlib.import_module("mmcv._ext")
    assert extension.__file__.endswith(".so"), "mmcv without compiled ops: run make setup"
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    kept, keep = batched_nms(boxes, scores, torch.tensor([0, 0, 0, 1]), dict(type="nms", iou_threshold=0.5))
    assert keep.tolist() == [0, 2, 3]  # box 1 overlaps box 0 (IoU 0.68); box 3 is another class


def test_loss_and_backward_through_the_zoo_backbone(coins):
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    torch.manual_seed(0)
    detector = zoo.load("retinanet-pvt-v2-b0", num_classes=1).train()
    from mmdet.registry import DATASETS

    with DefaultScope.overwrite_default_scope("mmdet"):
        dataset = DATASETS.build(_dataloader(coins, shuffle=False)["dataset"])
    data = detector.data_preprocessor(pseudo_collate([dataset[0]]), training=True)
    losses = detector(**data, mode="loss")
    total = sum(sum(v) if isinstance(v, list) else v for v in losses.values())
    total.backward()
    assert set(losses) == {"loss_cls", "loss_bbox"} and torch.isfinite(total)
    assert detector.backbone.body.model.stages[0].blocks[0].attn.q.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in detector.parameters() if p.requires_grad)
