"""`zoo explain` end to end on models from the plugins, as a user would run it."""

import torch
from safetensors.torch import load_file, save_file

import zoo
from zoo.cli import main


def test_explain_a_graph_network_with_named_inputs(tmp_path, capsys):
    model = zoo.load("gcn")
    folder = zoo.save(model, tmp_path / "gcn")
    x = torch.randn(6, model.zoo_config["in_channels"])
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 1], [1, 2, 3, 4, 5, 0]])
    save_file({"x": x, "edge_index": edge_index}, str(tmp_path / "graph.safetensors"))

    assert main(["explain", str(folder), str(tmp_path / "graph.safetensors"), "--out",
                 str(tmp_path / "maps.safetensors")]) == 0
    written = load_file(str(tmp_path / "maps.safetensors"))
    assert written["maps"].shape == (1, 6) and written["targets"].shape == (6,)
    expected = zoo.explain(zoo.load(str(folder)), (x, edge_index)).maps
    torch.testing.assert_close(written["maps"], expected)

    assert main(["explain", str(folder), str(tmp_path / "graph.safetensors"), "--out", str(tmp_path / "m.png")]) == 2
    assert "--out maps.safetensors" in capsys.readouterr().err


def test_explain_a_3d_segmentation_to_a_picture(tmp_path, capsys):
    import numpy as np

    np.save(tmp_path / "volume.npy", np.random.default_rng(0).normal(size=(1, 1, 32, 32, 32)).astype(np.float32))
    assert main(["explain", "scse-unet-3d", str(tmp_path / "volume.npy"), "--targets", "1",
                 "--out", str(tmp_path / "cam.png")]) == 0
    assert (tmp_path / "cam.png").stat().st_size > 1000
    assert "classes [1]" in capsys.readouterr().out
