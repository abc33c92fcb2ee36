"""Meta-SpikeFormer (Spike-driven Transformer V2).

Yao, Hu, Hu, Zhao, Zhou, Tian, Xu, Li, "Spike-driven Transformer V2: Meta Spiking Neural Network
Architecture Inspiring the Design of Next-generation Neuromorphic Chips", ICLR 2024,
arXiv:2404.03663 (code: github.com/BICLab/Spike-Driven-Transformer-V2).

Four stages on a ``[T, B, C, H, W]`` spike stream (convs and BatchNorm run on ``T * B`` images):

* Conv-based stages 1-2: 7x7/2 then 3x3/2 down-sampling, each followed by ``MS_ConvBlock`` s
  (a separable-conv token mixer and a 3x3 "channel conv" MLP, both residual), then 3x3/2 and two
  more blocks. The first conv sees analog pixels; every later conv is preceded by a LIF neuron.
* Transformer stages 3-4: 3x3/2 (stage 3) and 3x3/1 (stage 4) down-sampling, then 6 and 2
  ``MS_Block`` s with spike-driven self-attention (SDSA): binary Q, K, V from RepConv branches,
  linear attention ``Q (K^T V) * 0.125`` per head with no softmax, a LIF with threshold 0.5, and a
  RepConv projection; plus a 1x1 spiking MLP.
* Head: spatial mean, LIF, Linear, mean over the T time steps: ``head(lif(x))``, as in the authors'
  code since commit d95ad13 (2024-03-25), the code their released checkpoints go with. The optional
  distillation head ``head_kd`` reads the same spikes. ``spiking_head=False`` gives the earlier form
  ``head(x)`` on the real-valued pooled features (the authors' code before d95ad13).

All neurons are multi-step LIF (tau 2, hard reset, detached reset, sigmoid surrogate), with state
kept inside ``forward``: the model never needs ``reset_net`` between samples. ``neuron="spikingjelly"``
puts spikingjelly's ``LIFNode`` (multi-step, same parameters) in their place, with equal outputs;
the model then resets them itself at the start of every forward.

The 15M widths ``[64, 128, 256, 360]`` are not defined by a constructor of the authors' repository
(it has 8_384, 8_512 and 8_768): they are the paper's 15.1M model as community copies of the code
define it (``metaspikformer_8_256``, commented "15M parameters"); with the authors' class they
give exactly 15,112,208 parameters, the paper's 15.1M.

Input ``[B, C, H, W]`` images, repeated over ``T`` time steps (direct encoding), or ``[B, T, C, H, W]``
frames (e.g. event frames); output ``[B, num_classes]``. Module names and shapes follow the
authors' code, so their checkpoints load after :func:`convert_spikeformer_checkpoint` unwraps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_spiking.blocks.neurons import MultiStepLIF
from zoo_spiking.models.spikeformer_specs import VARIANTS


def _per_step(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply an image layer to ``[T, B, ...]`` by folding time into the batch (BN over T*B)."""
    y = module(x.flatten(0, 1))
    return y.reshape(x.shape[0], x.shape[1], *y.shape[1:])


class BNAndPad(nn.Module):
    """BatchNorm2d, then a 1-pixel border filled with the BN's response to a zero input.

    The border value ``beta - mean * gamma / sqrt(var + eps)`` always uses the running statistics
    (also in training), which lets the following padding-free 3x3 conv be re-parameterised exactly.
    """

    def __init__(self, channels: int, pad: int = 1):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(x)
        bn = self.bn
        value = (bn.bias.detach() - bn.running_mean * bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps))
        p = self.pad
        out = value.view(1, -1, 1, 1).expand(y.shape[0], -1, y.shape[2] + 2 * p, y.shape[3] + 2 * p).clone()
        out[:, :, p:-p, p:-p] = y
        return out


class RepConv(nn.Module):
    """1x1 conv -> BN-and-pad -> depthwise 3x3 (no padding) -> 1x1 conv -> BN (re-parameterisable to one 3x3)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, 1, bias=False),
            BNAndPad(in_channels),
            nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, groups=in_channels, bias=False),
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
            ),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SepConv(nn.Module):
    """Spiking inverted separable conv: LIF, 1x1 (C->2C), BN, LIF, depthwise 7x7, 1x1 (2C->C), BN."""

    def __init__(self, dim: int, expansion: int = 2, kernel_size: int = 7):
        super().__init__()
        hidden = expansion * dim
        self.lif1 = MultiStepLIF()
        self.pwconv1 = nn.Conv2d(dim, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.lif2 = MultiStepLIF()
        self.dwconv = nn.Conv2d(hidden, hidden, kernel_size, padding=kernel_size // 2, groups=hidden, bias=False)
        self.pwconv2 = nn.Conv2d(hidden, dim, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _per_step(lambda y: self.bn1(self.pwconv1(y)), self.lif1(x))
        return _per_step(lambda y: self.bn2(self.pwconv2(self.dwconv(y))), self.lif2(x))


class MS_ConvBlock(nn.Module):
    """Conv-based meta block: ``x + SepConv(x)``, then ``+ BN(conv3x3(LIF(BN(conv3x3(LIF(.))))))`` (C->4C->C)."""

    def __init__(self, dim: int, mlp_ratio: int = 4):
        super().__init__()
        self.Conv = SepConv(dim)
        self.lif1 = MultiStepLIF()
        self.conv1 = nn.Conv2d(dim, dim * mlp_ratio, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(dim * mlp_ratio)
        self.lif2 = MultiStepLIF()
        self.conv2 = nn.Conv2d(dim * mlp_ratio, dim, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.Conv(x)
        y = _per_step(lambda z: self.bn1(self.conv1(z)), self.lif1(x))
        return x + _per_step(lambda z: self.bn2(self.conv2(z)), self.lif2(y))


class MS_MLP(nn.Module):
    """Spiking channel MLP on tokens: LIF, 1x1 Conv1d (C->hidden, bias), BN1d, LIF, Conv1d (hidden->C), BN1d."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1_conv = nn.Conv1d(dim, hidden, 1)
        self.fc1_bn = nn.BatchNorm1d(hidden)
        self.fc1_lif = MultiStepLIF()
        self.fc2_conv = nn.Conv1d(hidden, dim, 1)
        self.fc2_bn = nn.BatchNorm1d(dim)
        self.fc2_lif = MultiStepLIF()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b, c, h, w = x.shape
        x = x.flatten(3)
        x = _per_step(lambda y: self.fc1_bn(self.fc1_conv(y)), self.fc1_lif(x))
        x = _per_step(lambda y: self.fc2_bn(self.fc2_conv(y)), self.fc2_lif(x))
        return x.reshape(t, b, c, h, w)


class MS_Attention_RepConv_qkv_id(nn.Module):
    """Spike-driven self-attention (SDSA-3): linear attention on binary Q, K, V; ``[T, B, C, H, W]`` in and out."""

    def __init__(self, dim: int, num_heads: int = 8):
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"embedding dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.scale = 0.125  # fixed in the authors' code, whatever the head dimension
        self.head_lif = MultiStepLIF()
        self.q_conv = nn.Sequential(RepConv(dim, dim), nn.BatchNorm2d(dim))
        self.k_conv = nn.Sequential(RepConv(dim, dim), nn.BatchNorm2d(dim))
        self.v_conv = nn.Sequential(RepConv(dim, dim), nn.BatchNorm2d(dim))
        self.q_lif = MultiStepLIF()
        self.k_lif = MultiStepLIF()
        self.v_lif = MultiStepLIF()
        self.attn_lif = MultiStepLIF(v_threshold=0.5)
        self.proj_conv = nn.Sequential(RepConv(dim, dim), nn.BatchNorm2d(dim))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        t, b, c, h, w = x.shape
        return x.flatten(3).transpose(-1, -2).reshape(t, b, h * w, self.num_heads, c // self.num_heads).transpose(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b, c, h, w = x.shape
        x = self.head_lif(x)
        q = self._heads(self.q_lif(_per_step(self.q_conv, x)))
        k = self._heads(self.k_lif(_per_step(self.k_conv, x)))
        v = self._heads(self.v_lif(_per_step(self.v_conv, x)))
        # K^T V first: O(N d^2) instead of O(N^2 d); spikes make it additions only on chip
        y = (q @ (k.transpose(-2, -1) @ v)) * self.scale
        y = y.transpose(3, 4).reshape(t, b, c, h, w)
        return _per_step(self.proj_conv, self.attn_lif(y))


class MS_Block(nn.Module):
    """Transformer-based meta block: ``x + SDSA(x)``, then ``x + MLP(x)``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.attn = MS_Attention_RepConv_qkv_id(dim, num_heads)
        self.mlp = MS_MLP(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        return x + self.mlp(x)


class MS_DownSampling(nn.Module):
    """[LIF ->] conv (with bias) -> BN; the first one has no LIF (it encodes analog pixels)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 2,
                 padding: int = 1, first_layer: bool = False):
        super().__init__()
        self.encode_conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self.encode_bn = nn.BatchNorm2d(out_channels)
        self.encode_lif = None if first_layer else MultiStepLIF()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.encode_lif is not None:
            x = self.encode_lif(x)
        return _per_step(lambda y: self.encode_bn(self.encode_conv(y)), x)


class MetaSpikeFormer(nn.Module):
    """Meta-SpikeFormer classifier: ``[B, C, H, W]`` (or ``[B, T, C, H, W]``) -> ``[B, num_classes]``.

    ``T`` time steps (the paper trains with T=1, then fine-tunes at T=4). ``embed_dim`` gives the
    four stage widths; the first conv stage runs at ``embed_dim[0] // 2``.
    """

    def __init__(self, embed_dim: Sequence[int] = tuple(VARIANTS["15m"]["embed_dim"]), num_heads: int = 8,
                 in_channels: int = 3, num_classes: int = 1000, T: int = 1, mlp_ratio: int = 4, kd: bool = False,
                 spiking_head: bool = True, neuron: str = "zoo"):
        super().__init__()
        if neuron not in ("zoo", "spikingjelly"):
            raise ConfigError(f"neuron must be 'zoo' or 'spikingjelly', got {neuron!r}")
        if len(embed_dim) != 4:
            raise ConfigError(f"embed_dim must give 4 stage widths, got {list(embed_dim)}")
        if T < 1:
            raise ConfigError(f"T (time steps) must be >= 1, got {T}")
        e0, e1, e2, e3 = embed_dim
        self.in_channels, self.num_classes, self.T, self.kd = in_channels, num_classes, T, kd
        self.spiking_head, self.neuron = spiking_head, neuron
        self.downsample1_1 = MS_DownSampling(in_channels, e0 // 2, 7, 2, 3, first_layer=True)
        self.ConvBlock1_1 = nn.ModuleList([MS_ConvBlock(e0 // 2, mlp_ratio)])
        self.downsample1_2 = MS_DownSampling(e0 // 2, e0)
        self.ConvBlock1_2 = nn.ModuleList([MS_ConvBlock(e0, mlp_ratio)])
        self.downsample2 = MS_DownSampling(e0, e1)
        self.ConvBlock2_1 = nn.ModuleList([MS_ConvBlock(e1, mlp_ratio)])
        self.ConvBlock2_2 = nn.ModuleList([MS_ConvBlock(e1, mlp_ratio)])
        self.downsample3 = MS_DownSampling(e1, e2)
        self.block3 = nn.ModuleList(MS_Block(e2, num_heads, mlp_ratio) for _ in range(6))
        self.downsample4 = MS_DownSampling(e2, e3, stride=1)
        self.block4 = nn.ModuleList(MS_Block(e3, num_heads, mlp_ratio) for _ in range(2))
        self.lif = MultiStepLIF()
        self.head = nn.Linear(e3, num_classes)
        self.head_kd = nn.Linear(e3, num_classes) if kd else None
        self.apply(_init_linear)
        if neuron == "spikingjelly":
            use_spikingjelly_neurons(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H, W]`` -> ``[T, B, embed_dim[3], H / 16, W / 16]``."""
        x = self.downsample1_1(x)
        for stage in (self.ConvBlock1_1, [self.downsample1_2], self.ConvBlock1_2, [self.downsample2],
                      self.ConvBlock2_1, self.ConvBlock2_2, [self.downsample3], self.block3,
                      [self.downsample4], self.block4):
            for layer in stage:
                x = layer(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if getattr(x, "ndim", None) == 5:
            zoo.expect_shape(x, "B T C H W", model="Meta-SpikeFormer", T=self.T, C=self.in_channels)
            x = x.transpose(0, 1)
        else:
            zoo.expect_shape(x, "B C H W", model="Meta-SpikeFormer", C=self.in_channels)
            x = x.unsqueeze(0).expand(self.T, *x.shape)
        if min(x.shape[-2:]) < 16:
            raise InputShapeError(f"Meta-SpikeFormer: images must be at least 16x16 (4 stride-2 stages), got "
                                  f"{list(x.shape[-2:])}")
        if self.neuron == "spikingjelly":
            from spikingjelly.activation_based import functional

            functional.reset_net(self)
        pooled = self.forward_features(x).flatten(3).mean(3)
        spikes = self.lif(pooled)
        logits = self.head(spikes if self.spiking_head else pooled).mean(0)
        if self.head_kd is None:
            return logits
        logits_kd = self.head_kd(spikes).mean(0)
        return (logits, logits_kd) if self.training else (logits + logits_kd) / 2

    def spike_rates(self) -> dict[str, float]:
        """Fraction of neurons firing per time step, per LIF layer, in the last forward."""
        return {name: m.firing_rate for name, m in self.named_modules()
                if getattr(m, "firing_rate", None) is not None}


def use_spikingjelly_neurons(model: nn.Module) -> nn.Module:
    """Replace every :class:`MultiStepLIF` of ``model`` by spikingjelly's multi-step ``LIFNode``, in place.

    Same neuron (tau, threshold, hard reset to 0, detached reset, sigmoid surrogate with the same
    alpha), so outputs and gradients are equal; spikingjelly picks its own kernel for the device
    (torch on the CPU, its fused kernels on CUDA). Its neurons are stateful: call
    ``functional.reset_net`` between samples (``MetaSpikeFormer`` does it at the start of ``forward``).
    """
    from spikingjelly.activation_based import neuron, surrogate

    for name, module in list(model.named_modules()):
        if isinstance(module, MultiStepLIF):
            node = neuron.LIFNode(tau=module.tau, v_threshold=module.v_threshold, v_reset=0.0, detach_reset=True,
                                  surrogate_function=surrogate.Sigmoid(alpha=module.alpha), step_mode="m")
            node.register_forward_hook(_record_firing_rate)
            model.set_submodule(name, node)
    return model


def _record_firing_rate(module: nn.Module, inputs, output: torch.Tensor) -> None:
    module.firing_rate = float(output.detach().mean()) if output.numel() else None


def convert_spikeformer_checkpoint(checkpoint: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a checkpoint of the authors' ``main_finetune.py`` (``{"model": state_dict, "optimizer": ...}``)
    to our state dict: unwraps ``model`` / ``state_dict`` and strips a ``module.`` (DDP) prefix.

    Their module names and shapes are ours, so no key is renamed. The released ``55M_kd.pth`` and
    ``55M_kd_T4.pth`` hold a distillation head: load them into ``kd=True`` (and ``T=4``) models,
    whose eval output is the mean of both heads, as in the authors' evaluation.
    """
    for wrapper in ("model", "state_dict"):
        if wrapper in checkpoint and isinstance(checkpoint[wrapper], Mapping):
            checkpoint = checkpoint[wrapper]
    return {key.removeprefix("module."): value for key, value in checkpoint.items()}


def build_spikeformer(variant: str = "15m", **config) -> MetaSpikeFormer:
    """A Meta-SpikeFormer of a size in :data:`~zoo_spiking.models.spikeformer_specs.VARIANTS` (``"15m"``,
    ``"31m"``, ``"55m"``); ``config`` overrides its hyper-parameters."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown Meta-SpikeFormer variant {variant!r}; choose one of {sorted(VARIANTS)}")
    return MetaSpikeFormer(**{**VARIANTS[variant], **config})


def _init_linear(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        nn.init.zeros_(m.bias)


def example_input(config: Mapping) -> torch.Tensor:
    """Two 32x32 images ``[2, C, 32, 32]`` (the architecture accepts any size >= 16)."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, config.get("in_channels", 3), 32, 32, generator=g)


def bad_input(config: Mapping) -> torch.Tensor:
    """A single-channel image for a 3-channel model: must raise InputShapeError."""
    return torch.zeros(2, config.get("in_channels", 3) + 1, 32, 32)

