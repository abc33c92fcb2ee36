"""E-3DSNN: spiking 3-D recognition with Spike Voxel Coding and Spike Sparse Convolution.

Qiu, Yao, Zhang, Chou, Qiao, Zhou, Xu, Li, "Efficient 3D Recognition with Event-driven Spike
Sparse Convolution", AAAI 2025, arXiv:2412.07360 (code: github.com/bollossom/E-3DSNN).

Structure (re-implemented from the paper and the authors' ``SNN_3dv`` / ``E_3DSNN_seg``):

* Spike Voxel Coding (stem): three 3x3x3 submanifold convs ``in -> E -> E -> E``, each followed by
  BatchNorm1d over the active voxels; integer spikes between them, none before the first (it sees
  the real-valued point features).
* Per stage: spike -> 2x2x2 stride-2 sparse conv -> BN, then ``depth`` basic blocks. A basic block
  adds its convolutions to the real-valued "membrane" stream (MS-ResNet style):
  ``h = x + BN(SubM(S(x)))``, ``out = h + BN(SubM(S(BN(SubM(S(h))))))``.
* Classification head: a 1x1x1 submanifold conv with bias on the *non-spiked* last-stage features,
  then the per-voxel logits are averaged over each cloud's voxels.
* Segmentation (U-Net): per level, spike -> inverse sparse conv (reusing the encoder's rulebook)
  -> BN, plus a spiking MLP fusing the skip features; a 1x1x1 head gives per-voxel logits.

Spikes are the integer "multispike" of :class:`zoo_spiking.blocks.MultiSpike` (0..4). BatchNorm
uses ``eps=1e-3, momentum=0.01`` (PyTorch convention) as in the authors' code.

Input (classification and segmentation alike), one call for a batch of clouds of any sizes:
``coords`` ``[N, 3]`` integer voxel coordinates (non-negative), ``feats`` ``[N, in_channels]``
float, ``batch`` ``[N]`` integer cloud index in ``0..B-1`` (optional for a single cloud). Build it
from raw points with :func:`zoo_spiking.data.voxelize` and :func:`zoo_spiking.data.collate`.
Output: ``[B, num_classes]`` logits (classifier) or ``[N, num_classes]`` per-voxel logits (seg).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import torch
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_spiking.blocks.neurons import MultiSpike
from zoo_spiking.blocks.sparse_conv import (
    MAX_BATCH,
    MAX_COORD,
    SparseConv3d,
    SparseInverseConv3d,
    SparseSequential,
    SparseTensor,
    SubMConv3d,
    encode_coords,
)
from zoo_spiking.models.e3dsnn_specs import VARIANTS

_T, _SEG = VARIANTS["t"], VARIANTS["seg"]

_norm = partial(nn.BatchNorm1d, eps=1e-3, momentum=0.01)


class BasicBlock(nn.Module):
    """Three submanifold convs with two residual sums on the membrane stream; ``[N, C] -> [N, C]``."""

    def __init__(self, channels: int, indice_key: str):
        super().__init__()
        self.block = SparseSequential(MultiSpike(), SubMConv3d(channels, channels, 3, indice_key=indice_key),
                                      _norm(channels))
        self.voxel_block = SparseSequential(
            MultiSpike(), SubMConv3d(channels, channels, 3, indice_key=indice_key), _norm(channels),
            MultiSpike(), SubMConv3d(channels, channels, 3, indice_key=indice_key), _norm(channels),
        )

    def forward(self, x: SparseTensor) -> SparseTensor:
        h = x.replace(self.block(x).feats + x.feats)
        return h.replace(self.voxel_block(h).feats + h.feats)


class DownBlock(nn.Module):
    """Spike -> 2x2x2 stride-2 sparse conv -> BN, then ``depth`` :class:`BasicBlock` s."""

    def __init__(self, in_channels: int, channels: int, depth: int, stage: int):
        super().__init__()
        self.down = SparseSequential(
            MultiSpike(), SparseConv3d(in_channels, channels, kernel_size=2, stride=2, indice_key=f"spconv{stage}"),
            _norm(channels),
        )
        self.blocks = nn.ModuleList(BasicBlock(channels, indice_key=f"subm{stage + 1}") for _ in range(depth))

    def forward(self, x: SparseTensor) -> SparseTensor:
        x = self.down(x)
        for block in self.blocks:
            x = block(x)
        return x


class UpBlock(nn.Module):
    """Decoder level: spike -> inverse sparse conv -> BN, plus a spiking MLP over [up, skip]."""

    def __init__(self, in_channels: int, skip_channels: int, channels: int, stage: int):
        super().__init__()
        self.up = SparseSequential(
            MultiSpike(), SparseInverseConv3d(in_channels, channels, kernel_size=2, indice_key=f"spconv{stage}"),
            _norm(channels),
        )
        self.fuse = nn.Sequential(
            MultiSpike(), nn.Linear(skip_channels + channels, channels), _norm(channels),
            MultiSpike(), nn.Linear(channels, channels), _norm(channels),
        )

    def forward(self, x: SparseTensor, skip: SparseTensor) -> SparseTensor:
        x = self.up(x)
        return x.replace(self.fuse(torch.cat([x.feats, skip.feats], dim=1)) + x.feats)


def _voxel_indices(model: str, in_channels: int, coords, feats, batch) -> tuple[torch.Tensor, int]:
    """Check a batch of voxelised clouds and return ``([N, 4] (batch, x, y, z) indices, batch size)``."""
    n = zoo.expect_shape(coords, "N 3", name="coords", model=model, dtype="int",
                         min_value=0, max_value=MAX_COORD - 1)["N"]
    zoo.expect_shape(feats, "N C", name="feats", model=model, N=n, C=in_channels, dtype="float")
    if n == 0:
        raise InputShapeError(f"{model}: the input has no active voxels (coords is [0, 3])")
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=coords.device)
    zoo.expect_shape(batch, "N", name="batch", model=model, N=n, dtype="int", min_value=0, max_value=MAX_BATCH - 1)
    batch = batch.long()
    batch_size = int(batch.max()) + 1
    empty = torch.nonzero(torch.bincount(batch, minlength=batch_size) == 0).flatten().tolist()
    if empty:
        raise InputShapeError(f"{model}: batch indices must cover 0..{batch_size - 1}; clouds {empty} have no voxels")
    indices = torch.cat([batch[:, None], coords.long()], 1)
    if torch.unique(encode_coords(indices)).numel() != n:
        raise InputShapeError(f"{model}: some voxels appear twice in one cloud; keep one point per voxel "
                              "(zoo_spiking.data.voxelize does)")
    return indices, batch_size


def _stem(in_channels: int, embed_channels: int) -> SparseSequential:
    e = embed_channels
    return SparseSequential(
        SubMConv3d(in_channels, e, 3, indice_key="stem"), _norm(e), MultiSpike(),
        SubMConv3d(e, e, 3, indice_key="stem"), _norm(e), MultiSpike(),
        SubMConv3d(e, e, 3, indice_key="stem"), _norm(e),
    )


class _SpikingReport:
    """Per-layer spike statistics of the last forward (the paper derives energy from them)."""

    def spike_rates(self) -> dict[str, float]:
        """Mean spike count / 4 of every spiking layer in the last forward, by module name."""
        return {name: m.firing_rate for name, m in self.named_modules()
                if isinstance(m, MultiSpike) and m.firing_rate is not None}


class E3DSNN(nn.Module, _SpikingReport):
    """E-3DSNN classifier (the authors' ``SNN_3dv`` backbone and its voxel-averaged head).

    ``forward(coords [N, 3] int, feats [N, in_channels], batch [N] int | None) -> logits [B, num_classes]``.

    After a forward: ``active_sites`` (active voxels per stage), ``spike_rates()`` (per spiking
    layer) and ``feature_index`` (``[N]``: for every input voxel, the row of the last stage's
    output, ``enc[-1]``, that it falls in). ``enc[-1]`` is the default explainer target: through
    :func:`sparse_points` the explainers see its ``[N_last, C]`` real-valued features, and a map
    with one value per last-stage site maps back to input voxels as ``values[model.feature_index]``.
    """

    def __init__(self, in_channels: int = 6, num_classes: int = 40, embed_channels: int = _T["embed_channels"],
                 enc_channels: Sequence[int] = tuple(_T["enc_channels"]),
                 enc_depth: Sequence[int] = tuple(_T["enc_depth"])):
        super().__init__()
        if len(enc_channels) != len(enc_depth):
            raise ConfigError(f"enc_channels {list(enc_channels)} and enc_depth {list(enc_depth)} differ in length")
        self.in_channels, self.num_classes = in_channels, num_classes
        self.stem = _stem(in_channels, embed_channels)
        self.enc = nn.ModuleList(
            DownBlock(embed_channels if i == 0 else enc_channels[i - 1], c, d, stage=i)
            for i, (c, d) in enumerate(zip(enc_channels, enc_depth))
        )
        self.final = SubMConv3d(enc_channels[-1], num_classes, kernel_size=1, bias=True)
        self.active_sites: dict[str, int] = {}
        self.feature_index: torch.Tensor | None = None

    def forward(self, coords: torch.Tensor, feats: torch.Tensor, batch: torch.Tensor | None = None) -> torch.Tensor:
        indices, batch_size = _voxel_indices("E-3DSNN", self.in_channels, coords, feats, batch)
        x = self.stem(SparseTensor(feats, indices, batch_size))
        self.active_sites = {"input": len(indices)}
        index = torch.arange(len(indices), device=indices.device)
        for i, stage in enumerate(self.enc):
            x = stage(x)
            index = _parent_rows(x.rulebooks[f"spconv{i}"])[index]
            self.active_sites[f"enc.{i}"] = len(x.coords)
        self.feature_index = index
        x = self.final(x)
        sums = x.feats.new_zeros(batch_size, self.num_classes).index_add_(0, x.batch_index, x.feats)
        counts = torch.bincount(x.batch_index, minlength=batch_size).to(sums.dtype)
        return sums / counts[:, None]


class E3DSNNSeg(nn.Module, _SpikingReport):
    """E-3DSNN U-Net for semantic segmentation (the authors' ``E_3DSNN_seg``).

    ``forward(coords [N, 3] int, feats [N, in_channels], batch [N] int | None) -> logits [N, num_classes]``,
    one row per input voxel in input order. The default explainer target ``dec.0`` outputs
    ``[N, dec_channels[0]]`` on the input voxels, so its maps are already per input voxel.

    ``spatial_margin``: the authors give spconv a grid of ``max(coords) + 1`` voxels per axis (over
    the batch); spconv halves it as ``(size - 2) // 2 + 1``, so where a size is odd the voxels on
    the last plane lose their parent and the features they would carry (their output rows then
    come from the skip path only). 1 reproduces that (the authors' outputs); ``None`` drops nothing.
    (The classifier's margin, 96, never drops anything with four stages.)
    """

    def __init__(self, in_channels: int = 4, num_classes: int = 19, embed_channels: int = _SEG["embed_channels"],
                 enc_channels: Sequence[int] = tuple(_SEG["enc_channels"]),
                 enc_depth: Sequence[int] = tuple(_SEG["enc_depth"]),
                 dec_channels: Sequence[int] = tuple(_SEG["dec_channels"]), spatial_margin: int | None = 1):
        super().__init__()
        if not len(enc_channels) == len(enc_depth) == len(dec_channels):
            raise ConfigError("enc_channels, enc_depth and dec_channels must have the same length")
        self.in_channels, self.num_classes = in_channels, num_classes
        n = len(enc_channels)
        self.stem = _stem(in_channels, embed_channels)
        self.enc = nn.ModuleList(
            DownBlock(embed_channels if i == 0 else enc_channels[i - 1], c, d, stage=i)
            for i, (c, d) in enumerate(zip(enc_channels, enc_depth))
        )
        self.dec = nn.ModuleList(
            UpBlock(enc_channels[-1] if i == n - 1 else dec_channels[i + 1],
                    embed_channels if i == 0 else enc_channels[i - 1], dec_channels[i], stage=i)
            for i in range(n)
        )
        self.final = SubMConv3d(dec_channels[0], num_classes, kernel_size=1, bias=True)
        self.spatial_margin = spatial_margin
        self.active_sites: dict[str, int] = {}

    def forward(self, coords: torch.Tensor, feats: torch.Tensor, batch: torch.Tensor | None = None) -> torch.Tensor:
        indices, batch_size = _voxel_indices("E-3DSNN-seg", self.in_channels, coords, feats, batch)
        shape = None
        if self.spatial_margin is not None:
            shape = tuple((indices[:, 1:].max(0).values + self.spatial_margin).tolist())
        x = self.stem(SparseTensor(feats, indices, batch_size, spatial_shape=shape))
        self.active_sites = {"input": len(indices)}
        skips = [x]
        for i, stage in enumerate(self.enc):
            x = stage(x)
            self.active_sites[f"enc.{i}"] = len(x.coords)
            skips.append(x)
        x = skips.pop()
        for i in reversed(range(len(self.dec))):
            x = self.dec[i](x, skips.pop())
        return self.final(x).feats


def build_e3dsnn(variant: str = "t", **config) -> E3DSNN | E3DSNNSeg:
    """An E-3DSNN of a size in :data:`~zoo_spiking.models.e3dsnn_specs.VARIANTS` (``"t"``, ``"s"``, ``"m"``,
    ``"l"``: classifiers; ``"seg"``: the U-Net); ``config`` overrides its hyper-parameters."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown E-3DSNN variant {variant!r}; choose one of {sorted(VARIANTS)}")
    config = {**VARIANTS[variant], **config}
    return E3DSNNSeg(**config) if "dec_channels" in config else E3DSNN(**config)


def _parent_rows(rulebook) -> torch.Tensor:
    """For a strided rulebook, the output row of every input row."""
    parent = torch.empty(len(rulebook.in_coords), dtype=torch.long, device=rulebook.in_coords.device)
    for pair in rulebook.pairs:
        parent[pair[0]] = pair[1]
    return parent


def sparse_points(x: SparseTensor):
    """Explainer view of a sparse layer output: its ``[N, C]`` features, cloud index and input-grid coords."""
    from zoo.explainers.framework import Points

    return Points(x.feats, x.batch_index, x.coords[:, 1:] * x.stride)


# --- example inputs for the conformance kit ---------------------------------------------------------


def example_input(config: Mapping) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two voxelised clouds of different sizes (a sphere and a torus), batched: (coords, feats, batch)."""
    from zoo_spiking.data.shapes import sample_shape
    from zoo_spiking.data.voxel import collate, voxelize

    in_channels = config.get("in_channels", 6)
    g = torch.Generator().manual_seed(0)
    samples = []
    for shape, n in (("sphere", 600), ("torus", 900)):
        points, normals = sample_shape(shape, n, generator=g)
        coords, feats = voxelize(points, normals, grid_size=0.02, generator=g)
        if in_channels != 6:  # e.g. the SemanticKITTI layout: xyz + reflectance strength
            feats = torch.cat([feats[:, :3], torch.rand(len(feats), in_channels - 3, generator=g)], 1)
        samples.append((coords, feats))
    return collate(samples)


def bad_input(config: Mapping) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The example input with one feature channel too few: must raise InputShapeError."""
    coords, feats, batch = example_input(config)
    return coords, feats[:, :-1], batch


# --- the authors' checkpoints -----------------------------------------------------------------------

def convert_e3dsnn_checkpoint(checkpoint: Mapping[str, torch.Tensor],
                              spconv_layout: str = "2.x") -> dict[str, torch.Tensor]:
    """Map a checkpoint of the authors' Pointcept code to our state dict.

    * unwraps ``{"state_dict": ...}`` / ``{"model": ...}`` and strips the ``module.`` (DDP) and
      ``backbone.`` (Pointcept ``DefaultClassifier``/``DefaultSegmentor``) prefixes; the module
      names below that are the authors' (``stem.0``, ``enc.i.down.1``, ``enc.i.blocks.j.voxel_block.4``,
      ``dec.i.fuse.1``, ``final`` ...), which ours follow on purpose;
    * sparse-conv weights, ours ``[kx, ky, kz, C_in, C_out]``: spconv 2.x stores ``[C_out, kx, ky, kz, C_in]``
      and convolves with it in that layout (permuted here), except for kernel-1 convs (the ``final``
      heads), which it computes as ``feats @ W.view(C_in, C_out)`` on the stored tensor: those are
      reshaped, not permuted. spconv 1.x stored ``[kx, ky, kz, C_in, C_out]`` (kept). Pointcept orders
      the voxel indices (batch, x, y, z), so the kernel axes are already in our x, y, z order.

    Checked against spconv 2.3.8's own forward, layer by layer and for whole models, in
    ``tests/test_spconv_parity.py``.
    """
    if spconv_layout not in ("2.x", "1.x"):
        raise ConfigError(f"spconv_layout must be '2.x' or '1.x', got {spconv_layout!r}")
    for wrapper in ("state_dict", "model"):
        if wrapper in checkpoint and isinstance(checkpoint[wrapper], Mapping):
            checkpoint = checkpoint[wrapper]
    out: dict[str, torch.Tensor] = {}
    for key, value in checkpoint.items():
        name = key
        for prefix in ("module.", "backbone."):
            if name.startswith(prefix):
                name = name[len(prefix):]
        if name.rsplit(".", 1)[-1] == "weight" and value.dim() == 5 and spconv_layout == "2.x":
            c_out, *kernel, c_in = value.shape
            if kernel == [1, 1, 1]:
                value = value.reshape(1, 1, 1, c_in, c_out)
            else:
                value = value.permute(1, 2, 3, 4, 0).contiguous()
        out[name] = value
    return out
