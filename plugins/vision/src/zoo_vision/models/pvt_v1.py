"""PVT v1: the Pyramid Vision Transformer.

Wang et al., "Pyramid Vision Transformer: A Versatile Backbone for Dense Prediction without
Convolutions", arXiv:2102.12122 (ICCV 2021). Layer structure, hyper-parameters and state-dict key
names (``patch_embed1``, ``pos_embed1``, ``block1`` ...) follow the authors' classification code
(github.com/whai362/PVT, ``classification/pvt.py``), so their checkpoints load as they are.

Input ``[B, in_chans, H, W]`` with H and W multiples of 32 (224 x 224 in the paper; other sizes
resize each stage's position embedding bilinearly, as the authors do); output ``[B, num_classes]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.blocks import DropPath, Mlp, SpatialReductionAttention
from zoo_vision.models.pvt_v1_specs import DIMS, HEADS, MLP_RATIOS, SR_RATIOS, VARIANTS

LN_EPS = 1e-6  # blocks and the final norm; the patch-embedding and SRA norms keep torch's 1e-5


class PatchEmbed(nn.Module):
    """Non-overlapping ``p x p`` patches (conv with stride p) + LayerNorm: ``[B, C, H, W] -> [B, N, D]``."""

    def __init__(self, in_chans: int, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        x = self.proj(x)
        return self.norm(x.flatten(2).transpose(1, 2)), (x.shape[2], x.shape[3])


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int, sr_ratio: int, drop_path: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = SpatialReductionAttention(dim, heads, sr_ratio)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), hw))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PyramidVisionTransformer(nn.Module):
    """PVT v1 classifier ``[B, in_chans, H, W] -> [B, num_classes]``: four stages (patch 4, then 2),
    a learned position embedding per stage, the class token only in stage 4, the head on it."""

    def __init__(self, depths, num_classes: int = 1000, in_chans: int = 3, img_size: int = 224,
                 drop_path: float = 0.0, name: str = "pvt-v1"):
        super().__init__()
        self.zoo_name = name
        self.in_chans = in_chans
        rates = torch.linspace(0, drop_path, sum(depths), device="cpu").tolist()
        self.grids, start = [], 0
        for i, depth in enumerate(depths):
            stride = 4 * 2 ** i
            grid = (img_size // stride, img_size // stride)
            self.grids.append(grid)
            tokens = grid[0] * grid[1] + (1 if i == 3 else 0)
            setattr(self, f"patch_embed{i + 1}", PatchEmbed(in_chans if i == 0 else DIMS[i - 1], DIMS[i],
                                                            4 if i == 0 else 2))
            setattr(self, f"pos_embed{i + 1}", nn.Parameter(torch.zeros(1, tokens, DIMS[i])))
            setattr(self, f"block{i + 1}", nn.ModuleList(
                Block(DIMS[i], HEADS[i], MLP_RATIOS[i], SR_RATIOS[i], rates[start + j]) for j in range(depth)))
            start += depth
        self.norm = nn.LayerNorm(DIMS[3], eps=LN_EPS)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, DIMS[3]))
        self.head = nn.Linear(DIMS[3], num_classes)
        self._init()

    def _init(self) -> None:
        for i in range(4):
            nn.init.trunc_normal_(getattr(self, f"pos_embed{i + 1}"), std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    @staticmethod
    def _resized(pos: torch.Tensor, grid: tuple[int, int], hw: tuple[int, int]) -> torch.Tensor:
        # Resized only when the grid differs from the one the embedding was made for (the authors
        # compare every stage with stage 1's count and so always resize later stages; an identity
        # resize at the training size, skipped here).
        if hw == grid:
            return pos
        pos = pos.reshape(1, *grid, -1).permute(0, 3, 1, 2)
        return F.interpolate(pos, size=hw, mode="bilinear").flatten(2).transpose(1, 2)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised stage-4 tokens ``[B, 1 + h·w, 512]`` (class token first)."""
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=self.zoo_name)
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise InputShapeError(f"{self.zoo_name}: height and width must be multiples of 32, got {list(x.shape)}")
        b = x.shape[0]
        for i in range(4):
            x, hw = getattr(self, f"patch_embed{i + 1}")(x)
            pos = getattr(self, f"pos_embed{i + 1}")
            if i == 3:
                x = torch.cat([self.cls_token.expand(b, -1, -1), x], dim=1)
                x = x + torch.cat([pos[:, :1], self._resized(pos[:, 1:], self.grids[i], hw)], dim=1)
            else:
                x = x + self._resized(pos, self.grids[i], hw)
            for block in getattr(self, f"block{i + 1}"):
                x = block(x, hw)
            if i < 3:
                x = x.transpose(1, 2).reshape(b, -1, *hw)
        return self.norm(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x)[:, 0])


def build_pvt_v1(variant: str = "tiny", num_classes: int = 1000, in_chans: int = 3, img_size: int = 224,
                 drop_path: float = 0.1) -> PyramidVisionTransformer:
    """PVT v1 of size ``variant`` (tiny, small, medium, large)."""
    if variant not in VARIANTS:
        raise ConfigError(f"pvt-v1: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    return PyramidVisionTransformer(VARIANTS[variant]["depths"], num_classes=num_classes, in_chans=in_chans,
                                    img_size=img_size, drop_path=drop_path, name=f"pvt-v1-{variant}")


def example_input(config: dict) -> torch.Tensor:
    return torch.randn(2, config.get("in_chans", 3), 64, 64)


def bad_input(config: dict) -> torch.Tensor:
    return torch.randn(2, config.get("in_chans", 3), 64, 80)
