"""Multi-scale features (zoo.load(name, features_only=True)) of every zoo-vision model.

Every registered vision model runs its declared levels on the meta device (full size, no memory
and no arithmetic): each level must have the declared channels and stride. One
small variant per family then runs for real.
"""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.building import instantiate
from zoo.errors import ConfigError
from zoo.features import FeatureExtractor
from zoo.registry import get_registry

VISION = zoo.list_models(plugin="vision")


def _example(spec, config):
    from zoo.specs import resolve

    return resolve(spec.example_input)(config)


@pytest.mark.parametrize("name", VISION)
def test_every_vision_model_declares_matching_levels(name):
    spec = get_registry().model(name)
    assert spec.features, f"{name} declares no feature levels"
    strides = [level.stride for level in spec.features]
    assert strides == sorted(strides), "levels go from shallow to deep"
    config = dict(spec.default_config)
    model = instantiate(spec, config, meta=True)
    extractor = FeatureExtractor(model.eval(), spec.features)
    # Meta tensors cost nothing: full-size, non-square inputs. The stride is what it must be if an
    # input larger by 64 pixels (a multiple of every stride) gives maps larger by 64 / stride.
    shapes = []
    for height, width in ((320, 256), (384, 320)):
        maps = extractor(torch.empty(1, config.get("in_chans", 3), height, width, device="meta"))
        assert len(maps) == len(spec.features)
        for level, fmap in zip(spec.features, maps):
            assert fmap.shape[:2] == (1, level.channels), (level, fmap.shape)
        shapes.append([fmap.shape[2:] for fmap in maps])
    for level, small, large in zip(spec.features, *shapes):
        assert ((large[0] - small[0]) * level.stride, (large[1] - small[1]) * level.stride) == (64, 64), level

# A map of each kind: a CNN stage, a PVT v2 stage (NCHW), PVT v1 / ConViT / B-cos ViT tokens (with
# and without a class token); the rest of the families are covered on the meta device above.
SMALL = ["pvt-v2-b0", "pvt-v1-tiny", "convit-ti", "eca-resnet-18", "bcos-simple-vit-ti"]


@pytest.mark.parametrize("name", SMALL)
def test_features_of_a_real_model(name):
    torch.manual_seed(0)
    backbone = zoo.load(name, features_only=True, out_indices=(-2, -1)).eval()
    levels = get_registry().model(name).features
    assert backbone.feature_info == levels[-2:]
    assert backbone.channels == [lv.channels for lv in levels[-2:]]
    spec = get_registry().model(name)
    x = _example(spec, dict(spec.default_config))[:1]
    with torch.no_grad():
        maps = backbone(x)
    assert [m.shape[1] for m in maps] == backbone.channels
    assert all(torch.isfinite(m).all() for m in maps)
    # What runs after the deepest level (the classifier at least) was pruned: no unused parameters.
    sum(m.sum() for m in backbone(x)).backward()
    unused = [n for n, p in backbone.named_parameters() if p.grad is None]
    assert not unused, unused[:5]


def test_feature_maps_equal_timms_features_only(timm):
    model = zoo.load("pvt-v2-b0").eval()
    reference = timm.create_model("pvt_v2_b0", features_only=True, pretrained=False).eval()
    # timm's FeatureListNet names the stages stages_0 ... stages_3
    reference.load_state_dict({k.replace("stages.", "stages_", 1): v for k, v in model.state_dict().items()
                               if not k.startswith("head.")})
    ours = FeatureExtractor(model, get_registry().model("pvt-v2-b0").features)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(ours(x), reference(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_the_head_does_not_run_and_gradients_reach_the_levels():
    backbone = zoo.load("pvt-v2-b0", features_only=True, out_indices=(0, 1))
    calls = []
    backbone.model.stages[2].register_forward_hook(lambda *a: calls.append("stage 3"))
    maps = backbone(torch.randn(1, 3, 64, 64))
    assert calls == [] and [m.shape[-1] for m in maps] == [16, 8]
    sum(m.sum() for m in maps).backward()
    assert backbone.model.stages[1].blocks[0].attn.q.weight.grad is not None
    assert isinstance(backbone.model.head, torch.nn.Identity)
    assert isinstance(backbone.model.stages[3], torch.nn.Identity)


def test_bad_out_indices_and_frozen_stages():
    with pytest.raises(ConfigError, match="out of range"):
        zoo.load("pvt-v2-b0", features_only=True, out_indices=(0, 7))
    with pytest.raises(ConfigError, match="increasing"):
        zoo.load("pvt-v2-b0", features_only=True, out_indices=(2, 1))
    with pytest.raises(ConfigError, match="features_only=True"):
        zoo.load("pvt-v2-b0", out_indices=(1,))
    backbone = zoo.load("pvt-v2-b0", features_only=True)
    frozen = backbone.frozen_parameters(1)
    assert frozen[0].startswith("model.patch_embed.") and frozen[-1].startswith("model.stages.0.")
    assert backbone.frozen_parameters(0) == []
    assert zoo.info("pvt-v2-b0")["features"][3] == {"module": "stages.3", "channels": 256, "stride": 32}
