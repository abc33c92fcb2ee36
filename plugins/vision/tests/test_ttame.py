"""T-TAME: the head's sizes for the paper's backbones, its loss, training on a frozen zoo backbone and
the one-pass explanation through zoo.explain."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import zoo
from zoo.errors import ConfigError, ExplainError
from zoo_vision.blocks import add_inverse
from zoo_vision.explainers import ttame_specs
from zoo_vision.explainers.ttame import (
    TTAMEHead,
    smoothness_loss,
    train_ttame,
    ttame_head,
    ttame_loss,
)


@pytest.mark.parametrize("backbone", sorted(ttame_specs.PAPER_LAYER_SETS))
def test_head_sizes_of_the_paper_backbones(backbone):
    layer_set = ttame_specs.PAPER_LAYER_SETS[backbone]
    with torch.device("meta"):
        head = TTAMEHead(layer_set.channels, 1000, layers=layer_set.layers)
    count = sum(p.numel() for p in head.parameters())
    assert count == layer_set.num_params == ttame_specs.head_num_params(layer_set.channels)


def test_paper_counts():
    assert {k: v.num_params for k, v in ttame_specs.PAPER_LAYER_SETS.items()} == {
        "vgg16": 1_874_664, "resnet50": 9_100_776, "vit_b_16": 4_081_384}


def test_head_shapes_and_map_size():
    torch.manual_seed(0)
    head = TTAMEHead((4, 8, 16), 5).eval()
    features = [torch.randn(2, 4, 12, 12), torch.randn(2, 8, 6, 6), torch.randn(2, 16, 3, 3)]
    a, c = head(features)
    assert a.shape == c.shape == (2, 5, 12, 12)
    torch.testing.assert_close(a, torch.sigmoid(c))
    big = TTAMEHead((4,), 3).eval()
    assert big([torch.randn(1, 4, 80, 80)])[1].shape[-2:] == (56, 56)  # capped as the authors'
    with pytest.raises(ExplainError, match=r"\[B, 8, H, W\]"):
        head([features[0], features[0], features[2]])
    with pytest.raises(ConfigError):
        TTAMEHead((4, 8), 5, layers=("a",))


def test_loss_terms_follow_the_authors_formula():
    torch.manual_seed(0)
    logits, labels = torch.randn(3, 4), torch.tensor([0, 2, 3])
    masks = torch.rand(3, 3, 5, 5)
    terms = ttame_loss(logits, labels, masks)
    ce = torch.nn.functional.cross_entropy(logits, labels)
    area = ((masks + 0.0005) ** 0.3).mean()
    dx = ((masks[:, :, 1:] - masks[:, :, :-1]) ** 2).sum()
    dy = ((masks[..., 1:] - masks[..., :-1]) ** 2).sum()
    border = sum((edge ** 2).sum() for edge in (masks[:, :, 0], masks[:, :, -1], masks[..., 0], masks[..., -1]))
    tv = (dx + dy + 0.3 * border) / (2 * 3)
    torch.testing.assert_close(smoothness_loss(masks), tv)
    torch.testing.assert_close(terms["loss"], 1.5 * ce + 2 * area + 0.01 * tv)
    torch.testing.assert_close(terms["area"], 2 * area)


@pytest.fixture(scope="module")
def backbone():
    torch.manual_seed(0)
    return zoo.build("bcos-resnet-18", num_classes=4).eval()


def test_train_then_explain_a_zoo_backbone(backbone):
    torch.manual_seed(0)
    x = add_inverse(torch.rand(4, 3, 32, 32))
    head = ttame_head(backbone, x)
    assert head.layers == ("layer2", "layer3", "layer4")
    assert head.channels == ttame_specs.ZOO_LAYER_SETS["bcos-resnet-18"].channels
    assert head.num_classes == 4
    before_backbone = {k: v.clone() for k, v in backbone.state_dict().items()}
    before_head = [p.detach().clone() for p in head.parameters()]
    history = train_ttame(backbone, head, [x[:2], (x[2:], torch.zeros(2))], epochs=1, lr=0.1)
    assert len(history) == 2 and all(torch.isfinite(torch.tensor(h["loss"])) for h in history)
    assert set(history[0]) == {"loss", "cross_entropy", "area", "smoothness"}
    for key, value in backbone.state_dict().items():
        torch.testing.assert_close(value, before_backbone[key])  # frozen, BN statistics included
    assert all(p.requires_grad for p in backbone.parameters())  # restored
    assert any(not torch.equal(p, q) for p, q in zip(head.parameters(), before_head))
    calls = []
    handle = backbone.register_forward_hook(lambda *args: calls.append(1))
    explanation = zoo.explain(backbone, x, method="t-tame", head=head, targets=[0, 1, 2, 3])
    handle.remove()
    assert len(calls) == 1  # one forward pass of the backbone explains the batch
    assert explanation.maps.shape == (4, 32, 32) and explanation.method == "t-tame"
    assert explanation.targets.tolist() == [0, 1, 2, 3]
    assert explanation.maps.min() >= 0 and explanation.maps.max() <= 1 + 1e-6
    assert not torch.allclose(explanation.maps[0], explanation.maps[1])


def test_explain_errors(backbone):
    x = add_inverse(torch.rand(1, 3, 32, 32))
    with pytest.raises(ExplainError, match="needs a trained head"):
        zoo.explain(backbone, x, method="t-tame")
    wrong = TTAMEHead((128, 256, 512), 7, layers=("layer2", "layer3", "layer4"))
    with pytest.raises(ExplainError, match="7 classes"):
        zoo.explain(backbone, x, method="t-tame", head=wrong)
    with pytest.raises(ExplainError, match="no layer set"):
        ttame_head(nn.Sequential(nn.Conv2d(3, 2, 1), nn.Flatten()), torch.rand(1, 3, 4, 4))
    with pytest.raises(ExplainError, match="unknown layer set"):
        ttame_head(backbone, x, "resnet-9000")
    with pytest.raises(ConfigError, match="sized"):
        train_ttame(backbone, wrong, iter([x]))


class TinyViT(nn.Module):
    """A class token and 4x4 patch tokens through two token-mixing blocks, then a linear classifier."""

    def __init__(self, dim: int = 8, classes: int = 3):
        super().__init__()
        self.embed = nn.Conv2d(3, dim, 4, 4)
        self.cls = nn.Parameter(torch.randn(1, 1, dim))
        self.blocks = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.LayerNorm(dim))
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        tokens = self.blocks(torch.cat([self.cls.expand(len(x), -1, -1), tokens], 1))
        return self.head(tokens[:, 0])


def test_transformer_tokens_go_through_the_reshape():
    torch.manual_seed(0)
    model = TinyViT().eval()
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ExplainError, match="reshape"):
        ttame_head(model, x, ["blocks.0", "blocks.2"])
    head = ttame_head(model, x, ["blocks.0", "blocks.2"], reshape="zoo.explainers.reshapes:vit_tokens")
    assert head.channels == (8, 8)
    train_ttame(model, head, [x], epochs=1)
    maps = zoo.explain(model, x, method="t-tame", head=head).maps
    assert maps.shape == (2, 16, 16) and torch.isfinite(maps).all()
