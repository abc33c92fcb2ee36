"""B-cos Simple ViTs and ViT-Cs: plain ViTs of B-cos linear layers whose attention is a dynamic linear map.

Böhle, Singh, Fritz & Schiele, "B-cos Alignment for Inherently Interpretable CNNs and Vision
Transformers", TPAMI 2024, arXiv:2306.10898; code github.com/B-cos/B-cos-v2 (``bcos/models/vit.py``,
``experiments/ImageNet/vit_final``); Simple ViT: Beyer, Zhai & Kolesnikov, "Better plain ViT
baselines for ImageNet-1k", arXiv:2205.01580; ViT-C's conv stem: Xiao et al., "Early Convolutions
Help Transformers See Better", arXiv:2106.14881. Sizes in :mod:`zoo_vision.models.bcos_vit_specs`.

Input ``[B, in_chans, H, W]``, by default ``[r, g, b, 1-r, 1-g, 1-b]`` in [0, 1], H and W multiples
of the patch size times the stem's stride (16 for every registered size; 224 in the paper); output
logits ``[B, num_classes]``. The model is the authors' ``BcosSequential(SimpleViT, LogitLayer)``:
module ``0`` is the network, ``1`` the logit bias, so their checkpoints' keys fit.
The fixed sin-cos positional embedding is an input-independent term:
``logit − logit_bias = Σ W(x)·x + Σ (∂logit/∂pe)·pe`` in explanation mode.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping

import torch
from torch import Tensor, nn

import zoo
from zoo.errors import ConfigError
from zoo_vision.blocks.bcos import (
    BcosConv2d,
    BcosLinear,
    DetachableGroupNorm2d,
    DetachableLayerNorm,
    DetachableModule,
    LogitLayer,
    add_inverse,
)
from zoo_vision.models.bcos_vit_specs import VARIANTS


class PatchRearrange(nn.Module):
    """``[B, C, H, W] -> [B, H/p, W/p, p·p·C]``, pixels ordered ``(p1 p2 c)`` as the authors'."""

    def __init__(self, patch_size: int):
        super().__init__()
        self.patch_size = patch_size

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        p = self.patch_size
        return x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, h // p, w // p, p * p * c)


class PosEmbSinCos2d(nn.Module):
    """The fixed 2-D sin-cos embedding of a ``[B, h, w, D]`` patch grid: ``[h·w, D]`` (temperature 1e4,
    D split in four: sin/cos of the column, sin/cos of the row)."""

    def __init__(self, temperature: float = 10_000):
        super().__init__()
        self.temperature = temperature

    def forward(self, patches: Tensor) -> Tensor:
        h, w, dim = patches.shape[-3:]
        y, x = torch.meshgrid(torch.arange(h, device=patches.device), torch.arange(w, device=patches.device),
                              indexing="ij")
        omega = torch.arange(dim // 4, device=patches.device) / (dim // 4 - 1)
        omega = 1.0 / (self.temperature**omega)
        y = y.flatten()[:, None] * omega[None, :]
        x = x.flatten()[:, None] * omega[None, :]
        return torch.cat((x.sin(), x.cos(), y.sin(), y.cos()), dim=1).type(patches.dtype)


class Attention(DetachableModule):
    """Pre-norm multi-head attention: ``to_qkv`` a plain bias-free linear map, ``to_out`` B-cos; in
    explanation mode q and k are detached, so the attention matrix is a dynamic weight on v."""

    def __init__(self, dim: int, heads: int, dim_head: int, linear):
        super().__init__()
        self.heads, self.scale = heads, dim_head**-0.5
        self.norm = DetachableLayerNorm(dim)
        self.attend = nn.Softmax(dim=-1)
        self.to_qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.to_out = linear(heads * dim_head, dim)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm(x)
        b, n, _ = x.shape
        q, k, v = (t.reshape(b, n, self.heads, -1).transpose(1, 2) for t in self.to_qkv(x).chunk(3, dim=-1))
        if self.detach:
            q, k = q.detach(), k.detach()
        attn = self.attend(torch.matmul(q, k.transpose(-1, -2)) * self.scale)  # explicit, as the authors'
        return self.to_out(torch.matmul(attn, v).transpose(1, 2).reshape(b, n, -1))


class Encoder(nn.Module):
    """``x + attn(x)``, then ``x + ff(x)`` with ``ff`` = norm -> B-cos linear -> (no activation) -> B-cos linear."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, linear):
        super().__init__()
        self.attn = Attention(dim, heads, dim // heads, linear)
        self.ff = nn.Module()
        self.ff.net = nn.Sequential(OrderedDict(norm=DetachableLayerNorm(dim), linear1=linear(dim, mlp_dim),
                                                act=nn.Identity(), linear2=linear(mlp_dim, dim)))

    def forward(self, x: Tensor) -> Tensor:
        x = self.attn(x) + x
        return self.ff.net(x) + x


class SimpleViT(nn.Module):
    """The network without the logit bias: ``[B, C, H, W] -> [B, num_classes]``."""

    def __init__(self, *, dim: int, depth: int, heads: int, mlp_dim: int, num_classes: int, patch_size: int,
                 in_chans: int, b: float, conv_stem: list[int] | None = None):
        super().__init__()

        def linear(cin: int, cout: int) -> BcosLinear:
            return BcosLinear(cin, cout, b=b)

        stem = {}
        if conv_stem:  # ViT-C: 3x3 B-cos conv, GN layer norm, (no activation); stride 2 where the width grows
            layers, cin = [], in_chans
            for cout in conv_stem:
                layers += [BcosConv2d(cin, cout, 3, 2 if cout > cin else 1, 1, b=b), DetachableGroupNorm2d(cout),
                           nn.Identity()]
                cin = cout
            stem = {"conv_stem": nn.Sequential(*layers)}
        patch_dim = (conv_stem[-1] if conv_stem else in_chans) * patch_size**2
        self.to_patch_embedding = nn.Sequential(OrderedDict(
            **stem, rearrage=PatchRearrange(patch_size), linear=linear(patch_dim, dim)))  # sic: their key
        self.positional_embedding = PosEmbSinCos2d()
        self.transformer = nn.Sequential(OrderedDict(
            (f"encoder_{i}", Encoder(dim, heads, mlp_dim, linear)) for i in range(depth)))
        self.to_latent = nn.Identity()
        self.linear_head = nn.Sequential(OrderedDict(norm=DetachableLayerNorm(dim), linear=linear(dim, num_classes)))

    def forward(self, img: Tensor) -> Tensor:
        x = self.to_patch_embedding(img)
        x = x.flatten(1, 2) + self.positional_embedding(x)
        x = self.transformer(x).mean(dim=1)
        return self.linear_head(self.to_latent(x))


class BcosSimpleViT(nn.Sequential):
    """``SimpleViT`` then ``LogitLayer``; see the module docstring for shapes."""

    def __init__(self, *, variant: str, num_classes: int = 1000, in_chans: int = 6, patch_size: int | None = None,
                 b: float = 2.0, logit_bias: float | None = None):
        hp = {k: v for k, v in VARIANTS[variant].items() if k not in ("num_params", "top1")}
        hp["patch_size"] = patch_size or hp["patch_size"]
        if num_classes < 2:
            raise ConfigError(f"bcos-simple-vit: num_classes must be at least 2, got {num_classes}")
        super().__init__(
            SimpleViT(**hp, num_classes=num_classes, in_chans=in_chans, b=b),
            LogitLayer(None, math.log(1 / (num_classes - 1)) if logit_bias is None else logit_bias))
        self.in_chans = in_chans
        self.patch_size = hp["patch_size"] * 2 ** sum(  # the stem's stride-2 convs
            c_out > c_in for c_in, c_out in zip([in_chans, *hp.get("conv_stem", [])], hp.get("conv_stem", [])))

    def forward(self, x: Tensor) -> Tensor:
        name = getattr(self, "zoo_name", "bcos-simple-vit")
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=name,
                         divisible_by={"H": self.patch_size, "W": self.patch_size})
        return super().forward(x)


def build_bcos_vit(variant: str = "simple-vit-s", num_classes: int = 1000, in_chans: int = 6,
                   patch_size: int | None = None, b: float = 2.0, logit_bias: float | None = None) -> BcosSimpleViT:
    """A B-cos Simple ViT ("simple-vit-{ti,s,b,l}", patch 16) or ViT-C ("vitc-{ti,s,b,l}", conv stem and
    patch 1); ``patch_size`` None: the variant's."""
    if variant not in VARIANTS:
        raise ConfigError(f"bcos-simple-vit: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    return BcosSimpleViT(variant=variant, num_classes=num_classes, in_chans=in_chans, patch_size=patch_size, b=b,
                         logit_bias=logit_bias)


def example_input(config: Mapping) -> Tensor:
    """A [0, 1] image encoded as ``[x, 1 - x]``: ``[1, 6, 32, 32]`` (four 16-pixel patches)."""
    side = 32
    channels = config.get("in_chans", 6)
    image = torch.rand(1, channels // 2 if channels % 2 == 0 else channels, side, side)
    return add_inverse(image) if channels % 2 == 0 else image
