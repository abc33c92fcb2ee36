"""SN-Net: stitchable neural networks over DeiT anchors.

Pan et al., "Stitchable Neural Networks", arXiv:2302.06586 (CVPR 2023); authors' code
github.com/ziplab/SN-Net (``stitching_deit/snnet.py``, ``utils.py``). Pretrained anchors of one family
(DeiT-Ti/S/B, 12 blocks each) are joined by *stitching layers*, ``Linear(d_front -> d_end)``: a
configuration runs the first blocks of a smaller anchor, one stitching layer, and the remaining blocks
and head of a larger one. Stitch positions come from a window of ``kernel_size`` blocks sliding by
``stride``; the positions of one window share a stitching layer. Each stitching layer starts as the
least-squares map between the two anchors' features (:meth:`SNNet.init_stitches`); training draws one
configuration per step; at run time :meth:`SNNet.select` picks one by id or by a FLOPs budget.

Module and state-dict names follow the authors' (``anchors.{i}.…``, ``stitch_layers.{pair}.{k}.transform``)
with timm's DeiT names inside the anchors, so their released checkpoint loads unchanged.

Input ``[B, in_chans, H, W]`` with H and W multiples of 16; output logits ``[B, num_classes]`` of the
selected configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import torch
from torch import nn

import zoo
from zoo.errors import ConfigError
from zoo_vision.models import deit_specs, snnet_specs
from zoo_vision.models.deit import DeiT, build_deit, from_timm

NAME = "snnet-deit"


@dataclass(frozen=True)
class StitchConfig:
    """One configuration: the anchors it runs through (indices, small to large), and per stitch the
    position ``(front_block, end_block)`` — the front anchor runs blocks ``0..front_block``, the next one
    resumes at ``end_block`` — and the index of the stitching layer it uses within its anchor pair."""

    id: int
    anchors: tuple[int, ...]
    stitches: tuple[tuple[int, int], ...] = ()
    layers: tuple[int, ...] = ()


def paired_stitching(depth: int, kernel_size: int, stride: int) -> tuple[list[tuple[int, int]], list[int], int]:
    """Stitch positions ``(front_block, end_block)`` of two anchors of equal ``depth``, the stitching
    layer of each, and the number of layers: every pair of blocks inside a window of ``kernel_size``
    blocks sliding by ``stride``; a window's new positions share one layer (authors' ``paired_stitching``)."""
    positions: list[tuple[int, int]] = []
    layer_ids: list[int] = []
    layer = 0
    for start in range(0, depth, stride):
        window = range(start, min(start + kernel_size, depth))
        new = [(j, k) for j in window for k in window if (j, k) not in positions]
        positions += new
        layer_ids += [layer] * len(new)
        layer += bool(new)
    return positions, layer_ids, layer


def anchor_combinations(num_anchors: int, nearest: bool) -> list[tuple[int, ...]]:
    """The anchor chains a configuration may run through, each alone first: with ``nearest`` only
    neighbours in size are stitched (Ti-S, S-B), otherwise every increasing chain."""
    combos = [c for r in range(1, num_anchors + 1) for c in combinations(range(num_anchors), r)]
    if nearest:
        combos = [c for c in combos if len(c) == 1 or (len(c) == 2 and c[1] == c[0] + 1)]
    return combos


def stitch_pairs(num_anchors: int, nearest: bool) -> list[tuple[int, int]]:
    """Anchor pairs ``(front, end)`` that own a set of stitching layers, in state-dict order."""
    pairs = list(combinations(range(num_anchors), 2))
    return [p for p in pairs if p[1] == p[0] + 1] if nearest else pairs


def enumerate_configs(num_anchors: int, depth: int, kernel_size: int = 2, stride: int = 1,
                      nearest: bool = True) -> tuple[StitchConfig, ...]:
    """Every configuration in the authors' order (their ``get_stitch_configs``): the anchors alone, then
    per anchor chain every stitch position; along a chain each stitch resumes no earlier than the block
    the previous one resumed at. DeiT-Ti/S/B with the defaults: 3 + 2 x 34 = 71."""
    positions, layer_ids, _ = paired_stitching(depth, kernel_size, stride)

    def chains(stitches: int, min_front: int):
        for position, layer in zip(positions, layer_ids):
            if position[0] < min_front:
                continue
            if stitches == 1:
                yield [(position, layer)]
            else:
                for rest in chains(stitches - 1, position[1]):
                    yield [(position, layer), *rest]

    configs = []
    for combo in anchor_combinations(num_anchors, nearest):
        if len(combo) == 1:
            configs.append(StitchConfig(len(configs), combo))
            continue
        for chain in chains(len(combo) - 1, 0):
            configs.append(StitchConfig(len(configs), combo, tuple(p for p, _ in chain), tuple(k for _, k in chain)))
    return tuple(configs)


def block_flops(tokens: int, dim: int) -> int:
    """fvcore's count for one DeiT block (a multiply-add counted once, LayerNorm 5 per element):
    qkv, projection and MLP (12·N·d²), q·kᵀ and attention·v (2·N²·d), two LayerNorms (10·N·d)."""
    return 12 * tokens * dim * dim + 2 * tokens * tokens * dim + 10 * tokens * dim


def config_flops(config: StitchConfig, dims: list[int], depth: int, tokens: int, in_chans: int = 3,
                 num_classes: int = 1000, tail_norm: bool = False) -> int:
    """FLOPs of one configuration as the authors measure them (fvcore on a 1-image batch): patch
    embedding of the first anchor, the blocks each anchor runs, the stitching layers (N·d_front·d_end),
    the final norm (5·N·d; in stitched configurations only with ``tail_norm``) and the class-token head."""
    first, last = dims[config.anchors[0]], dims[config.anchors[-1]]
    flops = (tokens - 1) * first * in_chans * deit_specs.PATCH ** 2
    start = 0
    for i, (front_block, end_block) in enumerate(config.stitches):
        front, end = dims[config.anchors[i]], dims[config.anchors[i + 1]]
        flops += (front_block + 1 - start) * block_flops(tokens, front) + tokens * front * end
        start = end_block
    flops += (depth - start) * block_flops(tokens, last) + last * num_classes
    if tail_norm or len(config.anchors) == 1:
        flops += 5 * tokens * last
    return flops


def _augmented_pinv(front: torch.Tensor) -> torch.Tensor:
    """Pseudo-inverse ``[d_front + 1, tokens]`` of the tokens with a column of ones, in float64."""
    a = front.reshape(-1, front.shape[-1]).double()
    return torch.linalg.pinv(torch.cat([a, torch.ones_like(a[:, :1])], dim=1))


def _solve(pinv: torch.Tensor, end: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    solution = pinv @ end.reshape(-1, end.shape[-1]).double().to(pinv.device)
    return solution[:-1].T.to(dtype).contiguous(), solution[-1].to(dtype)


def least_squares_stitch(front: torch.Tensor, end: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The affine map ``end ≈ front @ weightᵀ + bias`` of least squares (minimum norm) over all tokens.

    ``front [..., d_front]`` and ``end [..., d_end]`` are the two anchors' features of the same images
    (tokens flattened together); returns ``weight [d_end, d_front]`` and ``bias [d_end]`` in the dtype
    of ``front``. Solved through the pseudo-inverse of ``[front, 1]`` as the authors' ``ps_inv``, in float64.
    """
    if front.shape[:-1] != end.shape[:-1]:
        raise ConfigError(f"{NAME}: front and end features must hold the same tokens, got {list(front.shape)} "
                          f"and {list(end.shape)}")
    return _solve(_augmented_pinv(front), end, front.dtype)


class StitchingLayer(nn.Module):
    """``Linear(d_front -> d_end)`` on tokens ``[B, N, d_front] -> [B, N, d_end]``."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.transform = nn.Linear(in_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.transform(x)


class SNNet(nn.Module):
    """A stitchable network ``[B, in_chans, H, W] -> [B, num_classes]`` over DeiT ``anchors`` ordered by
    size; runs the configuration :meth:`select` chose (in train mode a uniformly drawn one per call)."""

    # each training step runs one configuration: zoo train's DDP then finds the parameters it left unused
    trains_parameter_subsets = True

    def __init__(self, anchors: list[DeiT], kernel_size: int = 2, stride: int = 1, nearest: bool = True,
                 tail_norm: bool = False, config_id: int = 0, name: str = NAME):
        super().__init__()
        if len(anchors) < 2:
            raise ConfigError(f"{name}: stitching needs at least 2 anchors, got {len(anchors)}")
        depths = {len(a.blocks) for a in anchors}
        if len(depths) != 1:
            raise ConfigError(f"{name}: anchors must have the same depth (paired stitching), got {sorted(depths)}")
        if kernel_size < 1 or stride < 1:
            raise ConfigError(f"{name}: kernel_size and stride must be >= 1, got {kernel_size}, {stride}")
        if len({(a.in_chans, a.grid, a.head.out_features) for a in anchors}) != 1:
            raise ConfigError(f"{name}: anchors must share input channels, image size and classes")
        self.zoo_name = name
        self.anchors = nn.ModuleList(anchors)
        self.depth = depths.pop()
        self.dims = [a.embed_dim for a in anchors]
        self.tail_norm = tail_norm
        self.stitching = (kernel_size, stride, nearest)
        self.stitch_configs = enumerate_configs(len(anchors), self.depth, kernel_size, stride, nearest)
        positions, layer_ids, num_layers = paired_stitching(self.depth, kernel_size, stride)
        self.layer_positions = [[p for p, k in zip(positions, layer_ids) if k == layer] for layer in range(num_layers)]
        self.pairs = stitch_pairs(len(anchors), nearest)
        self._pair_index = {pair: i for i, pair in enumerate(self.pairs)}
        self.stitch_layers = nn.ModuleList(
            nn.ModuleList(StitchingLayer(self.dims[front], self.dims[end]) for _ in range(num_layers))
            for front, end in self.pairs
        )
        # The explainer's target: the tokens entering the final block, whichever anchor runs it.
        self.last_block_input = nn.Identity()
        self.config_id = 0
        self.select(config_id)

    @property
    def num_configs(self) -> int:
        return len(self.stitch_configs)

    def _config(self, config_id) -> StitchConfig:
        if isinstance(config_id, bool) or not isinstance(config_id, int) or not 0 <= config_id < self.num_configs:
            raise ConfigError(f"{self.zoo_name}: configuration ids are 0 .. {self.num_configs - 1}, got {config_id!r}")
        return self.stitch_configs[config_id]

    # ---- configurations: cost and choice ----

    def flops(self, config_id: int | None = None, img_size: int | tuple[int, int] | None = None) -> int:
        """FLOPs (fvcore's convention, the authors' table) of a configuration (default: the selected one)
        on one image of ``img_size`` (default: the anchors' training size)."""
        config = self._config(self.config_id if config_id is None else config_id)
        anchor = self.anchors[0]
        if img_size is None:
            grid = anchor.grid
        else:
            h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
            if h % deit_specs.PATCH or w % deit_specs.PATCH:
                raise ConfigError(f"{self.zoo_name}: img_size must be a multiple of {deit_specs.PATCH}, "
                                  f"got {img_size}")
            grid = (h // deit_specs.PATCH, w // deit_specs.PATCH)
        return config_flops(config, self.dims, self.depth, 1 + grid[0] * grid[1], anchor.in_chans,
                            anchor.head.out_features, self.tail_norm)

    def num_params(self, config_id: int | None = None) -> int:
        """Parameters a configuration runs through: the first anchor's embedding (patches, class token,
        position embedding), the blocks of each anchor, its stitching layers and the last anchor's head
        (with its final norm when it is applied)."""
        config = self._config(self.config_id if config_id is None else config_id)

        def count(module: nn.Module) -> int:
            return sum(p.numel() for p in module.parameters())

        anchors = [self.anchors[i] for i in config.anchors]
        total = count(anchors[0].patch_embed) + anchors[0].cls_token.numel() + anchors[0].pos_embed.numel()
        start = 0
        for i, (front_block, end_block) in enumerate(config.stitches):
            total += sum(count(b) for b in anchors[i].blocks[start:front_block + 1])
            total += count(self._stitch_layer(config, i))
            start = end_block
        total += sum(count(b) for b in anchors[-1].blocks[start:]) + count(anchors[-1].head)
        if self.tail_norm or len(config.anchors) == 1:
            total += count(anchors[-1].norm)
        return total

    def config_table(self) -> list[dict]:
        """Every configuration as a row: id, anchors, stitch positions, FLOPs and parameters."""
        return [{"id": c.id, "anchors": c.anchors, "stitches": c.stitches, "flops": self.flops(c.id),
                 "params": self.num_params(c.id)} for c in self.stitch_configs]

    def published_results(self) -> tuple[tuple[int, int, float], ...] | None:
        """The authors' ImageNet table ``(flops, params, top1)`` per id when this network is their DeiT
        setting, else ``None``."""
        return snnet_specs.RESULTS if self._signature() == _authors_signature() else None

    def _signature(self) -> tuple:
        anchor = self.anchors[0]
        return (tuple(self.dims), tuple(a.blocks[0].attn.heads for a in self.anchors), self.depth, self.stitching,
                anchor.grid, anchor.in_chans, anchor.head.out_features, self.tail_norm)

    def select(self, config_id: int | None = None, *, flops: float | None = None, by: str = "flops") -> int:
        """Run configuration ``config_id`` from now on (in eval mode), or, given a ``flops`` budget, the
        configuration within it with the most FLOPs (``by="flops"``) or with the best published top-1
        (``by="top1"``, the authors' DeiT setting only). Returns the id chosen."""
        if (config_id is None) == (flops is None):
            raise ConfigError(f"{self.zoo_name}: select takes a configuration id or flops=, not both")
        if flops is not None:
            config_id = self._within_budget(flops, by)
        self._config(config_id)
        self.config_id = config_id
        if isinstance(getattr(self, "zoo_config", None), dict):
            self.zoo_config["config_id"] = config_id  # zoo.save keeps the selection
        return config_id

    def _within_budget(self, flops: float, by: str) -> int:
        if isinstance(flops, bool) or not isinstance(flops, (int, float)):
            raise ConfigError(f"{self.zoo_name}: select(flops=...) is a FLOPs count such as 5e9, got {flops!r}")
        if by not in ("flops", "top1"):
            raise ConfigError(f"{self.zoo_name}: select(by=...) is 'flops' or 'top1', got {by!r}")
        costs = [self.flops(c.id) for c in self.stitch_configs]
        fitting = [i for i, cost in enumerate(costs) if cost <= flops]
        if not fitting:
            raise ConfigError(f"{self.zoo_name}: no configuration fits in {flops:.4g} FLOPs; the cheapest needs "
                              f"{min(costs):,}")
        if by == "flops":
            return max(fitting, key=lambda i: (costs[i], -i))
        results = self.published_results()
        if results is None:
            raise ConfigError(f"{self.zoo_name}: select(by='top1') needs the authors' published accuracies, "
                              f"which exist only for their DeiT-Ti/S/B setting")
        return max(fitting, key=lambda i: (results[i][2], -i))

    # ---- least-squares initialisation of the stitching layers ----

    @torch.no_grad()
    def init_stitches_from_features(self, features: list[list[torch.Tensor]]) -> None:
        """Set every stitching layer to the least-squares map between the anchors' features (paper §3.3).

        ``features[a]`` holds anchor ``a``'s tokens of the same images: entering its first block, then out
        of each block (``depth + 1`` tensors ``[B, N, d_a]``, as :meth:`DeiT.block_features` returns).
        A layer shared by several stitch positions gets the mean of their solutions, as the authors do.
        """
        if len(features) != len(self.anchors) or any(len(f) != self.depth + 1 for f in features):
            raise ConfigError(f"{self.zoo_name}: need {self.depth + 1} feature tensors for each of "
                              f"{len(self.anchors)} anchors")
        if any(f.shape[:-1] != features[0][0].shape[:-1] for anchor in features for f in anchor):
            raise ConfigError(f"{self.zoo_name}: every feature tensor must hold the same tokens [B, N]")
        pinvs = {}  # a front block's pseudo-inverse serves every position that stitches out of it
        for pair_index, (front, end) in enumerate(self.pairs):
            for layer, positions in enumerate(self.layer_positions):
                solutions = []
                for f, e in positions:  # front anchor's tokens out of block f; end anchor's entering block e
                    if (front, f) not in pinvs:
                        pinvs[front, f] = _augmented_pinv(features[front][f + 1])
                    solutions.append(_solve(pinvs[front, f], features[end][e], features[front][f + 1].dtype))
                transform = self.stitch_layers[pair_index][layer].transform
                transform.weight.copy_(torch.stack([w for w, _ in solutions]).mean(0))
                transform.bias.copy_(torch.stack([b for _, b in solutions]).mean(0))

    @torch.no_grad()
    def init_stitches(self, images: torch.Tensor) -> None:
        """Least-squares initialisation from a batch of ``images`` ``[B, C, H, W]`` (the authors use 100
        training images): each anchor's block features in eval mode, then :meth:`init_stitches_from_features`."""
        was_training = self.training
        self.eval()
        try:
            self._check_input(images)
            self.init_stitches_from_features([anchor.block_features(images) for anchor in self.anchors])
        finally:
            self.train(was_training)

    # ---- forward ----

    def _stitch_layer(self, config: StitchConfig, i: int) -> StitchingLayer:
        pair = (config.anchors[i], config.anchors[i + 1])
        return self.stitch_layers[self._pair_index[pair]][config.layers[i]]

    def _check_input(self, x: torch.Tensor) -> None:
        zoo.expect_shape(x, "B C H W", C=self.anchors[0].in_chans, dtype="float", model=self.zoo_name,
                         divisible_by={"H": deit_specs.PATCH, "W": deit_specs.PATCH})

    def forward_config(self, x: torch.Tensor, config_id: int) -> torch.Tensor:
        """Logits of configuration ``config_id`` whatever the selection or mode."""
        config = self._config(config_id)
        self._check_input(x)
        anchors = [self.anchors[i] for i in config.anchors]
        x = anchors[0].embed(x)
        start = 0
        for i, (front_block, end_block) in enumerate(config.stitches):
            for block in anchors[i].blocks[start:front_block + 1]:
                x = block(x)
            x = self._stitch_layer(config, i)(x)
            start = end_block
        last = anchors[-1]
        for block in last.blocks[start:self.depth - 1]:
            x = block(x)
        x = last.blocks[self.depth - 1](self.last_block_input(x))
        return last.forward_head(x, norm=self.tail_norm or len(config.anchors) == 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            config_id = int(torch.randint(self.num_configs, (), device="cpu"))
        else:
            config_id = self.config_id
        return self.forward_config(x, config_id)


def _authors_signature() -> tuple:
    variants = [deit_specs.VARIANTS[a] for a in snnet_specs.ANCHORS]
    grid = snnet_specs.IMAGE_SIZE // deit_specs.PATCH
    return (tuple(v["dim"] for v in variants), tuple(v["heads"] for v in variants), deit_specs.DEPTH,
            (snnet_specs.KERNEL_SIZE, snnet_specs.STRIDE, snnet_specs.NEAREST), (grid, grid), 3, 1000,
            snnet_specs.TAIL_NORM)


def _anchor(spec, num_classes: int, in_chans: int, img_size: int, drop_path: float, depth: int) -> DeiT:
    if isinstance(spec, str):
        return build_deit(spec, num_classes=num_classes, in_chans=in_chans, img_size=img_size, drop_path=drop_path,
                          depth=depth)
    if isinstance(spec, dict) and set(spec) == {"dim", "heads"}:
        return build_deit("tiny", num_classes=num_classes, in_chans=in_chans, img_size=img_size, drop_path=drop_path,
                          dim=spec["dim"], heads=spec["heads"], depth=depth)
    raise ConfigError(f"{NAME}: an anchor is a DeiT size ({sorted(deit_specs.VARIANTS)}) or "
                      f"{{'dim': ..., 'heads': ...}}, got {spec!r}")


def build_snnet(anchors=snnet_specs.ANCHORS, num_classes: int = 1000, in_chans: int = 3, img_size: int = 224,
                drop_path: float = 0.1, kernel_size: int = snnet_specs.KERNEL_SIZE, stride: int = snnet_specs.STRIDE,
                nearest: bool = snnet_specs.NEAREST, tail_norm: bool = snnet_specs.TAIL_NORM, config_id: int = 0,
                depth: int = deit_specs.DEPTH) -> SNNet:
    """SN-Net over DeiT ``anchors`` (sizes, or ``{"dim", "heads"}`` for tiny test networks), small to large.

    The anchors are freshly initialised; for the paper's network load ImageNet DeiT weights into
    ``model.anchors[i]``, then call :meth:`SNNet.init_stitches` on training images.
    """
    if not isinstance(anchors, (list, tuple)):
        raise ConfigError(f"{NAME}: anchors must be a list, got {anchors!r}")
    built = [_anchor(a, num_classes, in_chans, img_size, drop_path, depth) for a in anchors]
    dims = [a.embed_dim for a in built]
    if dims != sorted(dims):
        raise ConfigError(f"{NAME}: anchors must be ordered from small to large, got widths {dims}")
    return SNNet(built, kernel_size=kernel_size, stride=stride, nearest=nearest, tail_norm=tail_norm,
                 config_id=config_id)


def from_authors(state_dict: dict) -> dict:
    """The authors' released ``snnet_deit.pth`` -> ours: the same keys, nested under ``"model"`` as the
    DeiT checkpoints' are."""
    return from_timm(state_dict)


def example_input(config: dict) -> torch.Tensor:
    return torch.randn(2, config.get("in_chans", 3), 64, 64)


def bad_input(config: dict) -> torch.Tensor:
    return torch.randn(2, config.get("in_chans", 3), 64, 72)
