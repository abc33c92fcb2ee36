"""zoo.explain_metrics: deletion/insertion AUC, Average Drop / Increase in Confidence, ROAD."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from test_explain_models import inputs, tagged
from torch import nn

import zoo
from zoo.errors import ExplainError
from zoo.explainers import Explanation
from zoo.explainers import metrics as M


class CornerModel(nn.Module):
    """Class 0's logit is 8 × (the mean of the top-left 8×8 corner) − 6; class 1's is 0."""

    def forward(self, x):
        corner = x[:, :, :8, :8].mean((1, 2, 3)) * 8 - 6
        return torch.stack([corner, torch.zeros_like(corner)], 1)


def corner_maps(batch: int, size: int = 16, inverted: bool = False) -> torch.Tensor:
    maps = torch.zeros(batch, size, size)
    maps[:, :8, :8] = 1
    maps = maps + torch.linspace(0, 0.01, size * size).reshape(size, size)  # no ties
    return 1 - maps if inverted else maps


def test_deletion_and_insertion_prefer_the_right_explanation():
    x = torch.ones(2, 3, 16, 16)
    good = Explanation(corner_maps(2), "manual", targets=torch.zeros(2, dtype=torch.long))
    bad = Explanation(corner_maps(2, inverted=True), "manual", targets=torch.zeros(2, dtype=torch.long))
    good_scores = zoo.explain_metrics(CornerModel(), x, good, metrics=["deletion", "insertion"], steps=16)
    bad_scores = zoo.explain_metrics(CornerModel(), x, bad, metrics=["deletion", "insertion"], steps=16)
    assert good_scores["deletion"] < bad_scores["deletion"] - 0.1
    assert good_scores["insertion"] > bad_scores["insertion"] + 0.1


def test_auc_of_a_constant_curve_is_the_constant():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 3))
    torch.nn.init.zeros_(model[1].weight)
    with torch.no_grad():
        model[1].bias.copy_(torch.tensor([1.0, 0.0, -1.0]))
    x = torch.randn(3, 3, 16, 16)
    explanation = Explanation(torch.rand(3, 16, 16), "random", targets=torch.tensor([0, 1, 2]))
    result = zoo.explain_metrics(model, x, explanation, metrics=["deletion", "insertion"], steps=7, reduction="none")
    expected = torch.softmax(torch.tensor([1.0, 0.0, -1.0]), 0)
    torch.testing.assert_close(result["deletion"], expected)
    torch.testing.assert_close(result["insertion"], expected)


def test_auc_steps_follow_rise():
    """RISE at 224×224 moves 224 pixels per step for 224 steps; the curve has steps + 1 points."""
    seen = []
    model = CornerModel()
    model.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[0]))
    explanation = Explanation(corner_maps(1), "manual", targets=torch.zeros(1, dtype=torch.long))
    zoo.explain_metrics(model, torch.ones(1, 3, 16, 16), explanation, metrics=["deletion"], steps=10)
    assert sum(seen) == 1 + 11  # the prediction, then 11 points of the curve
    assert M.math.ceil(224 * 224 / 224) == 224


def test_average_drop_and_increase_in_confidence():
    x = torch.ones(2, 3, 16, 16)
    ones = Explanation(torch.ones(2, 16, 16), "ones", targets=torch.zeros(2, dtype=torch.long))
    result = zoo.explain_metrics(CornerModel(), x, ones, metrics=["avg-drop", "increase-in-confidence"])
    assert result == {"avg-drop": 0.0, "increase-in-confidence": 0.0}
    half = Explanation(torch.full((2, 16, 16), 0.5), "half", targets=torch.zeros(2, dtype=torch.long))
    result = zoo.explain_metrics(CornerModel(), x, half, metrics=["avg-drop"])
    before = torch.softmax(torch.tensor([2.0, 0.0]), 0)[0]
    after = torch.softmax(torch.tensor([-2.0, 0.0]), 0)[0]
    assert result["avg-drop"] == pytest.approx(float(100 * (before - after) / before), rel=1e-5)
    up = Explanation(torch.full((2, 16, 16), 0.5), "half", targets=torch.ones(2, dtype=torch.long))
    assert zoo.explain_metrics(CornerModel(), x, up, metrics=["increase-in-confidence"]) == {
        "increase-in-confidence": 100.0}


def test_blur_kernel_equals_rise_scipy_kernel():
    ndimage = pytest.importorskip("scipy.ndimage")
    delta = np.zeros((11, 11))
    delta[5, 5] = 1
    expected = ndimage.gaussian_filter(delta, 5)
    kernel = M.gaussian_kernel_1d(11, 5.0, dtype=torch.float64)
    np.testing.assert_allclose(np.outer(kernel, kernel), expected, atol=1e-9)
    x = torch.randn(1, 3, 12, 12, dtype=torch.float64)
    blurred = M.blur(x)
    reference = torch.nn.functional.conv2d(x, torch.from_numpy(expected).expand(3, 1, 11, 11), padding=5, groups=3)
    torch.testing.assert_close(blurred, reference)


def _pytorch_grad_cam_imputer():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_explain_gradcam.py"
    spec = importlib.util.spec_from_file_location("bench_explain_gradcam", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    pytest.importorskip("ttach")
    pytest.importorskip("cv2")
    bench.import_pytorch_grad_cam()
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer

    return NoisyLinearImputer


@pytest.mark.filterwarnings("ignore:__array_wrap__:DeprecationWarning")  # pytorch-grad-cam's numpy use
def test_road_imputation_equals_the_reference_linear_system():
    imputer = _pytorch_grad_cam_imputer()(noise=0.0)
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(3, 3, 20, 24, generator=generator)
    missing = torch.rand(3, 20, 24, generator=generator) > torch.tensor([0.2, 0.5, 0.9])[:, None, None]
    ours = M.impute(images, missing, noise=0.0)
    for index in range(3):
        theirs = imputer(images[index], (~missing[index]).float())
        torch.testing.assert_close(ours[index], theirs, atol=1e-4, rtol=0)
    assert torch.equal(ours[~missing[:, None].expand_as(images)], images[~missing[:, None].expand_as(images)])


def test_road_removes_the_stated_share_of_pixels(monkeypatch):
    shares = []

    def record(images, missing, **kwargs):
        shares.extend(missing.flatten(1).float().mean(1).tolist())
        return images

    monkeypatch.setattr(M, "impute", record)
    explanation = Explanation(torch.rand(2, 16, 16), "random", targets=torch.zeros(2, dtype=torch.long))
    zoo.explain_metrics(CornerModel(), torch.ones(2, 3, 16, 16), explanation, metrics=["road-morf"],
                        percentiles=(20, 50, 90))
    assert shares == pytest.approx([0.8, 0.8, 0.5, 0.5, 0.1, 0.1], abs=1 / 256)


def test_road_rewards_the_right_explanation():
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)).abs() + 1
    good = Explanation(corner_maps(2), "manual", targets=torch.zeros(2, dtype=torch.long))
    bad = Explanation(corner_maps(2, inverted=True), "manual", targets=torch.zeros(2, dtype=torch.long))
    options = dict(metrics=["road", "road-morf", "road-lerf"], percentiles=(30, 60, 90))
    good_scores = zoo.explain_metrics(CornerModel(), x, good, **options)
    bad_scores = zoo.explain_metrics(CornerModel(), x, bad, **options)
    assert good_scores["road"] > bad_scores["road"]
    assert good_scores["road"] == pytest.approx((good_scores["road-lerf"] - good_scores["road-morf"]) / 2)


def test_metrics_are_batched_and_per_image_results_do_not_depend_on_the_batch():
    model, x = tagged("cnn"), inputs("cnn", batch=3)
    explanation = zoo.explain(model, x, target_layer="block")
    names = ["deletion", "insertion", "avg-drop", "increase-in-confidence", "road"]
    together = zoo.explain_metrics(model, x, explanation, metrics=names, steps=8, percentiles=(50,),
                                   road_noise=0.0, reduction="none")
    assert list(together) == names and all(v.shape == (3,) for v in together.values())
    alone = Explanation(explanation.maps[1:2], "grad-cam", targets=explanation.targets[1:2])
    single = zoo.explain_metrics(model, x[1:2], alone, metrics=names, steps=8, percentiles=(50,),
                                 road_noise=0.0, reduction="none")
    for name in names:
        torch.testing.assert_close(single[name], together[name][1:2], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("bad, message", [
    (dict(metrics=["pointing-game"]), "unknown metrics"),
    (dict(reduction="sum"), "reduction"),
    (dict(score="prob"), "score"),
])
def test_bad_metric_options(bad, message):
    explanation = Explanation(torch.rand(2, 16, 16), "random")
    with pytest.raises(ExplainError, match=message):
        zoo.explain_metrics(CornerModel(), torch.ones(2, 3, 16, 16), explanation, **bad)


def test_maps_must_match_the_input():
    explanation = Explanation(torch.rand(2, 8, 8), "random")
    with pytest.raises(ExplainError, match="do not match"):
        zoo.explain_metrics(CornerModel(), torch.ones(2, 3, 16, 16), explanation)
    points = Explanation(torch.rand(5), "grad-cam", batch=torch.zeros(5, dtype=torch.long))
    with pytest.raises(ExplainError, match="point"):
        zoo.explain_metrics(CornerModel(), torch.ones(1, 3, 16, 16), points)


def one_hot_tiles(classes: list[int], channels: int = 4, size: int = 4) -> torch.Tensor:
    """Images [N, channels, size, size] whose channel ``c`` is 1 for class ``c``, 0 elsewhere."""
    tiles = torch.zeros(len(classes), channels, size, size)
    tiles[torch.arange(len(classes)), torch.tensor(classes)] = 1
    return tiles


def channel_mean_model(channels: int = 4) -> nn.Module:
    """Logits = 5 × the spatial mean of each channel, through a 1x1 conv (a Grad-CAM layer)."""
    model = nn.Sequential(nn.Conv2d(channels, channels, 1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with torch.no_grad():
        model[0].weight.copy_(5 * torch.eye(channels)[:, :, None, None])
    return model.eval()


def test_grid_localisation_is_the_share_of_positive_attribution_in_the_cell():
    maps = torch.zeros(4, 6, 6)
    maps[0, :3, 3:] = 1  # all in cell 1
    maps[1] = 1  # uniform
    maps[2, :3, :3] = 2
    maps[2, 3:, 3:] = -5  # negative attribution is ignored
    result = M.grid_localisation(maps, torch.tensor([1, 0, 0, 2]), 2)
    torch.testing.assert_close(result, torch.tensor([1.0, 0.25, 1.0, 0.0]))  # an all-zero map scores 0
    smooth = M.grid_localisation(maps[:1], torch.tensor([1]), 2, smooth=3)
    assert 0.5 < float(smooth) < 1
    with pytest.raises(ExplainError, match=r"n·H"):
        M.grid_localisation(torch.zeros(1, 5, 6), torch.tensor([0]), 2)
    with pytest.raises(ExplainError, match="cell index"):
        M.grid_localisation(maps, torch.tensor([0, 1, 2, 4]), 2)


def test_make_grids_tiles_confident_images_of_distinct_classes():
    model = channel_mean_model()
    images = one_hot_tiles([0, 1, 2, 3] * 3)
    grids, classes = M.make_grids(model, images, 2, num_grids=3, seed=1)
    assert grids.shape == (3, 4, 8, 8) and classes.shape == (3, 4)
    for grid, cells in zip(grids, classes):
        assert sorted(cells.tolist()) == [0, 1, 2, 3]
        for index, c in enumerate(cells.tolist()):
            row, col = divmod(index, 2)
            tile = grid[:, row * 4:(row + 1) * 4, col * 4:(col + 1) * 4]
            assert torch.equal(tile, one_hot_tiles([c])[0])
    with pytest.raises(ExplainError, match="needs 9"):
        M.make_grids(model, images, 3)
    with pytest.raises(ExplainError, match="needs 4"):  # none is confident enough
        M.make_grids(model, images, 2, threshold=0.99)
    with pytest.raises(ExplainError, match="needs 4"):  # the labels say every prediction is wrong
        M.make_grids(model, images, 2, labels=(torch.arange(12) + 1) % 4)


def test_grid_pointing_game_scores_a_localising_and_a_uniform_explainer():
    model = channel_mean_model()
    grids, classes = M.make_grids(model, one_hot_tiles([0, 1, 2, 3] * 2), 2, num_grids=2)
    # Grad-CAM on the conv: the explained class's channel, which is 1 exactly in its own cell.
    perfect = M.grid_pointing_game(model, grids, classes, "grad-cam", target_layer="0", batch_size=3)
    assert perfect == pytest.approx(1.0)
    # Input x gradient: the explained class's channel of the input, times a constant.
    per_cell = M.grid_pointing_game(model, grids, classes, "input-x-gradient", reduction="none")
    assert per_cell.shape == (2, 4)
    torch.testing.assert_close(per_cell, torch.ones(2, 4))
    # A class-agnostic map (the first principal component of the one-hot activations) cannot be
    # right for every cell of a grid.
    assert M.grid_pointing_game(model, grids, classes, "eigen-cam", target_layer="0") < 0.9
    with pytest.raises(ExplainError, match="classes must be"):
        M.grid_pointing_game(model, grids, classes[:, :3])
