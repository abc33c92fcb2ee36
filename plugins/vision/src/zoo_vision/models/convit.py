"""ConViT: a vision transformer with gated positional self-attention (GPSA).

d'Ascoli et al., "ConViT: Improving Vision Transformers with Soft Convolutional Inductive Biases",
arXiv:2103.10697 (ICML 2021); authors' code github.com/facebookresearch/convit. Layer structure,
locality init and state-dict key names follow the authors' code and timm's ``convit`` port.

Input ``[B, in_chans, H, W]`` with H and W multiples of 16 (224 x 224 in the paper; other sizes
resize the learned position embedding bicubically); output logits ``[B, num_classes]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_vision.blocks import DropPath, Mlp, PatchEmbed
from zoo_vision.models.convit_specs import DEPTH, LOCAL_UP_TO_LAYER, PATCH, VARIANTS

LN_EPS = 1e-6


def relative_positions(h: int, w: int, device=None, dtype=None) -> torch.Tensor:
    """``[h·w, h·w, 3]``: for query token i and key token j (row-major on an h x w grid) the offsets
    (Δx, Δy, Δx² + Δy²) of j relative to i, the features GPSA's positional attention reads."""
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    xs, ys = xs.flatten(), ys.flatten()
    dx = xs[None, :] - xs[:, None]
    dy = ys[None, :] - ys[:, None]
    return torch.stack([dx, dy, dx * dx + dy * dy], dim=-1).to(device=device, dtype=dtype)


class GPSA(nn.Module):
    """Gated positional self-attention (paper §3, eq. 5) on patch tokens ``[B, h·w, C]``.

    Each head mixes content attention ``softmax(q·k / sqrt(d))`` and positional attention
    ``softmax(v_pos · r_ij)`` with the gate ``σ(λ_h)``, then renormalises the rows.
    """

    def __init__(self, dim: int, heads: int, locality_strength: float = 1.0):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.locality_strength = locality_strength
        self.qk = nn.Linear(dim, 2 * dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.proj = nn.Linear(dim, dim)
        self.pos_proj = nn.Linear(3, heads)
        self.gating_param = nn.Parameter(torch.ones(heads))
        self._rel: torch.Tensor | None = None  # cache of relative_positions, rebuilt when the grid changes

    @torch.no_grad()
    def local_init(self) -> None:
        """The paper's locality init: v = identity; head (h1, h2) of a √H x √H grid attends around the
        offset (h1 - c, h2 - c) with strength α (``locality_strength``)."""
        self.v.weight.copy_(torch.eye(self.v.weight.shape[0]))
        side = math.isqrt(self.heads)
        center = (side - 1) / 2 if side % 2 == 0 else side // 2
        weight = self.pos_proj.weight
        for h1 in range(side):
            for h2 in range(side):
                head = h1 + side * h2
                weight[head, 0] = 2 * (h2 - center)
                weight[head, 1] = 2 * (h1 - center)
                weight[head, 2] = -1
        weight.mul_(self.locality_strength)

    def _positions(self, hw: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
        n = hw[0] * hw[1]
        rel = self._rel
        if rel is None or rel.shape[0] != n or rel.device != like.device or rel.dtype != like.dtype:
            rel = self._rel = relative_positions(*hw, device=like.device, dtype=like.dtype)
        return rel

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        b, n, c = x.shape
        q, k = self.qk(x).reshape(b, n, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        content = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        position = self.pos_proj(self._positions(hw, x)).permute(2, 0, 1).softmax(dim=-1)
        gate = torch.sigmoid(self.gating_param).view(1, -1, 1, 1)
        attn = (1.0 - gate) * content + gate * position
        attn = attn / attn.sum(dim=-1, keepdim=True)
        v = self.v(x).reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class MHSA(nn.Module):
    """Plain multi-head self-attention (the last blocks, which also see the class token)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, gpsa: bool, drop_path: float, locality_strength: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = GPSA(dim, heads, locality_strength) if gpsa else MHSA(dim, heads)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), hw))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class ConViT(nn.Module):
    """ConViT classifier ``[B, in_chans, H, W] -> [B, num_classes]``: patch embedding + learned position
    embedding, ``local_up_to_layer`` GPSA blocks on the patches, then the class token joins for the
    remaining MHSA blocks; the head reads the normalised class token."""

    def __init__(self, dim: int, heads: int, num_classes: int = 1000, in_chans: int = 3, img_size: int = 224,
                 drop_path: float = 0.0, locality_strength: float = 1.0, name: str = "convit"):
        super().__init__()
        if math.isqrt(heads) ** 2 != heads:
            raise ConfigError(f"{name}: the locality init needs a square number of heads, got {heads}")
        self.zoo_name = name
        self.in_chans = in_chans
        self.grid = (img_size // PATCH, img_size // PATCH)
        self.patch_embed = PatchEmbed(in_chans, dim, PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], dim))
        rates = torch.linspace(0, drop_path, DEPTH, device="cpu").tolist()
        self.blocks = nn.ModuleList(
            Block(dim, heads, i < LOCAL_UP_TO_LAYER, rates[i], locality_strength) for i in range(DEPTH)
        )
        self.norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.head = nn.Linear(dim, num_classes)
        self._init()

    def _init(self) -> None:
        for p in (self.pos_embed, self.cls_token):
            nn.init.trunc_normal_(p, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, GPSA):
                m.local_init()

    def _position_embedding(self, hw: tuple[int, int]) -> torch.Tensor:
        if hw == self.grid:
            return self.pos_embed
        grid = self.pos_embed.reshape(1, *self.grid, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=hw, mode="bicubic", align_corners=False)
        return grid.flatten(2).transpose(1, 2)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised tokens ``[B, 1 + h·w, dim]`` (class token first)."""
        zoo.expect_shape(x, "B C H W", C=self.in_chans, dtype="float", model=self.zoo_name)
        if x.shape[-1] % PATCH or x.shape[-2] % PATCH:
            raise InputShapeError(
                f"{self.zoo_name}: height and width must be multiples of {PATCH}, got {list(x.shape)}")
        x = self.patch_embed(x)
        hw = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2) + self._position_embedding(hw)
        for i, block in enumerate(self.blocks):
            if i == LOCAL_UP_TO_LAYER:
                x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
            x = block(x, hw)
        return self.norm(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x)[:, 0])


def build_convit(variant: str = "ti", num_classes: int = 1000, in_chans: int = 3, img_size: int = 224,
                 drop_path: float = 0.1, locality_strength: float = 1.0) -> ConViT:
    """ConViT of size ``variant`` (ti, ti-plus, s, s-plus, b, b-plus)."""
    if variant not in VARIANTS:
        raise ConfigError(f"convit: unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    v = VARIANTS[variant]
    return ConViT(v["heads"] * v["head_dim"], v["heads"], num_classes=num_classes, in_chans=in_chans,
                  img_size=img_size, drop_path=drop_path, locality_strength=locality_strength,
                  name=f"convit-{variant}")


def from_timm(state_dict: dict) -> dict:
    """timm's / the authors' ConViT checkpoint -> ours: the key names are the same; the authors' files
    may nest the weights under ``"model"`` and carry cached relative-position tables, which we drop."""
    if "model" in state_dict and isinstance(state_dict["model"], dict):
        state_dict = state_dict["model"]
    return {k: v for k, v in state_dict.items() if not k.endswith("rel_indices")}


def example_input(config: dict) -> torch.Tensor:
    return torch.randn(2, config.get("in_chans", 3), 64, 64)


def bad_input(config: dict) -> torch.Tensor:
    return torch.randn(2, config.get("in_chans", 3), 64, 72)
