"""zoo.explain: every method on every kind of model, target layers, targets, errors, memory, output."""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest
import torch
from test_explain_models import TinyModelsPlugin, inputs, tagged

import zoo
from zoo.errors import ExplainError, UnknownNameError
from zoo.explainers import cam as cam_module
from zoo.explainers.cam import _plusplus_weights, dbscan

METHODS = ["grad-cam", "grad-cam++", "smooth-grad-cam++", "eigen-cam", "cf-cam", "saliency", "input-x-gradient"]
GRID_KINDS = {"cnn": (32, 32), "vit": (16, 16), "3d": (8, 16, 16), "spiking": (16, 16), "multistep": (8, 8)}
FAST = {"smooth-grad-cam++": {"n_samples": 3}}


@pytest.fixture
def tiny(fresh_registry):
    zoo.register_plugin(TinyModelsPlugin(), "tiny-explain")


@pytest.mark.parametrize("kind", sorted(GRID_KINDS))
@pytest.mark.parametrize("method", METHODS)
def test_every_method_on_every_grid_model(tiny, kind, method):
    model, x = tagged(kind), inputs(kind)
    explanation = zoo.explain(model, x, method=method, **FAST.get(method, {}))
    maps = explanation.maps
    assert maps.shape == (2, *GRID_KINDS[kind])
    assert maps.dtype == torch.float32 and not maps.requires_grad
    assert float(maps.min()) >= 0 and float(maps.max()) <= 1
    assert float(maps.flatten(1).amax(1).min()) > 0.99  # scaled per sample
    expected = zoo.explain(model, x, method="grad-cam").targets
    assert torch.equal(explanation.targets, expected)  # the predicted class by default


@pytest.mark.parametrize("method", ["grad-cam", "grad-cam++", "eigen-cam"])
def test_point_models_get_one_value_per_point(tiny, method):
    model = tagged("points")
    features, batch = inputs("points")
    explanation = zoo.explain(model, (features, batch), method=method)
    assert explanation.maps.shape == (features.shape[0],)
    assert torch.equal(explanation.batch, batch)
    for sample in range(3):
        values = explanation.maps[batch == sample]
        assert float(values.min()) >= 0 and abs(float(values.max()) - 1) < 1e-5
    assert len(explanation) == 3


def test_point_grad_cam_equals_a_per_sample_computation(tiny):
    """Padding points into a grid must not change the maths: each sample alone gives the same map."""
    model = tagged("points")
    features, batch = inputs("points")
    together = zoo.explain(model, (features, batch), targets=[1, 2, 3]).maps
    for sample, target in enumerate([1, 2, 3]):
        rows = batch == sample
        alone = zoo.explain(model, (features[rows], torch.zeros(int(rows.sum()), dtype=torch.long)),
                            targets=[target]).maps
        torch.testing.assert_close(together[rows], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("method", ["smooth-grad-cam++", "cf-cam", "saliency", "input-x-gradient"])
def test_methods_that_need_a_grid_say_so_on_points(tiny, method):
    with pytest.raises(ExplainError, match="point|dense"):
        zoo.explain(tagged("points"), inputs("points"), method=method)


def _manual_grad_cam(model, layer, x, targets):
    """Grad-CAM the textbook way: full backward with retain_grad, then the formula."""
    store = {}

    def keep(module, args, output):
        output.retain_grad()
        store["a"] = output

    handle = layer.register_forward_hook(keep)
    logits = model(x)
    logits.gather(1, torch.tensor(targets)[:, None]).sum().backward()
    handle.remove()
    acts, grads = store["a"].detach(), store["a"].grad
    cam = torch.relu((grads.mean((2, 3), keepdim=True) * acts).sum(1))
    cam = cam - cam.flatten(1).min(1).values[:, None, None]
    cam = cam / (1e-7 + cam.flatten(1).max(1).values[:, None, None])
    cam = torch.nn.functional.interpolate(cam[:, None], size=x.shape[-2:], mode="bilinear")[:, 0]
    cam = cam - cam.flatten(1).min(1).values[:, None, None]
    return cam / (1e-7 + cam.flatten(1).max(1).values[:, None, None])


def test_grad_cam_equals_the_textbook_computation():
    model, x = tagged("cnn"), inputs("cnn", batch=3)
    explanation = zoo.explain(model, x, target_layer="block", targets=[0, 3, 4])
    torch.testing.assert_close(explanation.maps, _manual_grad_cam(model, model.block, x, [0, 3, 4]),
                               atol=1e-5, rtol=0)
    assert explanation.targets.tolist() == [0, 3, 4] and explanation.target_layer == "block"


def test_target_layer_by_module_by_index_and_several_layers():
    model, x = tagged("cnn"), inputs("cnn")
    by_name = zoo.explain(model, x, target_layer="block").maps
    torch.testing.assert_close(zoo.explain(model, x, target_layer=model.block).maps, by_name)
    torch.testing.assert_close(zoo.explain(model, x, target_layer="block[-1]").maps,
                               zoo.explain(model, x, target_layer="block.2").maps)
    both = zoo.explain(model, x, target_layer=["stem", "block"])
    assert both.maps.shape == (2, 32, 32) and both.target_layer == ["stem", "block"]
    assert not torch.allclose(both.maps, by_name)


def test_grad_cam_pp_conventions_follow_their_references():
    torch.manual_seed(0)
    acts = torch.relu(torch.randn(2, 4, 5, 5))
    grads = torch.randn(2, 4, 5, 5) * (torch.rand(2, 4, 5, 5) > 0.3)
    # pytorch-grad-cam's numpy rule, transcribed.
    a, g = acts.numpy(), grads.numpy()
    aij = g ** 2 / (2 * g ** 2 + a.sum((2, 3), keepdims=True) * g ** 3 + 1e-6)
    aij = np.where(g != 0, aij, 0)
    expected = (np.maximum(g, 0) * aij).sum((2, 3))
    ours = _plusplus_weights(grads, grads ** 2, grads ** 3, acts, "pytorch-grad-cam")
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-7)
    # adityac94's TF rule, transcribed (exp(score) omitted: a positive factor per image).
    denominator = 2 * g ** 2 + a.sum((2, 3), keepdims=True) * g ** 3
    alphas = g ** 2 / np.where(denominator != 0, denominator, 1)
    weights = np.maximum(g, 0)
    norm = np.where(weights, alphas, 0).sum((2, 3), keepdims=True)
    alphas = alphas / np.where(norm != 0, norm, 1)
    expected = (weights * alphas).sum((2, 3))
    ours = _plusplus_weights(grads, grads ** 2, grads ** 3, acts, "original")
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-7)
    model, x = tagged("cnn"), inputs("cnn")
    original = zoo.explain(model, x, method="grad-cam++", target_layer="block", convention="original")
    assert original.maps.shape == (2, 32, 32)
    with pytest.raises(ExplainError, match="convention"):
        zoo.explain(model, x, method="grad-cam++", target_layer="block", convention="tf")


def test_smooth_grad_cam_pp_is_batched_seeded_and_reduces_to_grad_cam_pp_without_noise():
    model, x = tagged("cnn"), inputs("cnn")
    calls = []
    handle = model.register_forward_pre_hook(lambda m, args: calls.append(args[0].shape[0]))
    first = zoo.explain(model, x, method="smooth-grad-cam++", target_layer="block", n_samples=5)
    handle.remove()
    assert calls == [2 * 6]  # the clean images and 5 noisy copies of each in one batch
    again = zoo.explain(model, x, method="smooth-grad-cam++", target_layer="block", n_samples=5)
    torch.testing.assert_close(first.maps, again.maps)
    chunked = zoo.explain(model, x, method="smooth-grad-cam++", target_layer="block", n_samples=5, batch_size=2)
    assert chunked.maps.shape == first.maps.shape
    noiseless = zoo.explain(model, x, method="smooth-grad-cam++", target_layer="block", n_samples=2, sigma=0.0)
    torch.testing.assert_close(noiseless.maps, zoo.explain(model, x, method="grad-cam++", target_layer="block").maps,
                               atol=1e-5, rtol=0)


def test_eigen_cam_runs_no_backward(monkeypatch):
    def no_backward(*args, **kwargs):
        raise AssertionError("Eigen-CAM must not differentiate")

    monkeypatch.setattr(torch.autograd, "grad", no_backward)
    monkeypatch.setattr(torch.Tensor, "backward", no_backward)
    explanation = zoo.explain(tagged("cnn"), inputs("cnn"), method="eigen-cam", target_layer="block")
    assert explanation.maps.shape == (2, 32, 32)


def test_eigen_cam_sign_rule_keeps_the_dominant_side():
    torch.manual_seed(0)
    acts = torch.randn(3, 6, 4, 4)
    raw = cam_module.eigencam_map(acts)
    assert bool((raw.flatten(1).amax(1) >= raw.flatten(1).amin(1).abs()).all())
    torch.testing.assert_close(cam_module.eigencam_map(-acts), raw, atol=1e-5, rtol=0)  # sign-free


def test_dbscan_matches_scikit_learn():
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    generator = torch.Generator().manual_seed(3)
    centres = torch.randn(4, 5, generator=generator) * 6
    points = torch.cat([centres[i] + torch.randn(12, 5, generator=generator) for i in range(4)]
                       + [torch.randn(6, 5, generator=generator) * 12])
    distances = torch.cdist(points, points)
    for eps, min_samples in [(2.5, 3), (3.5, 5), (1.0, 2)]:
        ours = dbscan(distances, eps, min_samples)
        theirs = sklearn_cluster.DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit(distances.numpy())
        assert ours.tolist() == theirs.labels_.tolist()


def test_cf_cam_options_and_max_scaling(tiny):
    model, x = tagged("cnn"), inputs("cnn")
    explanation = zoo.explain(model, x, method="cf-cam", target_layer="block", importance_quantile=0.5)
    assert explanation.maps.shape == (2, 32, 32)
    with pytest.raises(ExplainError, match="unknown options"):
        zoo.explain(model, x, method="cf-cam", target_layer="block", eps=0.3)


def test_backward_stops_at_the_target_layer_and_leaves_no_parameter_gradients():
    model, x = tagged("cnn"), inputs("cnn")
    fired = []
    model.stem.register_full_backward_hook(lambda *args: fired.append("stem"))
    model.head.register_full_backward_hook(lambda *args: fired.append("head"))
    zoo.explain(model, x, target_layer="block")
    assert fired == ["head"]
    assert all(p.grad is None for p in model.parameters())


def test_no_autograd_graph_survives_the_call():
    model, x = tagged("cnn"), inputs("cnn")
    seen = []
    model.register_forward_hook(lambda m, i, output: seen.append(weakref.ref(output)))
    model.block.register_forward_hook(lambda m, i, output: seen.append(weakref.ref(output)))
    explanation = zoo.explain(model, x, target_layer="block")
    gc.collect()
    assert len(seen) == 2 and all(ref() is None for ref in seen)
    assert explanation.maps.grad_fn is None


@pytest.mark.parametrize("method", ["grad-cam", "saliency"])
def test_gradients_are_taken_even_under_no_grad_but_not_under_inference_mode(method):
    model, x = tagged("cnn"), inputs("cnn")
    layer = "block" if method == "grad-cam" else None
    expected = zoo.explain(model, x, method=method, target_layer=layer).maps
    with torch.no_grad():
        torch.testing.assert_close(zoo.explain(model, x, method=method, target_layer=layer).maps, expected)
    with torch.inference_mode(), pytest.raises(ExplainError, match="inference_mode"):
        zoo.explain(model, x, method=method, target_layer=layer)
    assert torch.is_grad_enabled()


def test_the_model_mode_is_restored():
    model, x = tagged("cnn"), inputs("cnn")
    model.train()
    model.stem.eval()
    zoo.explain(model, x, target_layer="block")
    assert model.training and model.block.training and not model.stem.training


def test_the_model_spec_declares_the_layer_and_the_reshape(tiny):
    vit = tagged("vit")
    explanation = zoo.explain(vit, inputs("vit"))
    assert explanation.target_layer == "blocks.1.norm1" and explanation.maps.shape == (2, 16, 16)
    untagged = tagged("vit")
    del untagged.zoo_name
    with pytest.raises(ExplainError, match="explain_layer"):
        zoo.explain(untagged, inputs("vit"))
    with pytest.raises(ExplainError, match="explain_reshape|tokens"):
        zoo.explain(untagged, inputs("vit"), target_layer="blocks.1.norm1")
    with_reshape = zoo.explain(untagged, inputs("vit"), target_layer="blocks.1.norm1",
                               reshape="zoo.explainers.reshapes:vit_tokens")
    torch.testing.assert_close(with_reshape.maps, explanation.maps)


def test_segmentation_targets_sum_over_voxels(tiny):
    model, x = tagged("3d"), inputs("3d")
    explanation = zoo.explain(model, x, targets=1)
    assert explanation.targets.tolist() == [1, 1]
    summed = zoo.explain(model, x, targets=lambda out: out[:, 1].flatten(1).sum(1))
    torch.testing.assert_close(summed.maps, explanation.maps)


def test_the_spiking_layer_called_per_step_is_averaged_over_time(tiny):
    model, x = tagged("spiking"), inputs("spiking")
    calls = []
    model.lif2.register_forward_hook(lambda *args: calls.append(1))
    explanation = zoo.explain(model, x, method="eigen-cam")
    assert len(calls) == model.steps and explanation.maps.shape == (2, 16, 16)


@pytest.mark.parametrize("bad, message", [
    (dict(targets=[1, 2, 3]), "3 entries for a batch of 2"),
    (dict(targets=[1, 99]), "out of range"),
    (dict(target_layer="blok"), "did you mean|close names: 'block'"),
    (dict(target_layer=torch.nn.Conv2d(1, 1, 1)), "not a submodule"),
    (dict(target_layer=[]), "empty"),
    (dict(method="saliency", target_layer="block"), "no target_layer"),
    (dict(target_layer="head"), "CAM methods need"),
])
def test_bad_input_gets_a_clear_error(bad, message):
    options = {"method": "grad-cam", "target_layer": "block", **bad}
    with pytest.raises(ExplainError, match=message):
        zoo.explain(tagged("cnn"), inputs("cnn"), **options)


def test_unknown_method_and_the_plus_plus_spelling():
    with pytest.raises(UnknownNameError, match="grad-cam"):
        zoo.explain(tagged("cnn"), inputs("cnn"), method="grad-cma", target_layer="block")
    model, x = tagged("cnn"), inputs("cnn")
    torch.testing.assert_close(zoo.explain(model, x, method="grad-cam++", target_layer="block").maps,
                               zoo.explain(model, x, method="grad-cam-pp", target_layer="block").maps)


def test_a_layer_that_is_not_called_is_an_error():
    model = tagged("cnn")
    model.spare = torch.nn.Conv2d(16, 16, 1)
    with pytest.raises(ExplainError, match="'spare' was not called"):
        zoo.explain(model, inputs("cnn"), target_layer="spare")


def test_a_layer_that_does_not_reach_the_score_is_an_error():
    class TwoHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3)

        def forward(self, x):
            self.unused(x)
            return self.used(x).mean((2, 3))

    with pytest.raises(ExplainError, match="does not depend"):
        zoo.explain(TwoHeads(), inputs("cnn"), target_layer="unused")


def test_overlay_and_save(tmp_path):
    model, x = tagged("cnn"), inputs("cnn")
    explanation = zoo.explain(model, x, target_layer="block")
    pictures = explanation.overlay(x)
    assert pictures.shape == (2, 32, 32, 3) and pictures.min() >= 0 and pictures.max() <= 1
    heat = explanation.overlay()
    assert not np.allclose(pictures, heat)
    path = explanation.save(tmp_path / "cam.png", x)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ExplainError, match="images must be"):
        explanation.overlay(torch.zeros(2, 3, 8, 8))
    volume = zoo.explain(tagged("3d"), inputs("3d"), target_layer="encoder")
    assert volume.overlay(inputs("3d")).shape == (2, 16, 16, 3)


def test_the_cli_explains_a_saved_input(tiny, tmp_path, monkeypatch, capsys):
    from zoo import api, cli

    monkeypatch.setattr(api, "load", lambda name, pretrained=False, **kw: tagged("cnn"))
    np.save(tmp_path / "x.npy", inputs("cnn").numpy())
    out = tmp_path / "cam.png"
    status = cli.main(["explain", "tiny-explain-cnn", str(tmp_path / "x.npy"), "--method", "grad-cam++",
                       "--out", str(out), "--targets", "1", "2"])
    assert status == 0 and out.read_bytes()[:4] == b"\x89PNG"
    assert "classes [1, 2]" in capsys.readouterr().out
    from matplotlib import image

    image.imsave(tmp_path / "x.png", np.random.default_rng(0).random((32, 32, 3)))
    assert cli.main(["explain", "tiny-explain-cnn", str(tmp_path / "x.png"), "--out", str(tmp_path / "png.png")]) == 0
    assert (tmp_path / "png.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "x.pkl").write_bytes(b"not allowed")
    assert cli.main(["explain", "tiny-explain-cnn", str(tmp_path / "x.pkl")]) == 2
    assert ".npy" in capsys.readouterr().err


def test_importing_the_plugin_module_imports_no_torch():
    import subprocess
    import sys

    code = "import sys, zoo.explainers.plugin, zoo.explainers; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def _authors_cf_cam(model, layer, x, class_index):
    """CF-CAM transcribed from the authors' cfcam.py (jerryp-hfut/CF-CAM): numpy percentiles,
    scikit-learn DBSCAN, one image, full backward through a hook."""
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    store = {}
    forward = layer.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    backward = layer.register_full_backward_hook(lambda m, gi, go: store.__setitem__("g", go[0]))
    logits = model(x)
    logits.backward(gradient=torch.nn.functional.one_hot(torch.tensor([class_index]), logits.shape[1]).float())
    forward.remove()
    backward.remove()
    feature_maps, gradients = store["a"].detach()[0], store["g"].detach()[0]
    channels = feature_maps.shape[0]
    matrix = feature_maps.reshape(channels, -1).numpy()
    norms = np.linalg.norm(matrix, ord=2, axis=1)
    important = np.where(norms >= np.percentile(norms, 75))[0]
    remaining = np.where(norms < np.percentile(norms, 75))[0]
    distances = np.linalg.norm(matrix[remaining][:, None] - matrix[remaining][None, :], axis=2)
    np.fill_diagonal(distances, np.inf)
    eps = max(np.percentile(distances[distances != np.inf], 25), 1e-5)
    labels_remaining = sklearn_cluster.DBSCAN(eps=eps, min_samples=max(2, int(len(remaining) * 0.05))).fit(
        matrix[remaining]).labels_
    labels = np.full(channels, -2)
    labels[remaining] = labels_remaining
    weights = torch.zeros(channels)
    for index in important:
        weights[index] = gradients[index].mean()
    height, width = gradients.shape[1:]
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    spatial = torch.exp(-((rows.float() - height / 2) ** 2 + (cols.float() - width / 2) ** 2) / 50)
    for cluster in range(labels_remaining.max() + 1):
        members = np.where(labels == cluster)[0]
        mean_gradient = gradients[members].mean(0)
        kernel = spatial * torch.exp(-((mean_gradient - mean_gradient.mean()) ** 2) / 0.02)
        kernel = kernel / (kernel.sum() + 1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about padding="same" with even kernels
            filtered = torch.nn.functional.conv2d(mean_gradient[None, None], kernel[None, None], padding="same")
        weights[members] = filtered.mean()
    valid = torch.from_numpy(labels != -1)
    cam = torch.relu((torch.softmax(weights[valid], 0)[:, None, None] * feature_maps[valid]).sum(0))
    cam = torch.nn.functional.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear")[0, 0]
    return cam / cam.max()


@pytest.mark.parametrize("size", [32, 30])
def test_cf_cam_equals_the_authors_algorithm(size):
    torch.manual_seed(1)
    model = tagged("cnn")
    model.block[0] = torch.nn.Conv2d(8, 64, 3, stride=2, padding=1)  # enough channels to cluster
    model.block[1] = torch.nn.BatchNorm2d(64).eval()
    model.head = torch.nn.Linear(64, 5)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    ours = zoo.explain(model, x, method="cf-cam", target_layer="block", targets=[3]).maps[0]
    torch.testing.assert_close(ours, _authors_cf_cam(model, model.block, x, 3), atol=1e-5, rtol=0)
