"""B-cosification (arXiv:2411.00715): the conversion of zoo CNNs and DeiT to B-cos form, its contributions
that add up to the logit, and the fine-tuning recipe's pieces."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zoo
import zoo_vision
from zoo.errors import ConfigError, InputShapeError, TrainingError
from zoo_vision.bcosification import (
    BcosifyConv2d,
    BcosifyLinear,
    DetachableGate,
    DetachableGELU,
    DetachableSelfAttention,
    adaptive_clip_grad_,
    finetune,
    uniform_off_labels_bce,
)
from zoo_vision.bcosification_recipe import (
    AGC_CLIP_FACTOR,
    AGC_EPS,
    BCOSIFICATION_RECIPE,
    BCOSIFICATION_VIT_BIG_RECIPE,
    BCOSIFICATION_VIT_RECIPE,
)
from zoo_vision.blocks import BatchNormUncentered2d, DetachableLayerNorm, add_inverse, explanation_mode
from zoo_vision.explainers.bcos import dynamic_linear_map
from zoo_vision.models.deit import build_deit
from zoo_vision.models.eca_resnet import ECAResNet
from zoo_vision.models.vanillanet import VanillaNet

MEAN, STD = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])


@pytest.fixture(scope="module")
def eca():
    torch.manual_seed(0)
    model = ECAResNet(block="basic", layers=(1, 1, 1, 1), kernel_sizes=(3, 3, 3, 3), num_classes=10)
    for m in model.modules():  # non-trivial statistics and shifts, as a trained model has
        if isinstance(m, nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 2)
            m.running_mean.normal_()
            m.bias.data.normal_()
    return model.eval()


def test_conversion_is_bias_free_bcos_with_uncentred_norms_and_no_max_pool(eca):
    before = {k: v.clone() for k, v in eca.state_dict().items()}
    net = zoo_vision.bcosify(eca)
    assert not any(name.endswith("bias") for name, _ in net.named_parameters())
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == sum(isinstance(m, nn.Conv2d) for m in eca.modules()) + 1  # + the classifier
    wrapped = [m.linear for m in net.modules() if isinstance(m, BcosifyConv2d) and m.b == 2]
    assert {id(c) for c in convs} == {id(c) for c in wrapped}  # every convolution sits in a B-cos layer
    assert not any(isinstance(m, nn.MaxPool2d) for m in net.modules())
    assert isinstance(net.body.maxpool, nn.AvgPool2d) and net.body.maxpool.kernel_size == 3
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(isinstance(m, BatchNormUncentered2d) and m.bias is None for m in norms)
    assert sum(isinstance(m, DetachableGate) for m in net.modules()) == 4
    assert sum(isinstance(m, nn.ReLU) for m in net.modules()) == sum(isinstance(m, nn.ReLU) for m in eca.modules())
    assert net.logit_layer.logit_bias == pytest.approx(-math.log(9))
    assert net.classifier.linear.weight.shape == (10, 512, 1, 1)
    # the original is untouched
    assert all(torch.equal(before[k], v) for k, v in eca.state_dict().items())
    assert net(add_inverse(torch.rand(2, 3, 32, 32))).shape == (2, 10)


def test_bcosify_conv_is_the_b_cos_transform_of_the_plain_unnormalised_convolution():
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 5, 3, stride=2, padding=1, bias=True)
    layer = BcosifyConv2d.from_conv(conv)
    x = torch.randn(2, 4, 9, 9)
    patches = F.unfold(x, 3, padding=1, stride=2)
    lin = torch.einsum("ok,bkl->bol", conv.weight.flatten(1), patches)  # the weight as it is, no bias
    norm = (patches.pow(2).sum(1, keepdim=True) + 1e-6).sqrt()
    torch.testing.assert_close(layer(x), (lin.abs() / norm * lin).reshape(2, 5, 5, 5), rtol=1e-5, atol=1e-6)
    assert layer.linear.bias is None


def test_the_six_channel_stem_computes_the_original_stem_on_the_normalised_image(eca):
    net = zoo_vision.bcosify(eca)
    x = torch.rand(2, 3, 32, 32)
    normalised6 = net.normalize(add_inverse(x))
    n = (x - MEAN[:, None, None]) / STD[:, None, None]
    torch.testing.assert_close(normalised6, torch.cat([n, -n], 1))
    torch.testing.assert_close(net.body.conv1.linear(normalised6), eca.conv1(n), rtol=1e-5, atol=1e-5)


def test_contributions_reproduce_the_logit(eca):
    torch.manual_seed(0)
    net = zoo_vision.bcosify(eca)
    x = add_inverse(torch.rand(3, 3, 32, 32))
    # as a fine-tuned network: running variances from the batch and a larger classifier, so that the
    # logits stand far from the bias (a freshly converted network's sit within ~1e-2 of it)
    for m in net.modules():
        if isinstance(m, BatchNormUncentered2d):
            m.momentum = 1.0
    with torch.no_grad():
        net.train()(x)
        net.classifier.linear.weight.mul_(30)
    net.eval()
    targets = torch.tensor([1, 2, 3])
    result = dynamic_linear_map(net, x, targets=targets.tolist())
    logits = result.logits[torch.arange(3), targets] - net.logit_layer.logit_bias
    assert logits.abs().min() > 0.05
    torch.testing.assert_close(result.contributions.sum((1, 2)), logits, rtol=1e-4, atol=1e-5)
    # the map is w.r.t. the normalised input, as documented: the raw [x, 1-x] would leave W(x)·mean/std over
    raw = (result.weights * x).sum((1, 2, 3))
    assert (raw - logits).abs().min() > 1e-3
    torch.testing.assert_close(net(x), result.logits)
    maps = zoo.explain(net, x, method="bcos-contributions", targets=targets.tolist()).maps
    assert maps.shape == (3, 32, 32) and maps.min() >= 0 and maps.max() <= 1


def test_default_logit_bias_is_added(eca):
    x = add_inverse(torch.rand(1, 3, 32, 32))
    with torch.no_grad():
        raw = zoo_vision.bcosify(eca, logit_bias=0.0)(x)
        biased = zoo_vision.bcosify(eca)(x)
    torch.testing.assert_close(biased, raw - math.log(9))


def test_inception_v4_converts():
    from zoo_vision.models.inception_v4 import build_inception_v4

    net = zoo_vision.bcosify(build_inception_v4(num_classes=5).eval())
    assert not any(isinstance(m, (nn.MaxPool2d, nn.Linear)) for m in net.modules())
    assert net.normalize.mean.flatten().tolist() == [0.5] * 6
    assert net.body.features[0].conv.linear.weight.shape[1] == 6
    with torch.no_grad():
        assert net(add_inverse(torch.rand(1, 3, 75, 75))).shape == (1, 5)


def test_bad_inputs_raise_zoo_errors(eca):
    with pytest.raises(ConfigError, match="bcosify supports"):
        zoo_vision.bcosify(VanillaNet(dims=(8, 16), strides=(2,), num_classes=3))
    with pytest.raises(ConfigError, match="bcosify supports"):
        zoo_vision.bcosify(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
    with pytest.raises(ConfigError, match="b must be"):
        zoo_vision.bcosify(eca, b=0.5)
    with pytest.raises(InputShapeError, match="6-channel"):
        zoo_vision.bcosify(eca)(torch.rand(1, 3, 32, 32))
    with pytest.raises(InputShapeError, match="at least 32"):
        zoo_vision.bcosify(eca)(torch.rand(1, 6, 16, 16))


def test_recipe_is_the_papers():
    r = BCOSIFICATION_RECIPE
    assert (r.optimiser, r.lr, r.epochs, r.batch_size, r.schedule, r.warmup_epochs) == ("adam", 1e-4, 90, 256,
                                                                                          "cosine", 0.0)
    assert (AGC_CLIP_FACTOR, AGC_EPS) == (0.01, 1e-3)


def test_uniform_off_label_bce():
    logits = torch.randn(2, 4)
    target = torch.tensor([[1.0, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 1.0]])
    torch.testing.assert_close(uniform_off_labels_bce(logits, torch.tensor([0, 3])),
                               F.binary_cross_entropy_with_logits(logits, target))


def test_adaptive_clipping_bounds_each_units_gradient():
    w = nn.Parameter(torch.randn(3, 5))
    w.grad = torch.randn(3, 5) * 100
    w.grad[1] = w.detach()[1] * 1e-4  # small enough: left alone
    small = w.grad[1].clone()
    adaptive_clip_grad_([w])
    limits = w.detach().norm(dim=1).clamp(min=AGC_EPS) * AGC_CLIP_FACTOR
    torch.testing.assert_close(w.grad.norm(dim=1)[[0, 2]], limits[[0, 2]])
    torch.testing.assert_close(w.grad[1], small)


def test_finetune_runs_the_recipe(eca):
    net = zoo_vision.bcosify(eca)
    before = net.classifier.linear.weight.detach().clone()
    torch.manual_seed(1)
    batches = [(torch.rand(4, 3, 32, 32), torch.randint(0, 10, (4,))) for _ in range(3)]
    losses = finetune(net, batches, steps=2)
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert not torch.equal(before, net.classifier.linear.weight)
    with pytest.raises(TrainingError):
        finetune(net, batches, steps=0)


# --------------------------------------------------------------------------------------------
# ViTs (DeiT)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deit():
    torch.manual_seed(0)
    model = build_deit("tiny", num_classes=5, dim=32, heads=2, depth=2, img_size=32).eval()
    with torch.no_grad():  # as a trained model: weights, gains, biases, class token and embedding all of size
        for name, tensor in model.named_parameters():
            if tensor.ndim == 1:
                tensor.uniform_(0.5, 1.5) if "norm" in name else tensor.normal_(0, 0.5)
            else:
                tensor.normal_(0, 1)
    return model


def test_vit_conversion_is_bias_free_bcos_with_detachable_norms_gelu_and_attention(deit):
    before = {k: v.clone() for k, v in deit.state_dict().items()}
    net = zoo_vision.bcosify(deit)
    assert not any(name.endswith("bias") for name, _ in net.named_parameters())
    assert not any(type(m) in (nn.LayerNorm, nn.GELU) for m in net.modules())
    assert sum(isinstance(m, DetachableLayerNorm) and m.bias is None for m in net.modules()) == 2 * 2 + 1
    assert sum(isinstance(m, DetachableGELU) for m in net.modules()) == 2
    attentions = [m for m in net.modules() if isinstance(m, DetachableSelfAttention)]
    assert len(attentions) == 2
    # every linear map is a B=2 B-cos layer but the attention's qkv, a plain bias-free map (the authors' to_qkv)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    wrapped = [m.linear for m in net.modules() if isinstance(m, BcosifyLinear) and m.b == 2]
    assert {id(m) for m in linears} == {id(m) for m in wrapped} | {id(a.qkv) for a in attentions}
    assert len(wrapped) == 2 * 3 + 1 and isinstance(net.classifier, BcosifyLinear)
    assert isinstance(net.body.patch_embed.proj, BcosifyConv2d)
    assert net.body.patch_embed.proj.linear.weight.shape == (32, 6, 16, 16)
    assert net.logit_layer.logit_bias == pytest.approx(-math.log(4))
    assert net.constants == ("cls_token", "pos_embed")
    assert all(torch.equal(before[k], v) for k, v in deit.state_dict().items())  # the original is untouched
    assert type(deit.blocks[0].mlp.act) is nn.GELU and type(deit.norm) is nn.LayerNorm
    # the 6-channel patch embedding sees the original one's (bias-free) response to the normalised image
    x = torch.rand(2, 3, 32, 32)
    n = (x - MEAN[:, None, None]) / STD[:, None, None]
    torch.testing.assert_close(net.body.patch_embed.proj.linear(net.normalize(add_inverse(x))),
                               F.conv2d(n, deit.patch_embed.proj.weight, stride=16), rtol=1e-5, atol=1e-4)
    assert net(add_inverse(x)).shape == (2, 5)


def test_vit_explanation_mode_keeps_the_forward_and_makes_gelu_a_gated_identity(deit):
    net = zoo_vision.bcosify(deit)
    x = add_inverse(torch.rand(2, 3, 32, 48))
    with torch.no_grad():
        plain = net(x)
        with explanation_mode(net):
            detached = net(x)
    torch.testing.assert_close(detached, plain, rtol=1e-4, atol=1e-5)
    gelu = DetachableGELU()
    z = torch.linspace(-3, 3, 13, requires_grad=True)
    torch.testing.assert_close(gelu(z), F.gelu(z))
    with explanation_mode(gelu):
        (grad,) = torch.autograd.grad(gelu(z).sum(), z)
    torch.testing.assert_close(grad, 0.5 * (1 + torch.erf(z.detach() / math.sqrt(2))))  # the gate Φ(z)


@pytest.mark.parametrize("size", [(32, 32), (32, 48)])  # the trained grid, and a resampled embedding
def test_vit_contributions_plus_the_class_token_and_embedding_share_reproduce_the_logit(deit, size):
    net = zoo_vision.bcosify(deit)
    torch.manual_seed(1)
    x = add_inverse(torch.rand(3, 3, *size))
    targets = [0, 1, 2]
    result = dynamic_linear_map(net, x, targets=targets)
    selected = result.logits[torch.arange(3), torch.tensor(targets)] - net.logit_layer.logit_bias
    constants = net.constant_contributions(x, targets)
    assert selected.abs().min() > 1e-2 and constants.abs().max() > 1e-2
    torch.testing.assert_close(result.contributions.sum((1, 2)) + constants, selected, rtol=1e-4, atol=1e-6)
    assert not torch.allclose(result.contributions.sum((1, 2)), selected, rtol=1e-3, atol=0)
    maps = zoo.explain(net, x, method="bcos-contributions", targets=targets).maps
    assert maps.shape == (3, *size) and maps.min() >= 0 and maps.max() <= 1


def test_vit_bad_inputs_raise_zoo_errors(deit):
    from zoo_vision.models.convit import build_convit

    with pytest.raises(ConfigError, match="bcosify supports"):
        zoo_vision.bcosify(build_convit("ti", num_classes=3, img_size=32))
    net = zoo_vision.bcosify(deit)
    with pytest.raises(zoo.errors.InputShapeError):
        net(add_inverse(torch.rand(1, 3, 32, 40)))
    with pytest.raises(InputShapeError, match="targets"):
        net.constant_contributions(add_inverse(torch.rand(2, 3, 32, 32)), [0])
    assert torch.equal(zoo_vision.bcosify(ECAResNet(block="basic", layers=(1, 1, 1, 1), kernel_sizes=(3, 3, 3, 3),
                                                    num_classes=3)).constant_contributions(
        add_inverse(torch.rand(2, 3, 32, 32)), 0), torch.zeros(2))


def test_vit_recipe_is_the_authors_and_finetunes(deit):
    small, big = BCOSIFICATION_VIT_RECIPE, BCOSIFICATION_VIT_BIG_RECIPE
    assert (small.optimiser, small.lr, small.epochs, small.batch_size, small.schedule) == ("adam", 1e-3, 90, 1024,
                                                                                          "cosine")
    # 10k / 50k warm-up steps at 1024 / 512 images a step over ImageNet's 1,281,167 training images
    assert small.warmup_epochs == pytest.approx(10_000 * 1024 / 1_281_167, abs=0.01)
    assert big.batch_size == 512 and big.warmup_epochs == pytest.approx(50_000 * 512 / 1_281_167, abs=0.01)
    net = zoo_vision.bcosify(deit)
    torch.manual_seed(2)
    batches = [(torch.rand(2, 3, 32, 32), torch.randint(0, 5, (2,))) for _ in range(2)]
    losses = finetune(net, batches, steps=2, recipe=small)
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
