"""ModelNet40 reader (both published formats), shapes set, FPS and voxelisation."""

import numpy as np
import pytest
import torch

import zoo
from zoo.errors import DatasetNotFoundError
from zoo_spiking.data import SHAPE_NAMES, ShapesDataset, farthest_point_sample, sample_shape, voxelize
from zoo_spiking.data.modelnet40 import ModelNet40, read_off
from zoo_spiking.data.shapes import make_mesh


def test_fps_matches_the_greedy_definition():
    torch.manual_seed(0)
    points = torch.rand(300, 3)
    chosen = farthest_point_sample(points, 40)
    assert chosen[0] == 0 and len(set(chosen.tolist())) == 40
    for i in range(1, 40):
        d = torch.cdist(points, points[chosen[:i]]).min(1).values
        assert d[chosen[i]] == d.max()


def test_voxelize_keeps_one_point_per_voxel_with_its_features():
    points = torch.tensor([[0.001, 0.0, 0.0], [0.004, 0.002, 0.0], [0.012, 0.0, 0.0], [0.0, 0.031, 0.0]])
    normals = torch.eye(3)[[0, 1, 2, 0]]
    coords, feats = voxelize(points, normals, grid_size=0.01)
    assert coords.tolist() == [[0, 0, 0], [0, 3, 0], [1, 0, 0]]
    assert torch.equal(feats[:, :3], points[[0, 3, 2]]) and torch.equal(feats[:, 3:], normals[[0, 3, 2]])
    random_coords, _ = voxelize(points, normals, 0.01, generator=torch.Generator().manual_seed(1))
    assert torch.equal(random_coords, coords)


@pytest.mark.parametrize("name", SHAPE_NAMES)
def test_shapes_are_closed_surfaces_with_outward_unit_normals(name):
    points, normals = sample_shape(name, 2000, torch.Generator().manual_seed(0), rotate=False)
    assert points.norm(dim=1).max() <= 1.0 + 1e-5
    torch.testing.assert_close(normals.norm(dim=1), torch.ones(2000))
    # the surface encloses the origin (torus: its core circle): moving along the normal goes outwards
    if name != "torus":
        assert ((points * normals).sum(1) > 0).all()


def test_shapes_dataset_is_labelled_and_deterministic():
    data = ShapesDataset("train", num_points=256, samples_per_class=2)
    assert len(data) == 2 * len(SHAPE_NAMES)
    coords, feats, label = data[7]
    assert label == 7 % len(SHAPE_NAMES) and feats.shape == (len(coords), 6)
    assert torch.equal(data[7][1], feats)
    assert not torch.equal(ShapesDataset("test", num_points=256, samples_per_class=2)[7][1], feats)


def _write_off(path, verts, faces, one_line_header=False):
    counts = f"{len(verts)} {len(faces)} 0\n"
    header = f"OFF{counts}" if one_line_header else f"OFF\n# comment\n{counts}"
    body = "".join(f"{x} {y} {z}\n" for x, y, z in verts.tolist())
    body += "".join(f"3 {a} {b} {c}\n" for a, b, c in faces.tolist())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body)


def test_read_off_handles_modelnets_one_line_header_and_quads(tmp_path):
    verts, faces = make_mesh("cube")
    _write_off(tmp_path / "a.off", verts, faces, one_line_header=True)
    v, f = read_off(tmp_path / "a.off")
    torch.testing.assert_close(v, verts)
    assert torch.equal(f, faces)
    (tmp_path / "q.off").write_text("OFF\n4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n")
    assert read_off(tmp_path / "q.off")[1].tolist() == [[0, 1, 2], [0, 2, 3]]


def test_modelnet40_off_meshes(tmp_path):
    for name in ("cone", "cube"):
        verts, faces = make_mesh(name)
        for i in range(2):
            _write_off(tmp_path / name / "test" / f"{name}_{i:04d}.off", verts * (1 + i), faces)
    data = ModelNet40(tmp_path, split="test", num_points=512, surface_points=2000)
    assert data.format == "off" and data.classes == ["cone", "cube"] and len(data) == 4
    coords, feats, label = data[2]
    assert label == 1 and feats.shape == (len(coords), 6) and coords.min() == 0
    assert feats[:, :3].norm(dim=1).max() <= 1 + 1e-5  # unit sphere
    assert 300 < len(coords) <= 512  # voxel 0.01 merges few of 512 FPS points


def test_modelnet40_resampled_txt_with_cache(tmp_path):
    root = tmp_path / "modelnet40_normal_resampled"
    (root / "chair").mkdir(parents=True)
    (root / "modelnet40_shape_names.txt").write_text("airplane\nchair\n")
    (root / "modelnet40_train.txt").write_text("chair_0001\n")
    (root / "modelnet40_test.txt").write_text("chair_0002\n")
    points, normals = sample_shape("cylinder", 1000, torch.Generator().manual_seed(0))
    np.savetxt(root / "chair" / "chair_0001.txt", torch.cat([points * 3 + 1, normals], 1).numpy(),
               delimiter=",", fmt="%.6f")
    data = ModelNet40(root, split="train", num_points=800, cache_dir=tmp_path / "cache")
    assert data.format == "resampled" and len(data) == 1 and data.augment
    coords, feats, label = data[0]
    assert label == 1 and feats.shape[1] == 6
    assert len(list((tmp_path / "cache").glob("*.pt"))) == 1
    p1, _ = data.points(0)
    assert p1.shape == (800, 3)


def test_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="modelnet40_shape_names.txt"):
        zoo.dataset("modelnet40", root=tmp_path / "nowhere")
    with pytest.raises(DatasetNotFoundError, match="modelnet.cs.princeton.edu"):
        ModelNet40(tmp_path, split="train")  # exists but holds neither layout
