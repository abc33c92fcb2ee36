"""B-cos v2: the layers against their defining formulas, the ResNets' sizes, and the dynamic linear
map (contributions that add up to the logit) through zoo.explain."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import zoo
from zoo.errors import ConfigError, ExplainError, InputShapeError
from zoo_vision.blocks import (
    BatchNormUncentered2d,
    BcosConv2d,
    BcosLinear,
    DetachableGroupNorm2d,
    DetachablePositionNorm2d,
    add_inverse,
    explanation_mode,
)
from zoo_vision.explainers.bcos import dynamic_linear_map
from zoo_vision.models import bcos_convnext_specs, bcos_densenet_specs, bcos_vit_specs
from zoo_vision.models.bcos_convnext import build_bcos_convnext
from zoo_vision.models.bcos_densenet import build_bcos_densenet
from zoo_vision.models.bcos_resnet import build_bcos_resnet
from zoo_vision.models.bcos_resnet_specs import VARIANTS
from zoo_vision.models.bcos_vit import build_bcos_vit

from ._timm_cnn import meta_count


def _unit_rows(weight: torch.Tensor) -> torch.Tensor:
    return weight / weight.flatten(1).norm(dim=1).reshape(-1, *[1] * (weight.ndim - 1))


def test_add_inverse_is_the_six_channel_encoding():
    x = torch.rand(2, 3, 4, 5)
    encoded = add_inverse(x)
    assert encoded.shape == (2, 6, 4, 5)
    torch.testing.assert_close(encoded[:, 3:], 1 - x)
    # every pixel has the same norm in the colour/inverse pairs' plane whatever its colour
    torch.testing.assert_close(encoded[:, [0, 3]].sum(1), torch.ones(2, 4, 5))


@pytest.mark.parametrize("b", [2.0, 2.5])
def test_bcos_conv_is_cos_to_the_b_minus_one_times_the_unit_weight_response(b):
    torch.manual_seed(0)
    layer = BcosConv2d(4, 5, 3, stride=2, padding=1, b=b)
    x = torch.randn(2, 4, 9, 9)
    patches = F.unfold(x, 3, padding=1, stride=2)  # [B, 4*9, L]
    w = _unit_rows(layer.linear.weight).flatten(1)  # [5, 36]
    lin = torch.einsum("ok,bkl->bol", w, patches)
    norm = (patches.pow(2).sum(1, keepdim=True) + 1e-6).sqrt()
    cos = (lin / norm).abs()
    expected = (cos if b == 2 else (cos + 1e-6) ** (b - 1)) * lin
    torch.testing.assert_close(layer(x), expected.reshape(2, 5, 5, 5), rtol=1e-5, atol=1e-6)


def test_bcos_conv_maxout_groups_and_dilation():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 8, 8)
    layer = BcosConv2d(4, 3, 3, padding=1, max_out=2)
    assert layer.linear.weight.shape == (6, 4, 3, 3)
    lin = F.conv2d(x, _unit_rows(layer.linear.weight), padding=1).unflatten(1, (3, 2)).amax(2)
    norm = (F.conv2d(x.pow(2).sum(1, keepdim=True), torch.ones(1, 1, 3, 3), padding=1) + 1e-6).sqrt()
    torch.testing.assert_close(layer(x), lin.abs() / norm * lin, rtol=1e-5, atol=1e-6)
    # grouped: each output channel's norm is over its own group's input channels only
    grouped = BcosConv2d(4, 4, 3, padding=1, groups=2)
    lin = F.conv2d(x, _unit_rows(grouped.linear.weight), padding=1, groups=2)
    squares = x.pow(2).unflatten(1, (2, 2)).sum(2)
    norm = (F.conv2d(squares, torch.ones(2, 1, 3, 3), padding=1, groups=2) + 1e-6).sqrt().repeat_interleave(2, 1)
    torch.testing.assert_close(grouped(x), lin.abs() / norm * lin, rtol=1e-5, atol=1e-6)
    # dilation takes the windowed-sum path; it must agree with the pooled one's definition
    dilated = BcosConv2d(4, 2, 3, padding=2, dilation=2)
    lin = F.conv2d(x, _unit_rows(dilated.linear.weight), padding=2, dilation=2)
    norm = (F.conv2d(x.pow(2).sum(1, keepdim=True), torch.ones(1, 1, 3, 3), padding=2, dilation=2) + 1e-6).sqrt()
    torch.testing.assert_close(dilated(x), lin.abs() / norm * lin, rtol=1e-5, atol=1e-6)


def test_b_equal_one_is_a_unit_norm_linear_layer():
    torch.manual_seed(0)
    layer = BcosLinear(6, 3, b=1)
    x = torch.randn(4, 6)
    torch.testing.assert_close(layer(x), x @ _unit_rows(layer.linear.weight).T)


def test_bcos_linear_and_its_maxout():
    torch.manual_seed(0)
    x = torch.randn(4, 7, 6)
    layer = BcosLinear(6, 3, max_out=2)
    lin = (x @ _unit_rows(layer.linear.weight).T).unflatten(-1, (3, 2)).amax(-1)
    norm = x.norm(dim=-1, keepdim=True) + 1e-12
    torch.testing.assert_close(layer(x), lin.abs() / norm * lin)
    with pytest.raises(ValueError, match="max_out"):
        BcosLinear(6, 3, max_out=0)


def test_explanation_mode_detaches_the_scale_and_restores_the_mode():
    torch.manual_seed(0)
    layer = BcosLinear(5, 1)
    x = torch.randn(1, 5)
    w = _unit_rows(layer.linear.weight)[0]
    x1 = x.clone().requires_grad_()
    with explanation_mode(layer):
        layer(x1).sum().backward()
    assert not layer.detach
    # detached: the gradient is the dynamic weight |cos| * w, and W(x)ᵀx is the output
    cos = (x[0] @ w) / (x[0].norm() + 1e-12)
    torch.testing.assert_close(x1.grad[0], cos.abs() * w)
    x2 = x.clone().requires_grad_()
    layer(x2).sum().backward()  # the full gradient also differentiates the scale
    assert not torch.allclose(x1.grad, x2.grad)


def test_uncentred_batch_norm_without_bias():
    torch.manual_seed(0)
    bn = BatchNormUncentered2d(3)
    assert bn.bias is None and set(bn.state_dict()) == {"weight", "running_mean", "running_var", "num_batches_tracked"}
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.5, 1.0, 2.0]))
    x = torch.randn(4, 3, 5, 5) * 3 + 1
    out = bn(x)  # train: biased batch variance, no mean subtracted
    var = x.var(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(out, x / (var + 1e-5).sqrt()[:, None, None] * bn.weight[:, None, None])
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * var)
    bn.eval()
    torch.testing.assert_close(bn(x), x / (bn.running_var + 1e-5).sqrt()[:, None, None] * bn.weight[:, None, None])
    torch.testing.assert_close(bn(2 * x), 2 * bn(x))  # linear in eval


@pytest.mark.parametrize("variant", sorted(VARIANTS, key=int))
def test_parameter_counts_are_the_authors(variant):
    assert meta_count(build_bcos_resnet, variant=variant) == VARIANTS[variant]["num_params"]


@pytest.mark.parametrize("variant", sorted(bcos_densenet_specs.VARIANTS))
def test_densenet_parameter_counts_are_the_authors(variant):
    assert meta_count(build_bcos_densenet, variant=variant) == bcos_densenet_specs.VARIANTS[variant]["num_params"]


@pytest.mark.parametrize("variant", sorted(bcos_convnext_specs.VARIANTS))
def test_convnext_parameter_counts_are_the_authors(variant):
    assert meta_count(build_bcos_convnext, variant=variant) == bcos_convnext_specs.VARIANTS[variant]["num_params"]


@pytest.mark.parametrize("variant", sorted(bcos_vit_specs.VARIANTS))
def test_vit_parameter_counts_are_the_authors(variant):
    assert meta_count(build_bcos_vit, variant=variant) == bcos_vit_specs.VARIANTS[variant]["num_params"]


def test_readme_rounding_of_the_counts():
    readme = {"18": 11.69, "34": 21.80, "101": 44.50, "152": 60.13}  # 50: README 25.52M, constructor 25.54M
    for variant, millions in readme.items():
        assert round(VARIANTS[variant]["num_params"] / 1e6, 2) == millions
    readme = {"121": 7.95, "169": 14.08, "201": 19.91, "161": 28.58}
    for variant, millions in readme.items():
        assert round(bcos_densenet_specs.VARIANTS[variant]["num_params"] / 1e6, 2) == millions
    readme = {"simple-vit-ti": 5.80, "simple-vit-b": 86.90, "simple-vit-l": 178.79,  # s: README 22.28M, here 22.22M
              "vitc-ti": 5.32, "vitc-s": 20.88, "vitc-l": 167.44}  # vitc-b: README 81.37M, constructor 81.33M
    for variant, millions in readme.items():
        assert round(bcos_vit_specs.VARIANTS[variant]["num_params"] / 1e6, 2) == millions
    for variant, millions in {"tiny": 28.54, "base": 88.47}.items():
        assert round(bcos_convnext_specs.VARIANTS[variant]["num_params"] / 1e6, 2) == millions


def test_structure_has_no_relu_no_maxpool_and_a_pre_pool_classifier():
    model = build_bcos_resnet("50", num_classes=10)
    kinds = {type(m).__name__ for m in model.modules()}
    assert not kinds & {"ReLU", "MaxPool2d", "BatchNorm2d", "Linear", "Conv2d"}
    assert isinstance(model.fc, BcosConv2d) and model.fc.linear.weight.shape == (10, 2048, 1, 1)
    assert model.conv1.linear.weight.shape == (64, 6, 7, 7)
    assert model.layer2[0].conv2.linear.stride == (2, 2)  # ResNet v1.5: the stride on the 3x3
    assert model.logit_layer.logit_bias == pytest.approx(-math.log(9))


def test_densenet_structure():
    model = build_bcos_densenet("121", num_classes=10)
    kinds = {type(m).__name__ for m in model.modules()}
    assert not kinds & {"ReLU", "MaxPool2d", "BatchNorm2d", "Linear", "Conv2d"}
    layer = model.features.denseblock4.denselayer16
    assert layer.conv1.linear.weight.shape == (128, 512 + 15 * 32, 1, 1)
    assert model.features.transition3.conv.linear.weight.shape == (512, 1024, 1, 1)
    assert model.classifier.linear.weight.shape == (10, 1024, 1, 1)


def test_convnext_structure():
    model = build_bcos_convnext("tiny", num_classes=10)
    kinds = {type(m).__name__ for m in model.modules()}
    assert not kinds & {"GELU", "LayerNorm", "Linear", "Conv2d", "BatchNormUncentered2d"}
    block = model.features[6][8]  # the last block of stage 3 (features: stem, norm, stage, down, ...)
    assert block.block[0].groups == 384 and block.block[0].linear.weight.shape == (384, 1, 7, 7)
    assert block.block[2].linear.weight.shape == (1536, 384, 1, 1)
    assert block.layer_scale.shape == (384, 1, 1) and block.layer_scale.max().item() == pytest.approx(1e-6)
    assert block.stochastic_depth.p == pytest.approx(0.1 * 14 / 17)  # linear in the block index
    assert model.features[7][1].linear.weight.shape == (768, 384, 2, 2)
    assert model.classifier[1].linear.weight.shape == (10, 768, 1, 1)
    with pytest.raises(InputShapeError):
        model.eval()(add_inverse(torch.rand(1, 3, 48, 48)))


def test_position_norm_normalises_channels_and_detaches_only_the_variance():
    torch.manual_seed(0)
    norm = DetachablePositionNorm2d(5, eps=1e-6)
    assert norm.bias is None
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
    x = torch.randn(2, 5, 3, 4) * 2 + 1
    mean, var = x.mean(1, keepdim=True), x.var(1, unbiased=False, keepdim=True)
    expected = (x - mean) / (var + 1e-6).sqrt() * norm.weight[:, None, None]
    torch.testing.assert_close(norm(x), expected)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    with explanation_mode(norm):
        out = norm(x1)
        out[:, 0].sum().backward()
    torch.testing.assert_close(out, expected)
    norm(x2)[:, 0].sum().backward()
    assert not torch.allclose(x1.grad, x2.grad)
    # detached: a linear map of x (centring is linear), so W(x)ᵀx is the output
    torch.testing.assert_close((x1.grad * x).sum(), expected[:, 0].sum(), rtol=1e-5, atol=1e-5)


def _calibrated(model: torch.nn.Module, x: torch.Tensor) -> torch.nn.Module:
    """Running variances set from one batch, so that activations and logits are of order one
    (at init a B-cos network's logits are ~1e-8 from the bias, where any sum would match)."""
    for m in model.modules():
        if isinstance(m, BatchNormUncentered2d):
            m.momentum = 1.0
    with torch.no_grad():
        model.train()(x)
    return model.eval()


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    x = add_inverse(torch.rand(3, 3, 32, 32))
    return _calibrated(build_bcos_resnet("18", num_classes=7), x), x


@pytest.fixture(scope="module")
def tiny_densenet():
    torch.manual_seed(1)
    x = add_inverse(torch.rand(3, 3, 32, 32))
    return _calibrated(build_bcos_densenet("121", num_classes=7), x), x


@pytest.fixture(scope="module")
def tiny_convnext():
    torch.manual_seed(2)
    model = build_bcos_convnext("tiny", num_classes=7).eval()
    with torch.no_grad():  # layer scale 1e-6 at init would leave only the stem and the downsamplings
        for block in model.modules():
            if hasattr(block, "layer_scale"):
                block.layer_scale.fill_(1.0)
    return model, add_inverse(torch.rand(3, 3, 32, 32))


@pytest.mark.parametrize("family", ["tiny", "tiny_densenet", "tiny_convnext"])
def test_contributions_reproduce_the_logit(family, request):
    model, x = request.getfixturevalue(family)
    logits = model(x)
    bias = model.logit_layer.logit_bias
    targets = (logits - bias).abs().argmax(1)  # the class furthest from the bias: a relative check bites
    result = dynamic_linear_map(model, x, targets=targets.tolist())
    assert result.weights.shape == x.shape and result.contributions.shape == (3, 32, 32)
    selected = logits.gather(1, targets[:, None])[:, 0] - bias
    assert selected.abs().min() > 1e-3  # a real check, not two near-zero numbers: relative to 1e-4
    torch.testing.assert_close(result.contributions.sum((1, 2)), selected, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(result.logits, logits)


def test_dynamic_linear_map_is_per_sample(tiny):
    model, x = tiny
    batched = dynamic_linear_map(model, x, targets=2).weights
    alone = dynamic_linear_map(model, x[1:2], targets=2).weights
    torch.testing.assert_close(batched[1:2], alone, rtol=1e-4, atol=1e-7)


def test_zoo_explain_bcos_contributions(tiny):
    model, x = tiny
    explanation = zoo.explain(model, x, method="bcos-contributions", targets=[1, 2, 3])
    assert explanation.method == "bcos-contributions" and explanation.targets.tolist() == [1, 2, 3]
    maps = explanation.maps
    assert maps.shape == (3, 32, 32) and maps.min() >= 0 and maps.amax((1, 2)).allclose(torch.ones(3))
    expected = dynamic_linear_map(model, x, targets=[1, 2, 3]).contributions.relu()
    torch.testing.assert_close(maps, expected / expected.amax((1, 2), keepdim=True))
    smoothed = zoo.explain(model, x, method="bcos-contributions", targets=[1, 2, 3], smooth=5).maps
    assert smoothed.shape == maps.shape and not torch.allclose(smoothed, maps)
    assert model.training is False and not model.fc.detach  # modes restored


def test_bcos_contributions_errors(tiny):
    model, x = tiny
    with pytest.raises(ExplainError, match="B-cos model"):
        zoo.explain(zoo.build("eca-resnet-18", num_classes=3), torch.rand(1, 3, 32, 32), method="bcos-contributions")
    with pytest.raises(ExplainError, match="target_layer"):
        zoo.explain(model, x, method="bcos-contributions", target_layer="layer4")
    with pytest.raises(ExplainError, match="smooth"):
        zoo.explain(model, x, method="bcos-contributions", smooth=4)


def test_bad_inputs_and_configs():
    model = zoo.build("bcos-resnet-18", num_classes=4).eval()
    with pytest.raises(InputShapeError, match="C=6"):
        model(torch.rand(1, 3, 32, 32))
    with pytest.raises(InputShapeError, match="at least 32"):
        model(add_inverse(torch.rand(1, 3, 16, 16)))
    with pytest.raises(ConfigError, match="unknown variant"):
        build_bcos_resnet("20")
    with pytest.raises(ConfigError, match="num_classes"):
        build_bcos_resnet("18", num_classes=1)


def test_vit_contributions_plus_the_positional_embeddings_share_reproduce_the_logit():
    """The sin-cos embedding is an input-independent term added to the tokens: the image's
    contributions sum to the logit less the bias less the embedding's share Σ (∂y/∂pe)·pe."""
    torch.manual_seed(3)
    model = build_bcos_vit("simple-vit-ti", num_classes=5, patch_size=8).eval()
    with torch.no_grad():
        for tensor in model.parameters():
            if tensor.ndim == 1:  # norm gains: away from 1 so that a missing gain would show
                tensor.uniform_(0.5, 1.5)
    x = add_inverse(torch.rand(2, 3, 16, 24))  # 2 x 3 patches: a non-square grid
    captured = {}

    def leaf_embedding(module, inputs, output):
        captured["pe"] = output.detach().requires_grad_()
        return captured["pe"]

    handle = model[0].positional_embedding.register_forward_hook(leaf_embedding)
    try:
        image = x.clone().requires_grad_()
        with explanation_mode(model), torch.enable_grad():
            logits = model(image)
            targets = (logits - model[1].logit_bias).abs().argmax(1)
            score = logits.gather(1, targets[:, None])[:, 0]
            w_img, w_pe = torch.autograd.grad(score.sum(), [image, captured["pe"]])
    finally:
        handle.remove()
    # the embedding is shared by the batch: its gradient sums both samples, so explain one at a time
    result = dynamic_linear_map(model, x[:1], targets=int(targets[0]))
    with explanation_mode(model):
        single = model[0].positional_embedding.register_forward_hook(leaf_embedding)
        try:
            score = model(x[:1].clone().requires_grad_())[0, int(targets[0])]
            (g_pe,) = torch.autograd.grad(score, captured["pe"])
        finally:
            single.remove()
    pe_share = (g_pe * captured["pe"]).sum()
    selected = score.detach() - model[1].logit_bias
    assert selected.abs() > 1e-2 and pe_share.abs() > 1e-4
    torch.testing.assert_close(result.contributions.sum() + pe_share, selected, rtol=1e-4, atol=1e-6)
    assert not torch.allclose(result.contributions.sum(), selected, rtol=1e-3, atol=0)
    torch.testing.assert_close(w_img[:1], result.weights, rtol=1e-4, atol=1e-7)  # batched W(x) = single


def test_vit_structure_and_explain():
    model = build_bcos_vit("simple-vit-s", num_classes=4, patch_size=8)
    kinds = {type(m).__name__ for m in model.modules()}
    assert not kinds & {"GELU", "LayerNorm"}
    assert sum(type(m) is torch.nn.Linear for m in model.modules()) == 12  # the plain to_qkv only
    assert model[0].to_patch_embedding.linear.linear.weight.shape == (384, 8 * 8 * 6)
    assert model[1].logit_bias == pytest.approx(math.log(1 / 3))
    x = add_inverse(torch.rand(1, 3, 16, 16))
    maps = zoo.explain(model, x, method="bcos-contributions").maps
    assert maps.shape == (1, 16, 16) and maps.max() == pytest.approx(1.0)
    with pytest.raises(InputShapeError):
        model(add_inverse(torch.rand(1, 3, 20, 16)))


def test_vitc_conv_stem_and_contributions():
    torch.manual_seed(4)
    model = build_bcos_vit("vitc-ti", num_classes=5).eval()
    stem = model[0].to_patch_embedding.conv_stem
    assert [m.linear.stride for m in stem if isinstance(m, BcosConv2d)] == [(2, 2)] * 4  # 6->24->48->96->192
    assert model[0].to_patch_embedding.linear.linear.weight.shape == (192, 192) and len(model[0].transformer) == 11
    assert model.patch_size == 16
    x = add_inverse(torch.rand(2, 3, 32, 48))
    with torch.no_grad():
        for tensor in model.parameters():
            if tensor.ndim == 1:
                tensor.uniform_(0.5, 1.5)
    result = dynamic_linear_map(model, x, targets=1)
    assert result.weights.shape == x.shape and torch.isfinite(result.contributions).all()
    with pytest.raises(InputShapeError):
        model(add_inverse(torch.rand(1, 3, 24, 32)))


def test_group_norm_layer_norm_detaches_only_the_variance():
    torch.manual_seed(0)
    norm = DetachableGroupNorm2d(4)
    x = torch.randn(2, 4, 3, 3) * 2 + 1
    mean, var = x.mean((1, 2, 3), keepdim=True), x.var((1, 2, 3), unbiased=False, keepdim=True)
    expected = (x - mean) / (var + 1e-5).sqrt()
    torch.testing.assert_close(norm(x), expected)
    with explanation_mode(norm):
        torch.testing.assert_close(norm(x), expected)
