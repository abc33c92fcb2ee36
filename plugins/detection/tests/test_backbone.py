"""ZooBackbone: zoo vision models as mmdet backbones, from an mmdet config dict."""

from __future__ import annotations

import pytest
import torch

from zoo.errors import ConfigError


def _build(**cfg):
    import zoo_detection.backbone  # noqa: F401
    from mmdet.registry import MODELS

    return MODELS.build(dict(type="ZooBackbone", **cfg))


def test_a_zoo_model_by_name_in_an_mmdet_config():
    backbone = _build(model="pvt-v2-b0", out_indices=(1, 2, 3))
    maps = backbone(torch.randn(2, 3, 64, 96))
    assert isinstance(maps, tuple)
    assert [tuple(m.shape) for m in maps] == [(2, 64, 8, 12), (2, 160, 4, 6), (2, 256, 2, 3)]
    assert backbone.channels == [64, 160, 256] and backbone.strides == [8, 16, 32]


def test_pretrained_goes_through_the_zoo_weights(monkeypatch):
    import zoo

    calls = []
    real_load = zoo.load

    def spy(name, pretrained=False, **kwargs):
        calls.append((name, pretrained, kwargs.get("features_only")))
        return real_load(name, pretrained=False, **kwargs)

    monkeypatch.setattr(zoo, "load", spy)
    _build(model="pvt-v2-b0", pretrained=True)
    assert calls == [("pvt-v2-b0", True, True)]


def test_frozen_stages_and_norm_eval():
    backbone = _build(model="eca-resnet-18", frozen_stages=2, norm_eval=True)
    frozen = {n for n, p in backbone.named_parameters() if not p.requires_grad}
    assert "body.model.conv1.weight" in frozen and "body.model.layer2.1.conv2.weight" in frozen
    assert not any(n.startswith("body.model.layer3.") for n in frozen)
    backbone.train()
    assert not backbone.body.model.layer1.training  # frozen stages stay in eval mode
    assert not backbone.body.model.layer4[0].bn1.training  # norm_eval: every BatchNorm
    assert backbone.body.model.layer4[0].conv1.training


def test_bad_backbone_configs():
    from zoo.errors import UnknownNameError

    with pytest.raises(UnknownNameError):
        _build(model="pvt-v2-b9")
    with pytest.raises(ConfigError, match="out of range"):
        _build(model="pvt-v2-b0", out_indices=(0, 4))
