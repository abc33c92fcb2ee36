"""SN-Net over DeiT anchors: the authors' 71 configurations, their FLOPs and parameter table, the stitched
forward, the least-squares initialisation, selection, and the conformance kit on a tiny network."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo.testing import check_model, model_specs
from zoo_vision.models import deit, deit_specs, snnet, snnet_specs

TINY = {"anchors": [{"dim": 16, "heads": 2}, {"dim": 32, "heads": 2}, {"dim": 64, "heads": 4}],
        "num_classes": 5, "img_size": 32, "drop_path": 0.0}


@pytest.fixture(scope="module")
def authors():
    """The authors' setting (DeiT-Ti/S/B, 224 x 224, 1000 classes) on the meta device."""
    with torch.device("meta"):
        return snnet.build_snnet()


def tiny(**changes):
    torch.manual_seed(0)
    return snnet.build_snnet(**{**TINY, **changes}).eval()


def test_parameter_count_is_the_anchors_and_22_stitching_layers(authors):
    anchors = sum(deit_specs.NUM_PARAMS.values())
    stitches = 11 * (192 * 384 + 384) + 11 * (384 * 768 + 768)
    assert sum(p.numel() for p in authors.parameters()) == anchors + stitches == snnet_specs.NUM_PARAMS
    state = authors.state_dict()  # the authors' names: their released checkpoint loads unchanged
    assert state["stitch_layers.0.10.transform.weight"].shape == (384, 192)
    assert state["stitch_layers.1.0.transform.weight"].shape == (768, 384)
    assert state["anchors.2.blocks.11.attn.qkv.weight"].shape == (2304, 768)
    assert len(authors.stitch_layers) == 2 and all(len(layers) == 11 for layers in authors.stitch_layers)


def test_71_configurations_in_the_authors_order(authors):
    configs = authors.stitch_configs
    assert len(configs) == 71 == len(snnet_specs.RESULTS)
    assert [c.anchors for c in configs[:4]] == [(0,), (1,), (2,), (0, 1)]
    assert {c.anchors for c in configs[3:37]} == {(0, 1)} and {c.anchors for c in configs[37:]} == {(1, 2)}
    # window [0, 1] gives 4 positions to layer 0; each later window 3 new positions with its own layer
    assert [(c.stitches, c.layers) for c in configs[3:10]] == [
        (((0, 0),), (0,)), (((0, 1),), (0,)), (((1, 0),), (0,)), (((1, 1),), (0,)),
        (((1, 2),), (1,)), (((2, 1),), (1,)), (((2, 2),), (1,))]
    assert configs[36].stitches == ((11, 11),) and configs[36].layers == (10,)
    assert authors.layer_positions[0] == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_stitch_enumeration_beyond_the_default():
    positions, layers, count = snnet.paired_stitching(12, 3, 2)
    assert positions[:9] == [(j, k) for j in range(3) for k in range(3)] and count == 6 and layers[-1] == 5
    # every chain of the three anchors when not only neighbours are stitched; a chain never resumes earlier
    configs = snnet.enumerate_configs(3, 4, nearest=False)
    chains = [c for c in configs if len(c.anchors) == 3]
    assert snnet.anchor_combinations(3, False)[-1] == (0, 1, 2) and snnet.stitch_pairs(3, False)[1] == (0, 2)
    assert chains and all(second[0] >= first[1] for first, second in (c.stitches for c in chains))
    assert len(configs) == 3 + 3 * 10 + len(chains)


def test_flops_equal_the_authors_table(authors):
    assert [authors.flops(i) for i in range(71)] == [row[0] for row in snnet_specs.RESULTS]
    assert authors.flops(0) == 1_258_411_200 and authors.flops(2) == 17_582_740_224


def test_parameters_per_configuration_match_the_authors_convention(authors):
    # Their get_model_size leaves out the front anchor's class token and position embedding and counts the
    # end anchor's final norm, which stitched configurations skip.
    for config, (_, published, _) in zip(authors.stitch_configs, snnet_specs.RESULTS):
        ours = authors.num_params(config.id)
        if len(config.anchors) > 1:
            front, end = authors.anchors[config.anchors[0]], authors.anchors[config.anchors[-1]]
            ours += -front.cls_token.numel() - front.pos_embed.numel() + 2 * end.embed_dim
        assert ours == published, config.id


@pytest.mark.parametrize("config_id", [0, 3, 36, 40, 70])
def test_flops_formula_counts_the_real_forward(authors, config_id):
    # torch's counter sees every matmul and convolution (2 FLOPs per multiply-add) but no LayerNorm.
    config = authors.stitch_configs[config_id]
    tokens = 197
    blocks = {}
    start = 0
    for i, (front_block, end_block) in enumerate(config.stitches):
        blocks[i] = front_block + 1 - start
        start = end_block
    blocks[len(config.stitches)] = 12 - start
    norms = sum(10 * tokens * authors.dims[config.anchors[i]] * n for i, n in blocks.items())
    if len(config.anchors) == 1:
        norms += 5 * tokens * authors.dims[config.anchors[0]]
    with FlopCounterMode(display=False) as counter, torch.device("meta"):
        authors.forward_config(torch.empty(1, 3, 224, 224), config_id)
    assert counter.get_total_flops() == 2 * (authors.flops(config_id) - norms)


def test_tail_norm_switch_applies_the_end_anchors_final_norm():
    plain, normed = tiny(), tiny(tail_norm=True)
    normed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    config = plain.stitch_configs[40]
    with torch.no_grad():
        assert torch.equal(plain.forward_config(x, 0), normed.forward_config(x, 0))  # anchors alone: same
        assert not torch.allclose(plain.forward_config(x, 40), normed.forward_config(x, 40))
    assert normed.flops(40) - plain.flops(40) == 5 * 5 * plain.dims[config.anchors[-1]]


def test_stitched_forward_is_front_blocks_stitch_then_end_blocks():
    model = tiny()
    x = torch.randn(2, 3, 32, 32)
    config = model.stitch_configs[10]  # Ti blocks 0..2, layer 2 of Ti->S, S blocks 3..11
    assert config.anchors == (0, 1) and config.stitches == ((2, 3),) and config.layers == (2,)
    front, end = model.anchors[0], model.anchors[1]
    with torch.no_grad():
        tokens = front.embed(x)
        for block in front.blocks[:3]:
            tokens = block(tokens)
        tokens = model.stitch_layers[0][2].transform(tokens)
        for block in end.blocks[3:]:
            tokens = block(tokens)
        assert torch.allclose(model.forward_config(x, 10), end.head(tokens[:, 0]), atol=1e-6)
        for i in range(3):  # the anchors alone are the anchors
            assert torch.equal(model.forward_config(x, i), model.anchors[i](x))


def test_least_squares_recovers_an_affine_map():
    torch.manual_seed(0)
    front = torch.randn(4, 9, 6)
    weight, bias = torch.randn(5, 6), torch.randn(5)
    w, b = snnet.least_squares_stitch(front, front @ weight.T + bias)
    assert torch.allclose(w, weight, atol=1e-5) and torch.allclose(b, bias, atol=1e-5)
    with pytest.raises(ConfigError, match="same tokens"):
        snnet.least_squares_stitch(front, torch.randn(4, 8, 5))


def test_init_stitches_averages_the_solutions_of_shared_positions():
    model = tiny()
    model.train()
    images = torch.randn(6, 3, 32, 32)
    model.init_stitches(images)
    assert model.training  # the mode is restored; features were taken in eval mode
    with torch.no_grad():
        model.eval()
        features = [anchor.block_features(images) for anchor in model.anchors]
    solutions = [snnet.least_squares_stitch(features[1][f + 1], features[2][e]) for f, e in model.layer_positions[3]]
    layer = model.stitch_layers[1][3].transform
    assert torch.allclose(layer.weight, torch.stack([w for w, _ in solutions]).mean(0), atol=1e-6)
    assert torch.allclose(layer.bias, torch.stack([b for _, b in solutions]).mean(0), atol=1e-6)
    # the initialised stitch maps Ti's block-0 output onto S's block-1 input better than a random layer
    fresh = tiny().stitch_layers[0][0]
    target = features[1][1]
    with torch.no_grad():
        fitted = (model.stitch_layers[0][0](features[0][1]) - target).pow(2).mean()
        assert fitted < 0.5 * (fresh(features[0][1]) - target).pow(2).mean()
    with pytest.raises(ConfigError, match="feature tensors"):
        model.init_stitches_from_features(features[:2])


def test_select_by_id_and_by_flops(authors):
    assert authors.select(24) == 24 and authors.config_id == 24 and authors.flops() == 2_758_967_808
    budget = 4.0e9
    chosen = authors.select(flops=budget)
    costs = [authors.flops(i) for i in range(71)]
    assert costs[chosen] == max(c for c in costs if c <= budget)
    best = authors.select(flops=budget, by="top1")  # the most accurate of the authors' table within budget
    within = [i for i in range(71) if costs[i] <= budget]
    assert snnet_specs.RESULTS[best][2] == max(snnet_specs.RESULTS[i][2] for i in within)
    assert authors.select(flops=1e12) == 39  # the costliest: S block 0..1 into B blocks 0..11
    with pytest.raises(ConfigError, match="no configuration fits"):
        authors.select(flops=1e9)
    with pytest.raises(ConfigError, match="ids are 0 .. 70"):
        authors.select(71)
    with pytest.raises(ConfigError, match="not both"):
        authors.select()
    with pytest.raises(ConfigError, match="a FLOPs count"):
        authors.select(flops="5G")
    with pytest.raises(ConfigError, match="published accuracies"):
        tiny().select(flops=1e9, by="top1")


def test_train_mode_draws_a_configuration_per_step(monkeypatch):
    model = tiny()
    seen = []
    monkeypatch.setattr(model, "forward_config", lambda x, config_id: seen.append(config_id))
    torch.manual_seed(0)
    model.train()
    for _ in range(20):
        model(torch.randn(1, 3, 32, 32))
    model.eval().select(7)
    model(torch.randn(1, 3, 32, 32))
    assert len(set(seen[:20])) > 5 and seen[-1] == 7


def test_bad_input_and_config_are_clear_errors():
    model = tiny()
    with pytest.raises(InputShapeError):
        model(torch.randn(1, 3, 32, 40))
    with pytest.raises(ConfigError, match="small to large"), torch.device("meta"):
        snnet.build_snnet(anchors=["small", "tiny"])
    with pytest.raises(ConfigError, match="an anchor is"):
        snnet.build_snnet(anchors=["tiny", {"dim": 8}])
    with pytest.raises(ConfigError, match="at least 2"):
        snnet.SNNet([deit.build_deit("tiny", dim=8, heads=2, depth=2)])


def _tiny_spec():
    spec = next(s for s in model_specs("vision") if s.name == "snnet-deit")
    config = {**spec.default_config, **TINY, "config_id": 40}
    with torch.device("meta"):
        count = sum(p.numel() for p in snnet.build_snnet(**{k: v for k, v in config.items()}).parameters())
    return dataclasses.replace(spec, default_config=config, num_params=count)


def test_conformance_kit_on_a_tiny_network():
    check_model(_tiny_spec())


def test_save_and_load_keep_the_selection(tmp_path):
    model = zoo.build("snnet-deit", **TINY).eval()
    model.select(flops=model.flops(50))
    zoo.save(model, tmp_path)
    loaded = zoo.load(tmp_path).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert loaded.config_id == 50 and torch.equal(loaded(x), model(x))


def test_grad_cam_through_the_declared_layer_in_a_stitched_configuration():
    torch.manual_seed(0)
    model = zoo.build("snnet-deit", **TINY, config_id=40).eval()
    explanation = zoo.explain(model, torch.rand(2, 3, 32, 32), targets=[1, 3])
    heat = torch.as_tensor(explanation.maps)
    assert heat.shape[0] == 2 and heat.shape[-2:] == (32, 32)
    assert torch.isfinite(heat).all() and heat.amax() > 0


class _Noise(torch.utils.data.Dataset):
    num_classes, in_channels = 5, 3

    def __init__(self, n: int, seed: int):
        generator = torch.Generator().manual_seed(seed)
        self.images = torch.randn(n, 3, 32, 32, generator=generator)
        self.labels = torch.randint(5, (n,), generator=generator)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.images[index], int(self.labels[index])


def test_zoo_train_runs_the_paper_recipe_drawing_configurations(tmp_path):
    recipe = snnet_specs.PAPER_RECIPE.replace(epochs=1, batch_size=4, warmup_epochs=0)
    result = zoo.train("snnet-deit", (_Noise(8, 0), _Noise(4, 1)), out=tmp_path / "run", recipe=recipe,
                       config={**TINY, "config_id": 12}, progress=False)
    trained = zoo.load(tmp_path / "run" / "last")
    assert trained.config_id == 12 and "best" in result
