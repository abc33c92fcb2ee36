"""LowFormer: sizes (the released counts), the lower-resolution attention's shapes and heads, and the
relation between the fused (released ``fastit``) and unfused forms."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo.registry import get_registry
from zoo_vision.models.lowformer import ConvAttention, FusedMBConv, MBConv, build_lowformer, fold_output_projection
from zoo_vision.models.lowformer_specs import VARIANTS

from ._timm_cnn import meta_count

DATA = Path(__file__).parent / "data"

# the authors' unfused networks (fastit off), counted with their constructors on the meta device
UNFUSED_PARAMS = {"b0": 9_201_848, "b1": 10_757_272, "b15": 20_826_308, "b3": 34_669_320}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_sizes_are_the_released_ones(variant):
    assert meta_count(build_lowformer, variant=variant) == VARIANTS[variant]["num_params"]
    assert meta_count(build_lowformer, variant=variant, fused=False) == UNFUSED_PARAMS[variant]


@pytest.mark.parametrize(("dim", "heads", "head_dim"), [(128, 2, 32), (160, 2, 40), (256, 4, 32), (512, 8, 32)])
def test_attention_heads_follow_the_channel_rule(dim, heads, head_dim):
    with torch.device("meta"):
        attention = ConvAttention(dim, 2, fused=True)
    assert (attention.num_heads, attention.head_dim) == (heads, head_dim)
    assert attention.pwise[0].out_channels == 3 * heads * head_dim
    assert attention.upsampling.in_channels == heads * head_dim and attention.upsampling.groups == 1


@pytest.mark.parametrize(("stride", "size"), [(2, (9, 6)), (2, (8, 8)), (1, (5, 7))])
def test_attention_runs_at_the_lower_resolution_and_returns_the_input_size(stride, size):
    torch.manual_seed(0)
    attention = ConvAttention(64, stride, fused=True).eval()
    x = torch.randn(2, 64, *size)
    seen = {}
    attention.pwise.register_forward_hook(lambda m, i, o: seen.update(qkv=o.shape))
    assert attention(x).shape == x.shape
    reduced = tuple((s + stride - 1) // stride for s in size)
    assert seen["qkv"][-2:] == reduced


def _exercise(module: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.is_floating_point():
                tensor.add_(0.1 * torch.randn(tensor.shape, generator=generator))
                if name.endswith("running_var"):
                    tensor.abs_()
    return module.eval()


@pytest.mark.parametrize("stride", [2, 1])
def test_unfused_output_projection_folds_exactly_into_the_fused_transposed_conv(stride):
    torch.manual_seed(0)
    unfused = _exercise(ConvAttention(96, stride, fused=False))
    with torch.no_grad():
        unfused.o_proj.bias.zero_()
    fused = fold_output_projection(unfused)
    assert isinstance(fused.o_proj, torch.nn.Identity) and fused.upsampling.groups == 1
    x = torch.randn(2, 96, 11, 10)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), unfused(x), rtol=1e-5, atol=1e-5)
    # a fused attention has more freedom: a dense kernel, not a rank-structured one
    assert sum(p.numel() for p in fused.parameters()) > sum(p.numel() for p in unfused.parameters())


def test_fold_refuses_a_projection_bias_it_cannot_represent():
    unfused = _exercise(ConvAttention(96, 2, fused=False))
    with pytest.raises(ConfigError, match="bias"):
        fold_output_projection(unfused)
    with pytest.raises(ConfigError, match="fused already"):
        fold_output_projection(ConvAttention(96, 2, fused=True))


def test_fused_and_unfused_networks_differ_in_their_blocks():
    with torch.device("meta"):
        fused, unfused = build_lowformer("b1"), build_lowformer("b1", fused=False)
    kinds = {m.__class__ for m in fused.modules()}
    assert FusedMBConv in kinds and MBConv in kinds  # MBConvs stay in the 256-channel LowFormer blocks
    assert FusedMBConv not in {m.__class__ for m in unfused.modules()}
    block = fused.backbone.stages[2].op_list[1]
    assert block.total[0][1].main[1].out_channels == 4 * 128  # MLP expansion 4 fused, 2 unfused
    assert unfused.backbone.stages[2].op_list[1].total[0][1].main[1].out_channels == 2 * 128


def test_forward_shapes_and_errors():
    torch.manual_seed(0)
    model = build_lowformer("b0", num_classes=7).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 70, 45)).shape == (1, 7)
    with pytest.raises(InputShapeError):
        model(torch.randn(1, 3, 16, 64))
    with pytest.raises(InputShapeError):
        model(torch.randn(1, 1, 64, 64))
    with pytest.raises(ConfigError, match="unknown variant"):
        build_lowformer("b2")


def test_registered_with_the_authors_recipe():
    spec = get_registry().model("lowformer-b1")
    recipe = spec.recipes[0]
    assert spec.default_config["fused"] is True and spec.explain_layer == "backbone.stages.3"
    assert (recipe.optimiser, recipe.lr, recipe.epochs, recipe.weight_decay, recipe.warmup_epochs) == (
        "adamw", 0.00025, 300, 0.1, 20)
    assert (recipe.label_smoothing, recipe.grad_clip, recipe.ema_decay) == (0.1, 2.0, 0.9998)


def test_grad_cam_through_the_declared_layer():
    torch.manual_seed(0)
    model = zoo.build("lowformer-b0", num_classes=5).eval()
    explanation = zoo.explain(model, torch.rand(2, 3, 64, 64), targets=[1, 3])
    heat = torch.as_tensor(explanation.maps)
    assert heat.shape[0] == 2 and heat.shape[-2:] == (64, 64) and torch.isfinite(heat).all()


@pytest.mark.parametrize(("variant", "gmacs"), [("b0", 0.944), ("b1", 1.41), ("b15", 2.57), ("b3", 6.10)])
def test_macs_at_224_are_the_readmes(variant, gmacs):
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = build_lowformer(variant).eval()
        x = torch.randn(1, 3, 224, 224)
    with FlopCounterMode(display=False) as counter:
        model(x)
    assert round(counter.get_total_flops() / 2 / 1e9, 3 if gmacs < 1 else 2) == gmacs


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("fused", [True, False])
def test_state_dict_is_the_authors(variant, fused):
    """The authors' keys and shapes (tools/parity_biper_lowformer.py --dump-keys): their checkpoints load as
    they are."""
    keys = json.loads(gzip.decompress((DATA / "biper_lowformer_keys.json.gz").read_bytes()))
    with torch.device("meta"):
        ours = {k: list(v.shape) for k, v in build_lowformer(variant, fused=fused).state_dict().items()}
    assert ours == keys[f"lowformer-{variant}{'' if fused else '-unfused'}"]
