"""Vision-LSTM (ViL) block: a matrix-memory LSTM (mLSTM) over the flattened tokens, in plain torch.

mLSTM from Beck et al., "xLSTM: Extended Long Short-Term Memory", arXiv:2405.04517; the ViL block
from Alkin et al., "Vision-LSTM: xLSTM as Generic Vision Backbone", arXiv:2406.04303; used inside
U-Nets by Chen et al., "xLSTM-UNet can be an Effective 2D & 3D Medical Image Segmentation
Backbone with Vision-LSTM (ViL) better than its Mamba Counterpart", arXiv:2407.01530.

The recurrence is evaluated in its parallel, stabilised form (an S x S gated "attention" matrix per
head), so no CUDA kernel is needed; memory grows with S^2, which is why the U-Nets apply ViL at
coarse stages only. Layer structure, widths, gate initialisation and the single top-left row-wise
traversal follow the xLSTM-UNet authors' vendored ``vision_lstm.py``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["HeadwiseLinear", "MultiHeadLayerNorm", "ResidualLayerNorm", "ViLBlock", "ViLLayer",
           "ViLSpatial", "mlstm_parallel", "vil_block_params"]


class ResidualLayerNorm(nn.Module):
    """LayerNorm without bias whose scale is stored as an offset from one (``1 + weight``).

    The offset form is the authors': weight decay then pulls the scale towards 1, not towards 0.
    Input ``[..., dim]``; output the same shape.
    """

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), weight=1.0 + self.weight, eps=self.eps)


class MultiHeadLayerNorm(ResidualLayerNorm):
    """Normalise each head's output separately (a group norm with one group per head).

    Input ``[B, NH, S, DH]``; output ``[B, S, NH * DH]`` (heads concatenated).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, heads, steps, head_dim = x.shape
        flat = x.transpose(1, 2).reshape(batch * steps, heads * head_dim)
        out = F.group_norm(flat, heads, weight=1.0 + self.weight, eps=self.eps)
        return out.view(batch, steps, heads * head_dim)


class HeadwiseLinear(nn.Module):
    """Block-diagonal linear map: ``dim`` features split into blocks of ``block`` mixed within a block.

    Input and output ``[..., dim]``; ``dim * block`` parameters, no bias (as in ViL).
    """

    def __init__(self, dim: int, block: int):
        super().__init__()
        self.block = block
        self.weight = nn.Parameter(torch.empty(dim // block, block, block))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blocks = x.unflatten(-1, (-1, self.block))
        return torch.einsum("...hi,hoi->...ho", blocks, self.weight).flatten(-2)


def mlstm_parallel(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, igate: torch.Tensor, fgate: torch.Tensor,
                   eps: float = 1e-6) -> torch.Tensor:
    """The mLSTM recurrence over a whole sequence at once, stabilised row by row.

    ``q, k, v``: ``[B, NH, S, DH]``; ``igate, fgate``: gate pre-activations ``[B, NH, S]``.
    Returns the hidden states ``[B, NH, S, DH]``. Step t attends to steps s <= t with weight
    ``exp(i_s + sum_{s<r<=t} log sigmoid(f_r))``; subtracting each row's maximum log weight keeps
    ``exp`` in range, and the normaliser ``max(|row sum|, exp(-max))`` is the stabilised
    equivalent of the recurrent form's ``max(|n_t . q_t|, 1)``.
    """
    steps = q.shape[-2]
    log_f = F.logsigmoid(fgate).cumsum(-1)  # [B, NH, S]: log prod of forget gates up to t
    causal = torch.ones(steps, steps, dtype=torch.bool, device=q.device).tril()
    log_decay = log_f.unsqueeze(-1) - log_f.unsqueeze(-2) + igate.unsqueeze(-2)  # [B, NH, S(t), S(s)]
    log_decay = log_decay.masked_fill(~causal, float("-inf"))
    row_max = log_decay.amax(-1, keepdim=True)
    decay = torch.exp(log_decay - row_max)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1]) * decay
    normaliser = torch.maximum(scores.sum(-1, keepdim=True).abs(), torch.exp(-row_max))
    return (scores / (normaliser + eps)) @ v


class ViLLayer(nn.Module):
    """The mLSTM mixer of a ViL block. Input and output ``[B, S, dim]`` (S tokens in scan order).

    Up-projection to 2 x ``expansion * dim`` (an mLSTM branch and a gate branch), causal depthwise
    conv (kernel 4) + SiLU on the mLSTM branch, block-diagonal q/k (from the conv output) and v
    (from the pre-conv branch), the mLSTM cell with ``qkv_block`` heads and per-head norm, a
    learnable skip from the conv branch, SiLU gating and a down-projection. ``qkv_block`` falls
    back from 4 to 2 when ``dim`` is not divisible by 4, as in the authors' code.
    """

    def __init__(self, dim: int, expansion: int = 2, qkv_block: int = 4, conv_kernel: int = 4):
        super().__init__()
        if dim % qkv_block:
            qkv_block = 2
        inner = expansion * dim
        self.dim, self.heads, self.conv_kernel = dim, qkv_block, conv_kernel
        self.proj_up = nn.Linear(dim, 2 * inner, bias=False)
        self.q_proj = HeadwiseLinear(inner, qkv_block)
        self.k_proj = HeadwiseLinear(inner, qkv_block)
        self.v_proj = HeadwiseLinear(inner, qkv_block)
        self.conv1d = nn.Conv1d(inner, inner, conv_kernel, padding=conv_kernel - 1, groups=inner, bias=True)
        self.igate = nn.Linear(3 * inner, qkv_block)
        self.fgate = nn.Linear(3 * inner, qkv_block)
        self.outnorm = MultiHeadLayerNorm(inner)
        self.learnable_skip = nn.Parameter(torch.ones(inner))
        self.proj_down = nn.Linear(inner, dim, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        small = math.sqrt(2 / (5 * self.dim))  # "small init" (Nguyen & Salazar), on the model width
        nn.init.normal_(self.proj_up.weight, std=small)
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.normal_(proj.weight, std=small)
        nn.init.normal_(self.proj_down.weight, std=2 / math.sqrt(self.dim))  # Wang init, one block
        self.conv1d.reset_parameters()
        # Forget gates start almost open (bias 3..6) so early training keeps long-range memory.
        nn.init.zeros_(self.fgate.weight)
        with torch.no_grad():
            self.fgate.bias.copy_(torch.linspace(3.0, 6.0, self.heads))
        nn.init.zeros_(self.igate.weight)
        nn.init.normal_(self.igate.bias, std=0.1)
        nn.init.zeros_(self.outnorm.weight)
        nn.init.ones_(self.learnable_skip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, _ = x.shape
        x_mlstm, z = self.proj_up(x).chunk(2, dim=-1)
        conv = self.conv1d(x_mlstm.transpose(1, 2))[..., :steps].transpose(1, 2)  # keep it causal
        conv = F.silu(conv)
        q, k, v = self.q_proj(conv), self.k_proj(conv), self.v_proj(x_mlstm)
        gates_in = torch.cat([q, k, v], dim=-1)
        igate = self.igate(gates_in).transpose(1, 2)  # [B, NH, S]
        fgate = self.fgate(gates_in).transpose(1, 2)
        heads = [t.view(batch, steps, self.heads, -1).transpose(1, 2) for t in (q, k, v)]
        h = self.outnorm(mlstm_parallel(*heads, igate, fgate))
        h = (h + self.learnable_skip * conv) * F.silu(z)
        return self.proj_down(h)


class ViLBlock(nn.Module):
    """Pre-norm residual ViL block: ``x + ViLLayer(LayerNorm(x))``. Input and output ``[B, S, dim]``."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = ResidualLayerNorm(dim)
        self.layer = ViLLayer(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layer(self.norm(x))


class ViLSpatial(nn.Module):
    """A ViL block on a feature map ``[B, C, *spatial]``, returning the same shape.

    ``channel_token=False``: the voxels are the tokens (row-major from the top-left), ``dim = C``.
    ``channel_token=True``: the channels are the tokens and each one's flattened map is its
    feature vector, ``dim = prod(spatial)`` - the xLSTM-UNet encoder's choice for stages whose
    map has no more positions than channels; it ties the block to one spatial size.
    Always runs in float32 (the authors disable autocast: the exp-gates overflow in half precision).
    """

    def __init__(self, dim: int, channel_token: bool = False):
        super().__init__()
        self.dim, self.channel_token = dim, channel_token
        self.vil = ViLBlock(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = x.float()
            if self.channel_token:
                out = self.vil(x.flatten(2)).view_as(x)
            else:
                out = self.vil(x.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(x.shape)
        return out.to(dtype)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, channel_token={self.channel_token}"


def vil_block_params(dim: int) -> int:
    """Closed-form parameter count of one ViL block (``6 d^2 + 87 d + 8`` when 4 divides d)."""
    heads = 4 if dim % 4 == 0 else 2
    inner = 2 * dim
    return (dim  # block norm
            + dim * 2 * inner + 3 * inner * heads + inner * 4 + inner  # up, q/k/v, conv
            + 2 * (3 * inner * heads + heads) + inner + inner + inner * dim)  # gates, norm, skip, down
