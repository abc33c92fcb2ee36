"""PK-YOLO: exact counts, the tiny config through the conformance kit, assignment, loss, NMS,
pretrained-knowledge loading and Grad-CAM for a chosen detection."""

import dataclasses
import itertools

import pytest
import torch

from zoo.errors import ConfigError, ExplainError, InputShapeError, StateDictMismatchError
from zoo.registry import get_registry
from zoo.testing import check_model
from zoo_medical.blocks.detection import TaskAlignedAssigner, bbox_iou, box_iou, nms, non_max_suppression
from zoo_medical.blocks.gelan import CBLinear
from zoo_medical.blocks.repvit import RepViT
from zoo_medical.detection_explain import explain_detection
from zoo_medical.models.pk_yolo import (
    build_tiny,
    load_pretrained_knowledge,
    recalibrate_batchnorm,
    repvit_table,
    repvit_taps,
)
from zoo_medical.models.pk_yolo_specs import NUM_PARAMS, PAPER_CONFIG, REPVIT_NUM_PARAMS, TINY_CONFIG, TINY_NUM_PARAMS


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_paper_counts_on_the_meta_device():
    # The whole model's 109,431,596 is checked on the meta device by the conformance kit
    # (test_conformance.py, the registered spec); here the RepViT part and its layout.
    assert get_registry().model("pk-yolo").num_params == NUM_PARAMS == 109_431_596
    depths, widths = PAPER_CONFIG["repvit_depths"], PAPER_CONFIG["repvit_widths"]
    table = repvit_table(widths, depths)
    with torch.device("meta"):
        knowledge = RepViT(table, repvit_taps(depths))
        links = [CBLinear(c, tuple(PAPER_CONFIG["widths"][:i + 1])) for i, c in enumerate(knowledge.out_channels)]
    assert count(knowledge) == REPVIT_NUM_PARAMS == 54_032_896
    assert knowledge.out_channels == (64, 128, 256, 512, 1024) and len(knowledge.features) == 44
    assert sum(count(link) for link in links) == 2_670_144  # the five CBLinear 1x1 convs (with bias)
    # The authors' taps (features 0, 5, 11, 37, 42) and SE positions (blocks 0, 2, 6, 8, 12, 14, ...,
    # 34, 38, 40: every other block, never a stride-2 one nor a stage's last).
    assert repvit_taps(depths) == (0, 5, 11, 37, 42)
    assert [i for i, row in enumerate(table) if row[3]] == [0, 2, 6, 8, *range(12, 35, 2), 38, 40]
    assert [i for i, row in enumerate(table) if row[5] == 2] == [5, 11, 37]


def test_tiny_config_passes_the_conformance_kit():
    spec = dataclasses.replace(get_registry().model("pk-yolo"), name="pk-yolo-tiny", default_config=TINY_CONFIG,
                               num_params=TINY_NUM_PARAMS)
    check_model(spec)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_tiny()


def test_shapes_train_and_eval(tiny):
    x = torch.rand(2, 3, 96, 64)
    tiny.train()
    aux, main = tiny(x)
    assert [tuple(m.shape) for m in main] == [(2, 66, 12, 8), (2, 66, 6, 4), (2, 66, 3, 2)]
    assert [m.shape for m in aux] == [m.shape for m in main]
    tiny.eval()
    out = tiny(x)
    assert out.shape == (2, 6, 12 * 8 + 6 * 4 + 3 * 2)
    assert (out[:, 4:] >= 0).all() and (out[:, 4:] <= 1).all() and (out[:, 2:4] > 0).all()
    with pytest.raises(InputShapeError, match="multiples of 32"):
        tiny(torch.rand(1, 3, 100, 64))
    with pytest.raises(InputShapeError, match=r"\[B, 3, H, W\]"):
        tiny(torch.rand(3, 64, 64))
    with pytest.raises(ConfigError, match=">= 2 blocks"):
        build_tiny(repvit_depths=[1, 2, 2, 2])


def test_a_few_steps_learn_to_find_the_box():
    torch.manual_seed(0)
    model = build_tiny()
    x = torch.full((1, 3, 64, 64), 0.1)
    x[:, :, 16:40, 24:48] = 0.9  # a bright square: class 1, 24 x 24, centre (36, 28)
    targets = torch.tensor([[0, 1, 36 / 64, 28 / 64, 24 / 64, 24 / 64]])
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for _ in range(20):
        loss, parts = model.loss(model(x), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert parts.shape == (3,) and torch.isfinite(parts).all()
    recalibrate_batchnorm(model, [x])
    best = model.predict(x, conf_threshold=0.1)[0][0]
    assert int(best[5]) == 1 and float(box_iou(best[None, :4], torch.tensor([[24.0, 16.0, 48.0, 40.0]]))) > 0.5
    with pytest.raises(InputShapeError, match=r"\[N, 6\]"):
        model.loss(model(x), targets[:, 1:])


def test_task_aligned_assignment():
    points = torch.tensor([[x + 0.5, y + 0.5] for y in range(8) for x in range(8)]) * 4  # 8 x 8 grid, stride 4
    gt = torch.tensor([[[0.0, 0.0, 16.0, 16.0], [8.0, 8.0, 32.0, 32.0], [0, 0, 0, 0]]])
    scores = torch.full((1, 64, 2), 0.5)
    pred = torch.cat((points - 6, points + 6), 1)[None]
    assigner = TaskAlignedAssigner(num_classes=2, topk=3)
    boxes, target_scores, foreground = assigner(scores, pred, points, torch.tensor([[0.0, 1.0, 0.0]]), gt,
                                                torch.tensor([[True, True, False]]))
    assert foreground.sum() == 6  # top 3 per ground truth, no overlap between the two sets here
    inside_first = (points[:, 0] < 16) & (points[:, 1] < 16)
    assert (foreground[0] <= (inside_first | ((points >= 8) & (points <= 32)).all(1))).all()
    assert set(target_scores[0, foreground[0]].argmax(1).tolist()) == {0, 1}
    # each ground truth's best anchor gets exactly its IoU as target score
    for g, cls in ((0, 0), (1, 1)):
        own = foreground[0] & (boxes[0] == gt[0, g]).all(1)
        best_iou = bbox_iou(pred[0, own], gt[0, g][None], ciou=True).clamp(0).max()
        assert torch.isclose(target_scores[0, own, cls].max(), best_iou, atol=1e-5)


def test_nms_matches_a_brute_force_reference():
    torch.manual_seed(0)
    centres = torch.rand(60, 2) * 50
    boxes = torch.cat((centres, centres + 5 + torch.rand(60, 2) * 20), 1)
    scores = torch.rand(60)
    kept = nms(boxes, scores, 0.4).tolist()
    expected = []
    for i in scores.argsort(descending=True).tolist():
        if all(float(box_iou(boxes[i:i + 1], boxes[j:j + 1])) <= 0.4 for j in expected):
            expected.append(i)
    assert kept == expected
    # class-aware: two identical boxes of different classes both survive
    xywh = torch.tensor([[[20.0, 20.0], [20.0, 20.0], [10.0, 10.0], [10.0, 10.0], [0.9, 0.1], [0.1, 0.8]]])
    out = non_max_suppression(xywh, conf_threshold=0.5)[0]
    assert out[:, 5].tolist() == [0.0, 1.0] and torch.allclose(out[0, :4], torch.tensor([15.0, 15.0, 25.0, 25.0]))


def test_pretrained_knowledge_really_loads(tmp_path):
    torch.manual_seed(1)
    tiny = build_tiny()
    donor = RepViT(repvit_table(TINY_CONFIG["repvit_widths"], TINY_CONFIG["repvit_depths"]),
                   repvit_taps(TINY_CONFIG["repvit_depths"]))
    for parameter in donor.parameters():
        parameter.data.normal_()
    state = {f"model.1.backbone.{k}": v for k, v in donor.state_dict().items()}
    state["model.1.backbone.head.l.weight"] = torch.zeros(3)  # a classifier head is ignored
    path = tmp_path / "spark_repvit.pth"
    torch.save({"model": state}, path)

    # The authors' way (assigning into the mapping state_dict() returns) changes nothing ...
    before = tiny.knowledge.features[3].channel_mixer.m[0].c.weight.clone()
    tiny.knowledge.state_dict()["features.3.channel_mixer.m.0.c.weight"] = donor.features[3].channel_mixer.m[0].c.weight
    assert torch.equal(tiny.knowledge.features[3].channel_mixer.m[0].c.weight, before)
    # ... ours copies every tensor into the live parameters and buffers.
    loaded = load_pretrained_knowledge(tiny, path)
    assert len(loaded) == len(donor.state_dict())
    for name, value in donor.state_dict().items():
        assert torch.equal(tiny.knowledge.state_dict()[name], value), name

    with pytest.raises(StateDictMismatchError, match="missing"):
        load_pretrained_knowledge(tiny, {k: v for k, v in list(state.items())[:5]})
    assert len(load_pretrained_knowledge(tiny, {k: v for k, v in list(state.items())[:5]}, strict=False)) == 5
    with pytest.raises(StateDictMismatchError, match="do not fit"):
        load_pretrained_knowledge(tiny, {"features.0.0.c.weight": torch.zeros(1, 3, 3, 3)})
    with pytest.raises(StateDictMismatchError, match="no RepViT tensors"):
        load_pretrained_knowledge(tiny, {"conv.weight": torch.zeros(1)})


def test_grad_cam_for_a_chosen_detection():
    torch.manual_seed(0)
    tiny = build_tiny().eval()
    x = torch.rand(2, 3, 64, 64)
    out = tiny(x)
    # the box predicted at one anchor, used as "the detection": the explanation must pick that anchor
    anchor = 7
    cxcywh = out[0, :4, anchor]
    box = torch.cat((cxcywh[:2] - cxcywh[2:] / 2, cxcywh[:2] + cxcywh[2:] / 2))
    first = explain_detection(tiny, x, box, 1)
    assert first.maps.shape == (2, 64, 64) and first.targets.tolist() == [1, 1]
    assert first.target_layer == "up_p3" and 0 <= first.maps.min() and first.maps.max() <= 1
    assert first.maps.std() > 0
    row = torch.cat((box, torch.tensor([0.9, 0.0])))
    second = explain_detection(tiny, x[:1], row)  # a predict() row carries its class
    assert second.targets.tolist() == [0] and not torch.allclose(second.maps[0], first.maps[0])
    with pytest.raises(ExplainError, match="class_index"):
        explain_detection(tiny, x, box)
    with pytest.raises(ExplainError, match="out of range"):
        explain_detection(tiny, x, box, 5)
    with pytest.raises(ExplainError, match="no prediction overlaps"):
        explain_detection(tiny, x, [200.0, 200.0, 210.0, 210.0], 0)


def test_ciou_is_iou_for_concentric_boxes_of_equal_aspect():
    a = torch.tensor([10.0, 10.0, 30.0, 30.0])
    b = torch.tensor([15.0, 15.0, 25.0, 25.0])
    assert torch.isclose(bbox_iou(a, b, ciou=True), bbox_iou(a, b), atol=1e-6)
    assert torch.isclose(bbox_iou(a, b), torch.tensor(0.25), atol=1e-6)
    for p, q in itertools.product((a, b), repeat=2):
        assert torch.isclose(bbox_iou(p, q), box_iou(p[None], q[None])[0, 0], atol=1e-6)
