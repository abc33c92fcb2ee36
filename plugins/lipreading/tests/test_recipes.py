"""The LRW recipes' hooks for zoo train: mixup of the video only, its loss, and LRW's dict items."""

import torch
import torch.nn.functional as F

from zoo.registry import get_registry
from zoo.training import parts
from zoo_lipreading.recipe import mixup_batch, mixup_cross_entropy


def test_mixup_hooks_mix_the_video_and_keep_the_boundary():
    torch.manual_seed(0)
    video, boundary, y = torch.rand(4, 1, 29, 88, 88), torch.rand(4, 29), torch.tensor([0, 1, 2, 3])
    (mixed, kept), (y_a, y_b, lam) = mixup_batch((video, boundary), y, "word-classification")
    assert torch.equal(kept, boundary) and torch.equal(y_a, y) and mixed.shape == video.shape
    logits = torch.randn(4, 5)
    expected = lam * F.cross_entropy(logits, y_a) + (1 - lam) * F.cross_entropy(logits, y_b)
    assert torch.allclose(mixup_cross_entropy(logits, (y_a, y_b, lam)), expected)
    assert torch.allclose(mixup_cross_entropy(logits, y), F.cross_entropy(logits, y))  # validation


def test_lrw_items_feed_the_recipes_inputs():
    batch = {"video": torch.zeros(2, 1, 29, 88, 88), "label": torch.tensor([1, 2]), "boundary": torch.ones(2, 29)}
    plain = get_registry().model("td3net-base").get_recipe()
    with_boundary = get_registry().model("td3net-best-wb").get_recipe()
    x, y = parts.split_batch(batch, plain.inputs)
    assert x.shape == (2, 1, 29, 88, 88) and torch.equal(y, batch["label"])
    x, _ = parts.split_batch(batch, with_boundary.inputs)
    assert isinstance(x, tuple) and torch.equal(x[1], batch["boundary"])
