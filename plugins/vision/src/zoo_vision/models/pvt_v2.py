"""PVT v2: the Pyramid Vision Transformer with overlapping patch embeddings and convolutional feed-forwards.

Wang et al., "PVT v2: Improved Baselines with Pyramid Vision Transformer", arXiv:2106.13797; the
layer structure, hyper-parameters and state-dict key names follow timm's ``pvt_v2`` (itself a port
of the authors' code at github.com/whai362/PVT), so timm's checkpoints load without conversion.

Input ``[B, in_chans, H, W]`` (224 x 224 in the paper; any size divisible by 32); output logits
``[B, num_classes]``. Four stages at strides 4, 8, 16, 32; the classifier reads the mean of the
last stage's tokens.
"""

from __future__ import annotations

import torch
from torch import nn

import zoo
from zoo.errors import ConfigError
from zoo_vision.blocks import ConvMlp, DropPath, SpatialReductionAttention
from zoo_vision.models.pvt_v2_specs import HEADS, SR_RATIOS, VARIANTS

LN_EPS = 1e-6  # the blocks' and stages' norms; the embedding and SRA norms keep torch's 1e-5


class OverlapPatchEmbed(nn.Module):
    """``k x k`` conv with stride ``s`` and padding ``k // 2``, then LayerNorm: ``[B, C, H, W] -> [B, H', W', D]``."""

    def __init__(self, in_chans: int, dim: int, kernel: int, stride: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class Block(nn.Module):
    """Pre-norm transformer block: SRA and the depthwise-conv feed-forward, each with a residual."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, sr_ratio: int, linear: bool, drop_path: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = SpatialReductionAttention(dim, heads, sr_ratio, linear=linear)
        self.drop_path1 = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio), extra_relu=linear)
        self.drop_path2 = DropPath(drop_path)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        x = x + self.drop_path1(self.attn(self.norm1(x), hw))
        return x + self.drop_path2(self.mlp(self.norm2(x), hw))


class Stage(nn.Module):
    """(3 x 3 stride-2 overlapping embedding, except in stage 1) -> blocks -> LayerNorm; ``[B, C, H, W]`` out."""

    def __init__(self, in_dim: int, dim: int, depth: int, heads: int, mlp_ratio: float, sr_ratio: int,
                 linear: bool, drop_paths: list[float], downsample: bool):
        super().__init__()
        self.downsample = OverlapPatchEmbed(in_dim, dim, 3, 2) if downsample else None
        self.blocks = nn.ModuleList(
            Block(dim, heads, mlp_ratio, sr_ratio, linear, drop_paths[i]) for i in range(depth)
        )
        self.norm = nn.LayerNorm(dim, eps=LN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        b, h, w, c = x.shape
        x = x.reshape(b, h * w, c)
        for block in self.blocks:
            x = block(x, (h, w))
        # contiguous NCHW: the next stage's 3x3 conv ran ~15% slower on the permuted (channels-last) view
        return self.norm(x).reshape(b, h, w, c).permute(0, 3, 1, 2).contiguous()


class PyramidVisionTransformerV2(nn.Module):
    """PVT v2 classifier: ``[B, in_chans, H, W] -> [B, num_classes]``."""

    def __init__(self, dims, depths, mlp_ratios, linear: bool, num_classes: int = 1000, in_chans: int = 3,
                 drop_path: float = 0.0, name: str = "pvt-v2"):
        super().__init__()
        self.zoo_name = name
        self.in_chans = in_chans
        self.patch_embed = OverlapPatchEmbed(in_chans, dims[0], 7, 4)
        rates = torch.linspace(0, drop_path, sum(depths), device="cpu").tolist()
        stages, start = [], 0
        for i, depth in enumerate(depths):
            stages.append(Stage(dims[i - 1] if i else dims[0], dims[i], depth, HEADS[i], mlp_ratios[i],
                                SR_RATIOS[i], linear, rates[start:start + depth], downsample=i > 0))
            start += depth
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(dims[-1], num_classes)
        self.apply(_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=self.zoo_name)
        return self.head(self.stages(self.patch_embed(x)).mean(dim=(2, 3)))


def _init(module: nn.Module) -> None:
    # The authors' init: truncated-normal linears, He-style (fan-out) convs.
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
        nn.init.normal_(module.weight, 0.0, (2.0 / fan_out) ** 0.5)
        nn.init.zeros_(module.bias)


def build_pvt_v2(variant: str = "b0", num_classes: int = 1000, in_chans: int = 3,
                 drop_path: float = 0.1) -> PyramidVisionTransformerV2:
    """PVT v2 of size ``variant`` (b0, b1, b2, b2-li, b3, b4, b5)."""
    if variant not in VARIANTS:
        raise ConfigError(f"pvt-v2: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    v = VARIANTS[variant]
    return PyramidVisionTransformerV2(v["dims"], v["depths"], v["mlp_ratios"], v["linear"], num_classes=num_classes,
                                      in_chans=in_chans, drop_path=drop_path, name=f"pvt-v2-{variant}")


def example_input(config: dict) -> torch.Tensor:
    return torch.randn(2, config.get("in_chans", 3), 64, 64)


def bad_input(config: dict) -> torch.Tensor:
    return torch.randn(2, config.get("in_chans", 3) + 1, 64, 64)
