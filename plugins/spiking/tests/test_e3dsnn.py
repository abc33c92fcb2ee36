"""E-3DSNN: batching, spikes, input validation, the checkpoint converter."""

import pytest
import torch

import zoo
from zoo.errors import InputShapeError
from zoo_spiking.blocks.neurons import MultiSpike
from zoo_spiking.data import collate, sample_shape, voxelize
from zoo_spiking.models.e3dsnn import E3DSNN, E3DSNNSeg, convert_e3dsnn_checkpoint, example_input


def _cloud(shape, n, seed):
    g = torch.Generator().manual_seed(seed)
    points, normals = sample_shape(shape, n, generator=g)
    return voxelize(points, normals, grid_size=0.03)


def _trained_like(model):
    """Non-trivial BN statistics, so that neurons actually fire in eval mode."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5, generator=g)
            m.running_var.uniform_(0.002, 0.01, generator=g)
    return model.eval()


def test_a_batch_of_clouds_of_different_sizes_equals_one_cloud_at_a_time():
    torch.manual_seed(0)
    model = _trained_like(E3DSNN(num_classes=5))
    clouds = [_cloud("cube", 700, 1), _cloud("torus", 300, 2), _cloud("cone", 1200, 3)]
    with torch.no_grad():
        batched = model(*collate(clouds))
        single = torch.cat([model(*collate([c])) for c in clouds])
    assert batched.shape == (3, 5)
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-5)


def test_spikes_are_integers_in_0_to_4_and_rates_are_reported():
    model = _trained_like(E3DSNN())
    seen = []
    for m in model.modules():
        if isinstance(m, MultiSpike):
            m.register_forward_hook(lambda mod, inp, out: seen.append(out))
    with torch.no_grad():
        logits = model(*example_input({}))
    assert logits.shape == (2, 40)
    values = torch.unique(torch.cat([s.flatten() for s in seen]))
    assert set(values.tolist()) <= {0.0, 1.0, 2.0, 3.0, 4.0} and values.max() > 0
    rates = model.spike_rates()
    assert len(rates) == 18 and all(0 <= r <= 1 for r in rates.values())
    sites = model.active_sites
    assert sites["input"] > sites["enc.0"] > sites["enc.3"] > 0
    assert model.feature_index.shape == (sites["input"],) and int(model.feature_index.max()) < sites["enc.3"]


def test_segmentation_gives_one_row_per_input_voxel():
    model = E3DSNNSeg(in_channels=4, num_classes=3, embed_channels=8, enc_channels=[8, 8, 16, 16],
                      enc_depth=[1, 1, 1, 1], dec_channels=[8, 8, 16, 16]).eval()
    coords, feats, batch = example_input({"in_channels": 4})
    with torch.no_grad():
        out = model(coords, feats, batch)
    assert out.shape == (len(coords), 3)


@pytest.mark.parametrize("mutate, message", [
    (lambda c, f, b: (c.float(), f, b), "coords must be a int tensor"),
    (lambda c, f, b: (c, f.double().long(), b), "feats must be a float tensor"),
    (lambda c, f, b: (c, f[:, :5], b), "feats"),
    (lambda c, f, b: (c[:, :2], f, b), "coords"),
    (lambda c, f, b: (c - 5, f, b), "must lie in"),
    (lambda c, f, b: (c, f, b * 2), "no voxels"),
    (lambda c, f, b: (torch.cat([c, c[:1]]), torch.cat([f, f[:1]]), torch.cat([b, b[:1]])), "twice"),
])
def test_bad_inputs_are_input_shape_errors(mutate, message):
    model = E3DSNN(num_classes=4)
    with pytest.raises(InputShapeError, match=message):
        model(*mutate(*example_input({})))


def _authors_layout(state_dict):
    """Our state dict as the authors' Pointcept checkpoint stores it (DDP + classifier prefixes, spconv 2.x).

    Only a round trip; the converter is checked against spconv's own forward in test_spconv_parity.py.
    """
    out = {}
    for key, value in state_dict.items():
        if value.dim() == 5 and value.shape[:3] == (1, 1, 1):
            # spconv computes a kernel-1 conv as feats @ stored.view(in, out): same memory, [out, 1, 1, 1, in] shape
            value = value.reshape(value.shape[4], 1, 1, 1, value.shape[3])
        elif value.dim() == 5:
            value = value.permute(4, 0, 1, 2, 3).contiguous()  # [kx, ky, kz, in, out] -> [out, kx, ky, kz, in]
        out[f"module.backbone.{key}"] = value
    return {"epoch": 300, "state_dict": out}


def test_converter_maps_the_authors_checkpoint_to_our_model_exactly():
    torch.manual_seed(0)
    source = _trained_like(E3DSNN())
    checkpoint = _authors_layout(source.state_dict())
    # the authors' key names, and spconv 2.x's [out, k, k, k, in] layout
    sd = checkpoint["state_dict"]
    assert sd["module.backbone.stem.0.weight"].shape == (16, 3, 3, 3, 6)
    assert sd["module.backbone.enc.0.down.1.weight"].shape == (16, 2, 2, 2, 16)
    assert sd["module.backbone.enc.3.blocks.0.voxel_block.4.weight"].shape == (128, 3, 3, 3, 128)
    assert sd["module.backbone.final.weight"].shape == (40, 1, 1, 1, 128)
    assert "module.backbone.enc.1.blocks.0.block.2.running_var" in sd

    target = E3DSNN()
    target.load_state_dict(convert_e3dsnn_checkpoint(checkpoint), strict=True)
    target.eval()
    x = example_input({})
    with torch.no_grad():
        torch.testing.assert_close(target(*x), source(*x), rtol=0, atol=0)


def test_converter_weight_layout_matches_spconv_semantics():
    # spconv 2.x: W[out, i, j, l, in] multiplies the input at offset (i, j, l) - 1 of a SubM k3 conv
    from zoo_spiking.blocks.sparse_conv import SparseTensor, SubMConv3d

    authors = torch.zeros(1, 3, 3, 3, 1)
    authors[0, 2, 1, 1, 0] = 1.0  # picks the neighbour at +1 along x
    conv = SubMConv3d(1, 1)
    conv.load_state_dict(convert_e3dsnn_checkpoint({"weight": authors}))
    coords = torch.tensor([[0, 0, 0, 0], [0, 1, 0, 0]])
    out = conv(SparseTensor(torch.tensor([[1.0], [7.0]]), coords, 1))
    assert out.feats.flatten().tolist() == [7.0, 0.0]


def test_zoo_load_builds_edge_3dsnn_with_the_flagship_config():
    model = zoo.load("edge-3dsnn")
    assert sum(p.numel() for p in model.parameters()) == 1_874_216
    assert model.num_classes == 40 and model.in_channels == 6


def test_converter_handles_the_segmentation_unet():
    torch.manual_seed(0)
    config = dict(in_channels=4, num_classes=3, embed_channels=8, enc_channels=[8, 16, 16, 16],
                  enc_depth=[1, 1, 1, 1], dec_channels=[8, 8, 16, 16])
    source = _trained_like(E3DSNNSeg(**config))
    checkpoint = _authors_layout(source.state_dict())
    sd = checkpoint["state_dict"]
    assert sd["module.backbone.dec.1.up.1.weight"].shape == (8, 2, 2, 2, 16)  # inverse conv, [out, k, k, k, in]
    assert sd["module.backbone.dec.0.fuse.1.weight"].shape == (8, 16)  # Linear(skip + C -> C): not permuted
    target = E3DSNNSeg(**config)
    target.load_state_dict(convert_e3dsnn_checkpoint(checkpoint), strict=True)
    x = example_input({"in_channels": 4})
    with torch.no_grad():
        torch.testing.assert_close(target.eval()(*x), source(*x), rtol=0, atol=0)


@pytest.mark.parametrize("name, params", [
    ("edge-3dsnn", 1_874_216), ("edge-3dsnn-s", 3_271_144), ("edge-3dsnn-m", 17_330_600),
    ("edge-3dsnn-l", 46_574_248), ("edge-3dsnn-seg", 20_049_683),
])
def test_exact_parameter_counts_from_the_authors_constructors(name, params):
    with torch.device("meta"):
        model = zoo.build(name)
    assert sum(p.numel() for p in model.parameters()) == params


def test_build_e3dsnn_picks_the_network_by_variant_and_rejects_unknown_ones():
    from zoo.errors import ConfigError
    from zoo_spiking.models.e3dsnn import build_e3dsnn

    with torch.device("meta"):
        assert isinstance(build_e3dsnn("seg"), E3DSNNSeg)
        assert isinstance(build_e3dsnn("m", num_classes=10), E3DSNN)
    with pytest.raises(ConfigError, match="variant"):
        build_e3dsnn("xl")


def test_zoo_train_runs_the_recipe_on_point_clouds(tmp_path):
    """The engine batches point clouds with the dataset's own ``collate`` and calls ``model(coords, feats,
    batch)``; the recipe's label smoothing reaches the loss."""
    from zoo_spiking.data import ShapesDataset
    from zoo_spiking.models.e3dsnn_specs import MODELNET40_RECIPE

    assert zoo.info("edge-3dsnn")["recipes"][0]["label_smoothing"] == 0.2
    train = ShapesDataset("train", num_points=128, grid_size=0.12, samples_per_class=2)
    test = ShapesDataset("test", num_points=128, grid_size=0.12, samples_per_class=1)
    recipe = MODELNET40_RECIPE.replace(epochs=2, batch_size=6)
    result = zoo.train("edge-3dsnn", (train, test), out=tmp_path / "run", recipe=recipe, progress=False,
                       config={"variant": "t", "num_classes": 6})
    assert result["metrics"]["step"] == 4 and 0.0 <= result["best"] <= 1.0
    # 2 steps per epoch, milestones at 60 % / 80 % of 4 steps: lr 0.1 -> 0.01 after step 3 -> 0.001
    assert result["metrics"]["lr"] == pytest.approx(1e-3)
    model = zoo.load(tmp_path / "run" / "last").eval()
    with torch.no_grad():
        assert model(*collate([test[0][:2]])).shape == (1, 6)


def test_zoo_train_reads_modelnet40_by_name_and_takes_its_class_count(tmp_path):
    import numpy as np

    from zoo_spiking.data import sample_shape

    root = tmp_path / "modelnet40_normal_resampled"
    root.mkdir()
    (root / "modelnet40_shape_names.txt").write_text("airplane\nchair\n")
    (root / "modelnet40_train.txt").write_text("airplane_0001\nchair_0001\n")
    (root / "modelnet40_test.txt").write_text("chair_0002\n")
    for index, name in enumerate(("airplane_0001", "chair_0001", "chair_0002")):
        (root / name.rsplit("_", 1)[0]).mkdir(exist_ok=True)
        points, normals = sample_shape(("cone", "cube", "cube")[index], 400, torch.Generator().manual_seed(index))
        np.savetxt(root / name.rsplit("_", 1)[0] / f"{name}.txt", torch.cat([points, normals], 1).numpy(),
                   delimiter=",", fmt="%.6f")
    result = zoo.train("edge-3dsnn", f"modelnet40:{root}", out=tmp_path / "run", epochs=1, batch_size=2,
                       data_options={"num_points": 128, "grid_size": 0.1}, progress=False)
    assert result["metrics"]["step"] == 1
    assert zoo.load(tmp_path / "run" / "best").zoo_config["num_classes"] == 2
