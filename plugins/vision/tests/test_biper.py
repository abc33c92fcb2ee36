"""BiPer: the binarisers' gradients against the paper's formulas, the train and eval forms of the
binary convolution, and the four networks' sizes (the authors' counts)."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo.registry import get_registry
from zoo_vision.augment import pad_crop_flip
from zoo_vision.blocks import BiPerConv2d, biper_binarize, quantization_error, sign_approx
from zoo_vision.models.biper_resnet import build_biper_resnet
from zoo_vision.models.biper_resnet_specs import VARIANTS

from ._timm_cnn import meta_count

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("freq", [20.0, 30.0])
def test_weight_binariser_is_the_square_wave_with_the_sines_gradient(freq):
    w = torch.linspace(-0.5, 0.5, 1001, dtype=torch.float64).requires_grad_()
    upstream = torch.randn(w.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    b = biper_binarize(w, freq)
    (b * upstream).sum().backward()
    # forward: sign(sin(ω0 w)), a square wave of period 2π/ω0
    torch.testing.assert_close(b, torch.sign(torch.sin(freq * w.detach())))
    assert set(b.unique().tolist()) <= {-1.0, 0.0, 1.0}
    period = 2 * math.pi / freq
    inside = w.detach().abs() < 0.5 - period
    torch.testing.assert_close(biper_binarize(w.detach() + period, freq)[inside], b.detach()[inside])
    # backward: ∂b/∂w = ω0 cos(ω0 w) (the paper's Eq. for the periodic surrogate)
    torch.testing.assert_close(w.grad, freq * torch.cos(freq * w.detach()) * upstream)


def test_activation_binariser_has_the_approxsign_gradient():
    a = torch.linspace(-1.5, 1.5, 601, dtype=torch.float64).requires_grad_()
    out = sign_approx(a)
    out.sum().backward()
    torch.testing.assert_close(out, torch.sign(a.detach()))
    torch.testing.assert_close(a.grad, (2 - 2 * a.detach().abs()).clamp(min=0))
    assert a.grad[a.detach().abs() >= 1].abs().max() == 0


def test_quantization_error_falls_with_the_frequency_for_a_fixed_spread():
    w = torch.randn(10_000, generator=torch.Generator().manual_seed(0)) * 0.05
    errors = [quantization_error(w, f).item() for f in (5.0, 20.0, 80.0)]
    assert errors[0] > errors[1] > errors[2]
    assert quantization_error(torch.full((4,), math.pi / 40), 20.0).item() == pytest.approx(0.0, abs=1e-6)


def test_eval_form_is_the_hard_sign_convolution_scaled_by_alpha():
    torch.manual_seed(0)
    conv = BiPerConv2d(4, 6, 3, stride=2, padding=1, freq=20.0).eval()
    x = torch.randn(2, 4, 9, 9)
    expected = F.conv2d(torch.sign(x), torch.sign(torch.sin(20.0 * conv.weight)), stride=2, padding=1)
    torch.testing.assert_close(conv(x), expected * conv.alpha)
    assert set(conv.binary_weight().unique().tolist()) <= {-1.0, 1.0}
    assert conv.alpha.shape == (6, 1, 1) and 0 <= conv.alpha.min() and conv.alpha.max() <= 1


def test_train_form_normalises_only_the_gradient_window():
    torch.manual_seed(0)
    conv = BiPerConv2d(3, 5, 3, padding=1, freq=20.0)
    x = 3 * torch.randn(2, 3, 6, 6)  # a wide spread: the std normalisation changes which |a| < 1
    grads = {}
    for train in (True, False):
        conv.train(train)
        xi = x.clone().requires_grad_()
        out = conv(xi)
        out.sum().backward()
        grads[train] = (out.detach(), xi.grad)
    # the same forward (sign is scale-invariant) ...
    torch.testing.assert_close(grads[True][0], grads[False][0])
    # ... but in training ApproxSign's window applies to x / std(x) per sample, the chain rule included
    xn = x.clone().requires_grad_()
    normalised = xn / torch.sqrt(xn.var((1, 2, 3), keepdim=True) + 1e-5)
    w = torch.sign(torch.sin(20.0 * conv.weight.detach()))
    (F.conv2d(sign_approx(normalised), w, padding=1) * conv.alpha.detach()).sum().backward()
    torch.testing.assert_close(grads[True][1], xn.grad)
    assert not torch.allclose(grads[True][1], grads[False][1])


def test_stage_one_uses_the_real_sine_weights():
    torch.manual_seed(0)
    conv = BiPerConv2d(2, 3, 1, freq=20.0, stage=1).eval()
    x = torch.randn(1, 2, 4, 4)
    expected = F.conv2d(torch.sign(x), torch.sin(20.0 * conv.weight)) * conv.alpha
    torch.testing.assert_close(conv(x), expected)
    with pytest.raises(ConfigError, match="stage"):
        BiPerConv2d(2, 3, 1, stage=3)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_sizes_are_the_authors(variant):
    assert meta_count(build_biper_resnet, variant=variant) == VARIANTS[variant]["num_params"]


def test_latent_weights_get_the_periodic_gradient_through_the_network():
    torch.manual_seed(0)
    model = build_biper_resnet("20-cifar10")
    model(torch.randn(4, 3, 16, 16)).sum().backward()
    conv = model.layer2[1].conv1
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    assert conv.alpha.grad is not None and model.conv1.weight.grad.abs().sum() > 0


def test_imagenet_layout_starts_each_block_as_its_shortcut_and_rejects_bad_input():
    model = build_biper_resnet("18").eval()
    assert model.layer1[0].bn1.weight.abs().max().item() == pytest.approx(1e-8)
    assert isinstance(model.layer2[0].downsample[0], torch.nn.Conv2d)  # full-precision 1x1 downsample
    with pytest.raises(InputShapeError):
        model(torch.randn(1, 3, 16, 16))
    with pytest.raises(InputShapeError):
        build_biper_resnet("18-cifar10")(torch.randn(1, 3, 36, 36))  # not a multiple of 8
    with pytest.raises(ConfigError, match="unknown variant"):
        build_biper_resnet("50")


def test_registered_with_the_two_stage_recipes():
    spec = get_registry().model("biper-resnet-18")
    assert [r.name for r in spec.recipes] == ["stage1", "stage2"]
    assert (spec.recipes[0].lr, spec.recipes[0].epochs, spec.recipes[0].batch_size) == (0.1, 200, 512)
    cifar = get_registry().model("biper-resnet-20-cifar10").recipes
    assert (cifar[0].lr, cifar[0].epochs, cifar[1].lr, cifar[1].epochs) == (0.021, 600, 0.0037, 300)


def test_pad_crop_flip_keeps_shapes_and_content():
    torch.manual_seed(0)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    out, y = pad_crop_flip(x, torch.tensor([1, 2]), "classification")
    assert out.shape == x.shape and y.tolist() == [1, 2]
    # every output value is a zero of the padding or one of the sample's own pixels
    for sample, source in zip(out, x):
        assert set(sample.unique().tolist()) <= set(source.unique().tolist()) | {0.0}


def test_grad_cam_through_the_declared_layer():
    torch.manual_seed(0)
    model = zoo.build("biper-resnet-20-cifar10").eval()
    explanation = zoo.explain(model, torch.rand(2, 3, 32, 32), targets=[1, 3])
    heat = torch.as_tensor(explanation.maps)
    assert heat.shape[0] == 2 and heat.shape[-2:] == (32, 32) and torch.isfinite(heat).all()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_state_dict_is_the_authors_less_their_unused_tensors(variant):
    """The authors' keys and shapes (tools/parity_biper_lowformer.py --dump-keys): their checkpoints load
    strictly once the unused ``tau`` buffers and CIFAR ``beta`` tensors are dropped."""
    keys = json.loads(gzip.decompress((DATA / "biper_lowformer_keys.json.gz").read_bytes()))
    theirs = keys[f"biper-resnet-{variant}"]
    with torch.device("meta"):
        ours = {k: list(v.shape) for k, v in build_biper_resnet(variant).state_dict().items()}
    assert ours == {k: v for k, v in theirs.items() if not k.endswith((".tau", ".beta"))}


def test_stage_one_recipe_trains_through_zoo_train(tmp_path):
    generator = torch.Generator().manual_seed(0)
    data = [(torch.randn(3, 16, 16, generator=generator), i % 10) for i in range(16)]
    result = zoo.train("biper-resnet-20-cifar10", (data, data[:8]), out=tmp_path, recipe="stage1", epochs=1,
                       batch_size=8, config={"stage": 1}, progress=False)
    assert result["metrics"]["step"] == 2 and math.isfinite(result["metrics"]["train_loss"])
    assert zoo.load(result["best_folder"]).zoo_config["stage"] == 1
