"""DeiT: the data-efficient image transformer (a ViT trained on ImageNet-1k alone).

Touvron et al., "Training data-efficient image transformers & distillation through attention",
arXiv:2012.12877 (ICML 2021); authors' code github.com/facebookresearch/deit (``models.py`` builds
timm's ``VisionTransformer``). Module and state-dict names follow timm's ViT, so the authors' and
timm's checkpoints load unchanged.

Input ``[B, in_chans, H, W]`` with H and W multiples of 16 (224 x 224 as trained; other sizes resample
the learned position embedding bicubically, as timm's ``dynamic_img_size``); output logits
``[B, num_classes]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo.errors import ConfigError
from zoo_vision.blocks import DropPath, Mlp, MultiHeadSelfAttention, PatchEmbed
from zoo_vision.models.deit_specs import DEPTH, LN_EPS, MLP_RATIO, PATCH, VARIANTS


class Block(nn.Module):
    """Pre-norm transformer block on tokens ``[B, N, C] -> [B, N, C]``."""

    def __init__(self, dim: int, heads: int, drop_path: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = MultiHeadSelfAttention(dim, heads, qkv_bias=True)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, MLP_RATIO * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class DeiT(nn.Module):
    """DeiT classifier ``[B, in_chans, H, W] -> [B, num_classes]``: 16 x 16 patches embedded linearly,
    a class token prepended, a learned position embedding added, ``depth`` pre-norm blocks, a final
    LayerNorm, and the head on the class token.

    The pieces are also callable one by one (``embed``, ``blocks``, ``forward_head``), which is how
    SN-Net (:mod:`zoo_vision.models.snnet`) runs the front of one DeiT into the tail of another.
    """

    def __init__(self, dim: int, heads: int, depth: int = DEPTH, num_classes: int = 1000, in_chans: int = 3,
                 img_size: int = 224, drop_path: float = 0.0, name: str = "deit"):
        super().__init__()
        if img_size % PATCH:
            raise ConfigError(f"{name}: img_size must be a multiple of {PATCH}, got {img_size}")
        self.zoo_name = name
        self.in_chans = in_chans
        self.embed_dim = dim
        self.grid = (img_size // PATCH, img_size // PATCH)
        self.patch_embed = PatchEmbed(in_chans, dim, PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid[0] * self.grid[1], dim))
        rates = torch.linspace(0, drop_path, depth, device="cpu").tolist()
        self.blocks = nn.ModuleList(Block(dim, heads, rates[i]) for i in range(depth))
        self.norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.head = nn.Linear(dim, num_classes)
        self._init()

    def _init(self) -> None:
        # timm's ViT init, which DeiT trains from: truncated normal 0.02 for the position embedding and
        # every Linear (zero bias), a near-zero class token; convolutions and norms keep torch's defaults.
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def _position_embedding(self, hw: tuple[int, int]) -> torch.Tensor:
        if hw == self.grid:
            return self.pos_embed
        cls_pos, patch_pos = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        grid = patch_pos.reshape(1, *self.grid, -1).permute(0, 3, 1, 2).float()
        grid = F.interpolate(grid, size=hw, mode="bicubic", antialias=True)
        patch_pos = grid.permute(0, 2, 3, 1).reshape(1, hw[0] * hw[1], -1).to(self.pos_embed.dtype)
        return torch.cat([cls_pos, patch_pos], dim=1)

    def check_input(self, x: torch.Tensor) -> None:
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=self.zoo_name,
                         divisible_by={"H": PATCH, "W": PATCH})

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, H, W]`` -> tokens ``[B, 1 + (H/16)·(W/16), dim]`` entering the first block."""
        x = self.patch_embed(x)
        hw = (x.shape[2], x.shape[3])
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x.flatten(2).transpose(1, 2)], dim=1)
        return x + self._position_embedding(hw)

    def forward_head(self, x: torch.Tensor, norm: bool = True) -> torch.Tensor:
        """Tokens out of the last block -> logits, from the class token (after the final norm if ``norm``)."""
        if norm:
            x = self.norm(x)
        return self.head(x[:, 0])

    def block_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The tokens entering the first block, then those out of each block: ``depth + 1`` tensors
        ``[B, N, dim]`` (SN-Net's least-squares initialisation reads them)."""
        self.check_input(x)
        x = self.embed(x)
        features = [x]
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised tokens ``[B, 1 + h·w, dim]`` (class token first)."""
        self.check_input(x)
        x = self.embed(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x)[:, 0])


def build_deit(variant: str = "tiny", num_classes: int = 1000, in_chans: int = 3, img_size: int = 224,
               drop_path: float = 0.1, dim: int | None = None, heads: int | None = None,
               depth: int = DEPTH) -> DeiT:
    """DeiT of size ``variant`` (tiny, small, base); ``dim``/``heads``/``depth`` override it (tiny test
    configurations)."""
    if variant not in VARIANTS:
        raise ConfigError(f"deit: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    v = VARIANTS[variant]
    dim, heads = dim or v["dim"], heads or v["heads"]
    if depth < 1 or dim % heads:
        raise ConfigError(f"deit: need depth >= 1 and dim divisible by heads, got depth={depth}, dim={dim}, "
                          f"heads={heads}")
    return DeiT(dim, heads, depth=depth, num_classes=num_classes, in_chans=in_chans, img_size=img_size,
                drop_path=drop_path, name=f"deit-{variant}")


def from_timm(state_dict: dict) -> dict:
    """timm's / the authors' DeiT checkpoint -> ours: the key names are the same; the authors' files nest
    the weights under ``"model"``."""
    if "model" in state_dict and isinstance(state_dict["model"], dict):
        state_dict = state_dict["model"]
    return dict(state_dict)


def example_input(config: dict) -> torch.Tensor:
    return torch.randn(2, config.get("in_chans", 3), 64, 64)


def bad_input(config: dict) -> torch.Tensor:
    return torch.randn(2, config.get("in_chans", 3), 64, 72)
