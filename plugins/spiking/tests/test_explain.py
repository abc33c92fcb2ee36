"""The core explainers on the plugin's models, with their declared default target layers."""

import torch

import zoo
from zoo_spiking.models.e3dsnn import example_input


def _fire(model, x):
    """BN statistics estimated on ``x`` (as after training), so that the spiking layers are active."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        model.train()(*x)
    return model.eval()


def test_grad_cam_explains_e3dsnn_per_voxel():
    coords, feats, batch = example_input({})
    model = _fire(zoo.build("edge-3dsnn", num_classes=6), (coords, feats, batch))
    # Grad-CAM on the last stage is relu(features @ head weights of the class): explain a class
    # that some site supports, so that the map cannot be all zero
    captured = []
    model.enc[3].register_forward_hook(lambda m, i, out: captured.append(out.feats))
    with torch.no_grad():
        model(coords, feats, batch)
    support = (captured[0] @ model.final.weight[0, 0, 0]).max(0).values
    target = int(support.argmax())
    assert support[target] > 0
    explanation = zoo.explain(model, (coords, feats, batch), targets=target)  # layer: the spec's "enc.3"
    n_last = model.active_sites["enc.3"]
    assert explanation.maps.shape == (n_last,) and explanation.batch.shape == (n_last,)
    assert explanation.maps.min() >= 0 and explanation.maps.max() <= 1 and explanation.maps.max() > 0
    assert set(explanation.batch.tolist()) == {0, 1}
    # the map's coordinates are last-stage sites in input-voxel units (stride 16) ...
    site_coords = explanation.coords
    assert torch.equal(site_coords % 16, torch.zeros_like(site_coords))
    # ... and feature_index sends every input voxel to the site that contains it, in its own cloud
    index = model.feature_index
    assert torch.equal(site_coords[index], (coords // 16) * 16)
    assert torch.equal(explanation.batch[index], batch)
    per_voxel = explanation.maps[index]
    assert per_voxel.shape == (len(coords),)


def test_grad_cam_explains_meta_spikeformer_over_time_steps():
    torch.manual_seed(0)
    model = zoo.build("meta-spikeformer-15m", T=2, embed_dim=[16, 32, 64, 80], num_classes=10).eval()
    explanation = zoo.explain(model, torch.randn(2, 3, 32, 32) * 3, targets=[1, 2])
    assert explanation.maps.shape == (2, 32, 32)
    assert explanation.targets.tolist() == [1, 2]
