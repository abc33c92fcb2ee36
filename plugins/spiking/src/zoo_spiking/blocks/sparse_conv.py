"""Sparse 3-D convolution in plain torch: gather -> GEMM -> scatter over a rulebook.

A point cloud voxelised at 0.01 fills well under 1 % of its bounding grid, so a dense
``conv3d`` spends almost all of its work on zeros. Here only active voxels are stored
(``SparseTensor``: features ``[N, C]`` and integer coordinates ``[N, 4]`` = batch, x, y, z) and a
convolution is computed from a *rulebook*: for every kernel offset ``k`` the list of
(input row, output row) pairs that the offset connects. The convolution is then, per offset,
``out[out_rows] += feats[in_rows] @ W[k]`` -- work and memory proportional to the number of pairs,
never to the grid volume.

Three kinds of convolution, with the semantics of spconv 2.x as used by E-3DSNN (Qiu et al.,
arXiv:2412.07360):

* :class:`SubMConv3d` (submanifold): output sites = input sites; an output gathers only from
  active neighbours. Equal to a dense ``conv3d(padding=k // 2)`` read at the active sites.
* :class:`SparseConv3d` with ``kernel_size == stride`` (the "k2 s2 p0" down-sampling): each input
  voxel feeds exactly one parent ``floor(c / s)`` through offset ``c mod s``. Equal to a dense
  strided ``conv3d`` read at the parents of active voxels.
* :class:`SparseInverseConv3d`: the transpose of a :class:`SparseConv3d`, reusing its rulebook
  and restoring its input sites (the U-Net decoder). Equal to ``conv_transpose3d`` read at those sites.

Rulebooks are cached on the tensor under an ``indice_key``, so every submanifold conv of a stage
(which shares the same sites) reuses one rulebook, as spconv does.

Weights are stored as ``[k, k, k, C_in, C_out]`` with the three kernel axes in the order of the
coordinate axes (x, y, z): ``W[i, j, l]`` multiplies the input at offset ``(i, j, l) - k // 2``.
spconv 2.x stores ``[C_out, k, k, k, C_in]``; see :func:`zoo_spiking.models.e3dsnn.convert_e3dsnn_checkpoint`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn

# Coordinates are packed into one int64 key: 9 bits of batch index, 18 bits per spatial axis.
_AXIS_BITS = 18
_AXIS_RANGE = 1 << _AXIS_BITS
_PAD = 8  # room for negative neighbour offsets without borrowing from the next axis
MAX_COORD = _AXIS_RANGE - 2 * _PAD
MAX_BATCH = 1 << (63 - 3 * _AXIS_BITS)


def encode_coords(coords: torch.Tensor) -> torch.Tensor:
    """One int64 key per ``[batch, x, y, z]`` row; keys sort like the rows (batch, then x, y, z)."""
    c = coords.to(torch.int64)
    key = c[:, 0]
    for axis in (1, 2, 3):
        key = key * _AXIS_RANGE + (c[:, axis] + _PAD)
    return key


def _decode(keys: torch.Tensor) -> torch.Tensor:
    axes = []
    for _ in range(3):
        axes.append(keys % _AXIS_RANGE - _PAD)
        keys = torch.div(keys, _AXIS_RANGE, rounding_mode="floor")
    return torch.stack([keys, axes[2], axes[1], axes[0]], 1)


def _offset_delta(offset: tuple[int, int, int]) -> int:
    dx, dy, dz = offset
    return (dx * _AXIS_RANGE + dy) * _AXIS_RANGE + dz


def kernel_offsets(kernel_size: int, centred: bool) -> list[tuple[int, int, int]]:
    """Kernel offsets in weight order (x slowest, z fastest); centred for submanifold kernels."""
    shift = kernel_size // 2 if centred else 0
    r = range(kernel_size)
    return [(i - shift, j - shift, k - shift) for i in r for j in r for k in r]


@dataclass
class Rulebook:
    """Per kernel offset, the (input rows, output rows) it connects, and the output coordinates.

    ``pairs[k]`` is ``None`` for the identity offset of a submanifold kernel (every row to itself),
    which is computed as one dense matrix product without any gather.
    """

    pairs: list[tuple[torch.Tensor, torch.Tensor] | None]
    out_coords: torch.Tensor
    in_coords: torch.Tensor
    in_shape: tuple[int, ...] | None = None  # the input's spatial shape, restored by an inverse conv
    _flat: _FlatRulebook | None = field(default=None, repr=False)  # built on first use

    @property
    def num_pairs(self) -> int:
        n = self.out_coords.shape[0]
        return sum(n if p is None else int(p[0].numel()) for p in self.pairs)

    def transposed(self) -> Rulebook:
        pairs = [None if p is None else (p[1], p[0]) for p in self.pairs]
        return Rulebook(pairs, out_coords=self.in_coords, in_coords=self.out_coords)


def submanifold_rulebook(coords: torch.Tensor, kernel_size: int) -> Rulebook:
    """Pairs of active sites at each offset of a centred odd kernel; output sites = input sites.

    Neighbours are looked up in the sorted site keys for half of the offsets (the pairs of offset
    ``-o`` are those of ``o`` reversed). The keys of sites adjacent along z differ by 1, so one
    ``searchsorted`` per (dx, dy) finds the whole z-run of offsets: where the key of ``dz`` is found
    at position p, that of ``dz + 1`` can only be at p + 1 -- 5 searches of N keys instead of 13
    for a 3x3x3 kernel.
    """
    if kernel_size % 2 != 1:
        raise ValueError(f"a submanifold kernel must be odd, got {kernel_size}")
    offsets = kernel_offsets(kernel_size, centred=True)
    centre = offsets.index((0, 0, 0))  # offsets[centre + i] == -offsets[centre - i]
    keys = encode_coords(coords)
    n = keys.numel()
    if n == 0 or centre == 0:
        empty = keys.new_zeros(0)
        half = [(empty, empty)] * centre
    else:
        sorted_keys, order = torch.sort(keys)
        pos, hit = _z_runs(sorted_keys, offsets[:centre])
        offset_index, site = hit.nonzero(as_tuple=True)
        counts = hit.sum(1).tolist()
        # output site order[site] reads its neighbour order[pos] at offset o
        half = list(zip(order[pos[offset_index, site]].split(counts), order[site].split(counts)))
    mirrored = [(out_rows, in_rows) for in_rows, out_rows in reversed(half)]
    return Rulebook([*half, None, *mirrored], out_coords=coords, in_coords=coords)


def _z_runs(sorted_keys: torch.Tensor, offsets: list[tuple[int, int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """``[K, N]`` positions in ``sorted_keys`` of ``key + offset`` and whether it is there (offsets in
    weight order, z fastest)."""
    n = sorted_keys.numel()
    pos, hit = [], []
    start = 0
    while start < len(offsets):
        end = start
        while end + 1 < len(offsets) and offsets[end + 1] == (*offsets[start][:2], offsets[end][2] + 1):
            end += 1
        query = sorted_keys + _offset_delta(offsets[start])
        p = torch.searchsorted(sorted_keys, query)
        for _ in range(start, end + 1):
            at = p.clamp(max=n - 1)
            found = (sorted_keys[at] == query) & (p < n)
            pos.append(at)
            hit.append(found)
            p = p + found
            query = query + 1
        start = end + 1
    return torch.stack(pos), torch.stack(hit)


def strided_rulebook(coords: torch.Tensor, stride: int, out_shape: tuple[int, ...] | None = None) -> Rulebook:
    """Rulebook of a ``kernel_size == stride`` conv: each voxel feeds its parent ``floor(c / s)``.

    With ``out_shape``, parents outside it are dropped with the voxels that feed them, as spconv
    does when an odd grid size is halved (``(size - k) // s + 1`` leaves out the last voxel).
    """
    parents = coords.clone()
    parents[:, 1:] = torch.div(coords[:, 1:], stride, rounding_mode="floor")
    local = coords[:, 1:] - parents[:, 1:] * stride
    offset_index = (local[:, 0] * stride + local[:, 1]) * stride + local[:, 2]
    keys = encode_coords(parents)
    if out_shape is not None:
        inside = (parents[:, 1:] < torch.tensor(out_shape, device=coords.device)).all(1)
        offset_index = torch.where(inside, offset_index, -1)
        keys = torch.where(inside, keys, keys[inside][:1].expand_as(keys)) if bool(inside.any()) else keys[:0]
    # unique over packed int64 keys: much faster than torch.unique(dim=0); same (sorted) order
    out_keys, inverse = torch.unique(keys, return_inverse=True)
    out_coords = _decode(out_keys)
    pairs: list[tuple[torch.Tensor, torch.Tensor] | None] = []
    for k in range(stride**3):
        rows = torch.nonzero(offset_index == k).squeeze(1)
        pairs.append((rows, inverse[rows]))
    return Rulebook(pairs, out_coords=out_coords, in_coords=coords)


def _strided_shape(shape: tuple[int, ...] | None, kernel_size: int, stride: int) -> tuple[int, ...] | None:
    """spconv's output size of a padding-free conv: ``(size - k) // s + 1`` per axis."""
    return None if shape is None else tuple((size - kernel_size) // stride + 1 for size in shape)


@dataclass
class _FlatRulebook:
    """All pairs of a rulebook in one list, grouped by offset, plus 0/1 CSR matrices that sum rows.

    ``scatter_out`` (``[N_out, P]``) adds every pair's product into its output row and
    ``scatter_in`` (``[N_in, P]``) every pair's input gradient into its input row: one sparse
    matrix product each, instead of PyTorch's CPU ``index_add_`` / accumulating ``index_put_``,
    which are 10-500x slower at these sizes.
    """

    rows_in: torch.Tensor
    rows_out: torch.Tensor
    segments: list[tuple[int, int, int]]  # (offset k, start, end) in the pair list
    identity: int | None
    scatter_out: tuple[torch.Tensor, torch.Tensor, int]  # CSR (crow, col, rows)
    scatter_in: tuple[torch.Tensor, torch.Tensor, int]


def _csr_summing(rows: torch.Tensor, num_rows: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    order = torch.argsort(rows, stable=True)
    crow = torch.zeros(num_rows + 1, dtype=torch.long)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=num_rows), 0)
    return crow, order, num_rows


def _csr_matmul(csr: tuple[torch.Tensor, torch.Tensor, int], dense: torch.Tensor) -> torch.Tensor:
    crow, col, rows = csr
    values = torch.ones(len(col), dtype=dense.dtype)
    with warnings.catch_warnings():  # "CSR support is in beta": CSR @ dense is all we use, and it is tested
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        matrix = torch.sparse_csr_tensor(crow, col, values, size=(rows, dense.shape[0]), check_invariants=False)
    return matrix @ dense


def _flatten(rulebook: Rulebook) -> _FlatRulebook:
    segments, rows_in, rows_out, start, identity = [], [], [], 0, None
    for k, pair in enumerate(rulebook.pairs):
        if pair is None:
            identity = k
        elif pair[0].numel():
            segments.append((k, start, start + pair[0].numel()))
            start += pair[0].numel()
            rows_in.append(pair[0])
            rows_out.append(pair[1])
    empty = torch.zeros(0, dtype=torch.long)
    rows_in_all = torch.cat(rows_in) if rows_in else empty
    rows_out_all = torch.cat(rows_out) if rows_out else empty
    return _FlatRulebook(rows_in_all, rows_out_all, segments, identity,
                         _csr_summing(rows_out_all, len(rulebook.out_coords)),
                         _csr_summing(rows_in_all, len(rulebook.in_coords)))


class _RulebookConv(torch.autograd.Function):
    """Gather -> GEMM per kernel offset -> scatter-sum, with a hand-written backward."""

    @staticmethod
    def forward(ctx, feats, weight, flat: _FlatRulebook):
        ctx.flat = flat
        ctx.save_for_backward(feats, weight)
        gathered = feats[flat.rows_in]
        products = feats.new_empty(len(gathered), weight.shape[-1])
        for k, start, end in flat.segments:
            torch.mm(gathered[start:end], weight[k], out=products[start:end])
        out = _csr_matmul(flat.scatter_out, products)
        if flat.identity is not None:
            out += feats @ weight[flat.identity]
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        feats, weight = ctx.saved_tensors
        flat = ctx.flat
        grad_out = grad_out.contiguous()
        grad_products = grad_out[flat.rows_out]
        grad_feats = grad_weight = None
        if ctx.needs_input_grad[1]:
            grad_weight = torch.zeros_like(weight)
            gathered = feats[flat.rows_in]
            for k, start, end in flat.segments:
                torch.mm(gathered[start:end].T, grad_products[start:end], out=grad_weight[k])
            if flat.identity is not None:
                torch.mm(feats.T, grad_out, out=grad_weight[flat.identity])
        if ctx.needs_input_grad[0]:
            grad_gathered = feats.new_empty(len(grad_products), feats.shape[1])
            for k, start, end in flat.segments:
                torch.mm(grad_products[start:end], weight[k].T, out=grad_gathered[start:end])
            grad_feats = _csr_matmul(flat.scatter_in, grad_gathered)
            if flat.identity is not None:
                grad_feats += grad_out @ weight[flat.identity].T
        return grad_feats, grad_weight, None


def apply_rulebook(feats: torch.Tensor, weight: torch.Tensor, rulebook: Rulebook) -> torch.Tensor:
    """``out[o] = sum_k sum_{(i, o) in pairs[k]} feats[i] @ weight[k]``; weight ``[K, C_in, C_out]``.

    Sites must be unique (no voxel listed twice), which the models check on their input.
    """
    if rulebook._flat is None:
        rulebook._flat = _flatten(rulebook)
    return _RulebookConv.apply(feats, weight, rulebook._flat)


@dataclass
class SparseTensor:
    """Active voxels of a batch of clouds: ``feats [N, C]``, ``coords [N, 4]`` (batch, x, y, z).

    ``rulebooks`` is shared by every tensor derived from the same input, so rulebooks built once
    per stage (keyed by ``indice_key``) are reused by later layers and by the inverse convs.
    """

    feats: torch.Tensor
    coords: torch.Tensor
    batch_size: int
    rulebooks: dict[str, Rulebook] = field(default_factory=dict)
    stride: int = 1  # voxel edge in input voxels: coords * stride are input-grid coordinates
    # spconv's spatial_shape: with one, strided convs drop what falls outside it, as spconv does;
    # None is an unbounded grid
    spatial_shape: tuple[int, ...] | None = None

    def replace(self, feats: torch.Tensor, coords: torch.Tensor | None = None, stride: int | None = None,
                spatial_shape: tuple[int, ...] | None = None) -> SparseTensor:
        return SparseTensor(feats, self.coords if coords is None else coords, self.batch_size, self.rulebooks,
                            self.stride if stride is None else stride,
                            self.spatial_shape if spatial_shape is None else spatial_shape)

    @property
    def batch_index(self) -> torch.Tensor:
        return self.coords[:, 0]


class SparseModule(nn.Module):
    """A layer that maps a :class:`SparseTensor` to a :class:`SparseTensor` (not just features)."""


class _SparseConvBase(SparseModule):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool, indice_key: str | None):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.indice_key = indice_key
        k = kernel_size
        self.weight = nn.Parameter(torch.empty(k, k, k, in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # spconv's default: PyTorch's conv init, uniform in +-1/sqrt(fan_in).
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size**3)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def _conv(self, x: SparseTensor, rulebook: Rulebook, stride: int,
              spatial_shape: tuple[int, ...] | None = None) -> SparseTensor:
        weight = self.weight.reshape(-1, self.in_channels, self.out_channels)
        out = apply_rulebook(x.feats, weight, rulebook)
        if self.bias is not None:
            out = out + self.bias
        return x.replace(out, rulebook.out_coords, stride, spatial_shape)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"bias={self.bias is not None}, indice_key={self.indice_key!r}")


class SubMConv3d(_SparseConvBase):
    """Submanifold sparse conv: ``[N, C_in] -> [N, C_out]`` on the same sites (odd ``kernel_size``).

    Initialised like the authors' E-3DSNN (truncated normal, std 0.02; zero bias).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = False,
                 indice_key: str | None = None):
        if kernel_size % 2 != 1:
            raise ValueError(f"a submanifold kernel must be odd, got {kernel_size}")
        super().__init__(in_channels, out_channels, kernel_size, bias, indice_key)

    def reset_parameters(self) -> None:
        nn.init.trunc_normal_(self.weight, std=0.02)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: SparseTensor) -> SparseTensor:
        key = None if self.indice_key is None else f"{self.indice_key}/subm{self.kernel_size}"
        rulebook = x.rulebooks.get(key) if key else None
        if rulebook is None or rulebook.out_coords is not x.coords:
            if self.kernel_size == 1:
                rulebook = Rulebook([None], out_coords=x.coords, in_coords=x.coords)
            else:
                rulebook = submanifold_rulebook(x.coords, self.kernel_size)
            if key:
                x.rulebooks[key] = rulebook
        return self._conv(x, rulebook, x.stride)


class SparseConv3d(_SparseConvBase):
    """Strided sparse conv with ``kernel_size == stride`` (E-3DSNN's k2 s2 p0 down-sampling).

    ``[N, C_in]`` on sites ``c`` -> ``[M, C_out]`` on the distinct parents ``floor(c / s)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 2, stride: int = 2,
                 bias: bool = False, indice_key: str | None = None):
        if stride != kernel_size:
            raise ValueError(
                f"only kernel_size == stride is implemented (non-overlapping windows), got {kernel_size}/{stride}")
        super().__init__(in_channels, out_channels, kernel_size, bias, indice_key)
        self.stride = stride

    def forward(self, x: SparseTensor) -> SparseTensor:
        out_shape = _strided_shape(x.spatial_shape, self.kernel_size, self.stride)
        rulebook = strided_rulebook(x.coords, self.stride, out_shape)
        rulebook.in_shape = x.spatial_shape
        if self.indice_key:
            x.rulebooks[self.indice_key] = rulebook
        return self._conv(x, rulebook, x.stride * self.stride, out_shape)


class SparseInverseConv3d(_SparseConvBase):
    """Transpose of the :class:`SparseConv3d` registered under ``indice_key``: back to its input sites."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 2, bias: bool = False,
                 indice_key: str | None = None):
        if not indice_key:
            raise ValueError("an inverse sparse conv needs the indice_key of the conv it inverts")
        super().__init__(in_channels, out_channels, kernel_size, bias, indice_key)

    def forward(self, x: SparseTensor) -> SparseTensor:
        down = x.rulebooks.get(self.indice_key)
        if down is None:
            raise KeyError(f"no rulebook {self.indice_key!r}: run the matching SparseConv3d first")
        return self._conv(x, down.transposed(), max(x.stride // self.kernel_size, 1), down.in_shape)


class SparseSequential(nn.Sequential):
    """``nn.Sequential`` over a :class:`SparseTensor`: sparse layers see the tensor, others its features.

    BatchNorm1d and neurons therefore receive plain ``[N, C]`` feature tensors (statistics over all
    active voxels of the batch), which is also what forward hooks and explainers see.
    """

    def forward(self, x: SparseTensor) -> SparseTensor:
        for module in self:
            x = module(x) if isinstance(module, SparseModule) else x.replace(module(x.feats))
        return x
