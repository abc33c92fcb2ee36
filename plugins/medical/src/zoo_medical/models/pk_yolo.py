"""PK-YOLO: a RepViT "pretrained knowledge" backbone fused into a YOLOv9-E-style dual detector.

Kang, Ting, Phan, Ting, "Pretrained Knowledge Guided YOLO for Brain Tumor Detection in Multiplanar
MRI Slices", WACV 2025, arXiv:2410.21822 (authors' code: github.com/mkang315/PK-YOLO, GPL-3.0, read
for facts only; nothing here is copied from it).

Layout (YOLOv9-E's CBNet composite backbone with its first backbone replaced by a RepViT):

- **Knowledge branch**: a RepViT (M1.5 depths 5/6/26/5 at double width 128/256/512/1024) tapped at
  five levels (strides 2..32). Each tap goes through a ``CBLinear`` 1x1 conv split into one map per
  main-backbone level at or above its resolution.
- **Main backbone** (from the image): conv/2, conv/2, GELAN, then three ``ADown`` + GELAN stages;
  before each GELAN (and after each of the two stem convs) the matching knowledge maps are
  nearest-resized and summed in (``CBFuse``).
- **Auxiliary head** (PGI's auxiliary reversible branch, training only): SPPELAN on the RepViT's
  stride-32 tap and an FPN over its stride-16/8 taps.
- **Main head**: SPPELAN + FPN + PAN over the main backbone.
- **DualDDetect**: anchor-free decoupled heads (box as a 16-bin distribution per side, DFL) on
  both branches at strides 8/16/32.

``model(x)`` with ``x`` ``[B, C, H, W]`` (H, W multiples of 32): in training mode the raw maps of
both branches ``[aux, main]`` (each a list of ``[B, 64 + K, H/s, W/s]``, for :meth:`PKYOLO.loss`);
in eval mode the decoded main branch ``[B, 4 + K, A]`` (``cx, cy, w, h`` in pixels, then class
probabilities; A = sum over strides of H W / s^2). :meth:`PKYOLO.predict` adds NMS.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import ConfigError, InputShapeError, StateDictMismatchError
from zoo_medical.blocks.detection import DetectionLoss, dist2bbox, make_anchors, non_max_suppression
from zoo_medical.blocks.gelan import SPPELAN, ADown, CBLinear, ConvBNAct, RepNCSPELAN4, cb_fuse
from zoo_medical.blocks.repvit import RepViT
from zoo_medical.models.pk_yolo_specs import PAPER_CONFIG, TINY_CONFIG

STRIDES = (8, 16, 32)
REG_MAX = 16


def repvit_table(widths: list[int], depths: list[int]) -> list[tuple[int, int, int, int, int, int]]:
    """RepViT's block table ``(kernel, expansion, channels, SE, hardswish, stride)`` for stage widths and depths.

    A stage after the first opens with a stride-2 block (no SE); the other blocks of a stage carry
    an SE on every other one, starting with the first, except the stage's last block; stages 3 and
    4 are the "hardswish" stages of the table (PK-YOLO's RepViT uses GELU there too).
    """
    table = []
    for stage, (width, depth) in enumerate(zip(widths, depths)):
        plain = depth if stage == 0 else depth - 1
        if stage > 0:
            table.append((3, 2, width, 0, int(stage >= 2), 2))
        for k in range(plain):
            table.append((3, 2, width, int(k % 2 == 0 and k < plain - 1), int(stage >= 2), 1))
    return table


def repvit_taps(depths: list[int]) -> tuple[int, ...]:
    """The five ``features`` indices PK-YOLO taps: the stride-2 stem, then the next-to-last block of
    each stage (the authors' indices 0, 5, 11, 37, 42 for depths 5/6/26/5; the last block of each
    stage feeds only the next stage, and the very last block of the network feeds nothing)."""
    taps, end = [0], 1
    for depth in depths:
        end += depth
        taps.append(end - 1)
    return tuple(taps)


class DFL(nn.Module):
    """Expected value of a 16-bin distribution per box side: ``[B, 4 * R, A] -> [B, 4, A]``.

    The bin values are a frozen parameter, not a buffer, as in YOLOv9: they are part of the
    authors' parameter count (16 per branch).
    """

    def __init__(self, bins: int = REG_MAX):
        super().__init__()
        self.bins = bins
        self.proj = nn.Parameter(torch.arange(bins, dtype=torch.float32), requires_grad=False)

    def forward(self, x: Tensor) -> Tensor:
        batch, _, anchors = x.shape
        return (x.view(batch, 4, self.bins, anchors).softmax(2) * self.proj.view(1, 1, -1, 1)).sum(2)


class DetectBranch(nn.Module):
    """One branch of DualDDetect: per level a box tower (3x3, grouped 3x3, grouped 1x1 to 4 x 16 bins)
    and a class tower (3x3, 3x3, 1x1 to K logits); output ``[B, 64 + K, H, W]`` per level."""

    def __init__(self, channels: tuple[int, ...], num_classes: int):
        super().__init__()
        box_width = max(channels[0] // 4, 4 * REG_MAX, 16)
        box_width = math.ceil(box_width / 4) * 4
        cls_width = max(channels[0], min(num_classes * 2, 128))
        self.box = nn.ModuleList(nn.Sequential(
            ConvBNAct(c, box_width, 3), ConvBNAct(box_width, box_width, 3, groups=4),
            nn.Conv2d(box_width, 4 * REG_MAX, 1, groups=4)) for c in channels)
        self.cls = nn.ModuleList(nn.Sequential(
            ConvBNAct(c, cls_width, 3), ConvBNAct(cls_width, cls_width, 3),
            nn.Conv2d(cls_width, num_classes, 1)) for c in channels)
        self.dfl = DFL()

    def forward(self, features: list[Tensor]) -> list[Tensor]:
        return [torch.cat((box(f), cls(f)), 1) for f, box, cls in zip(features, self.box, self.cls)]

    def init_biases(self, num_classes: int, image_size: int = 640) -> None:
        """YOLO's prior: box logits 1, class logits for about 5 objects per 640 image."""
        for box, cls, stride in zip(self.box, self.cls, STRIDES):
            nn.init.constant_(box[-1].bias, 1.0)
            nn.init.constant_(cls[-1].bias, math.log(5 / num_classes / (image_size / stride) ** 2))


class PKYOLO(nn.Module):
    """PK-YOLO (see the module docstring): ``[B, C, H, W]`` with H, W multiples of 32."""

    def __init__(self, num_classes: int = 2, in_chans: int = 3, widths=tuple(PAPER_CONFIG["widths"]),
                 repvit_widths=tuple(PAPER_CONFIG["repvit_widths"]),
                 repvit_depths=tuple(PAPER_CONFIG["repvit_depths"]),
                 csp_depth: int = 2):
        super().__init__()
        if num_classes < 1 or in_chans < 1 or len(widths) != 5 or len(repvit_widths) != 4 or len(repvit_depths) != 4:
            raise ConfigError("pk-yolo needs num_classes >= 1, in_chans >= 1, 5 main widths, 4 RepViT widths and "
                              f"4 RepViT depths; got {num_classes}, {in_chans}, {widths}, {repvit_widths}, "
                              f"{repvit_depths}")
        if min(repvit_depths) < 2 or any(w % 8 for w in widths) or any(w % 16 for w in repvit_widths):
            raise ConfigError("pk-yolo: every RepViT stage needs >= 2 blocks (it is tapped at its next-to-last "
                              "block), main widths must be multiples of 8 and RepViT widths of 16")
        self.num_classes, self.in_chans = num_classes, in_chans
        w = list(widths)

        self.knowledge = RepViT(repvit_table(list(repvit_widths), list(repvit_depths)), repvit_taps(repvit_depths),
                                in_chans=in_chans)
        taps = self.knowledge.out_channels  # channels at strides 2, 4, 8, 16, 32
        self.links = nn.ModuleList(CBLinear(c, tuple(w[:level + 1])) for level, c in enumerate(taps))

        self.stem1 = ConvBNAct(in_chans, w[0], 3, 2)
        self.stem2 = ConvBNAct(w[0], w[1], 3, 2)
        self.elan1 = RepNCSPELAN4(w[1], w[2], w[1], w[0], csp_depth)
        self.down2, self.elan2 = ADown(w[2], w[2]), RepNCSPELAN4(w[2], w[3], w[2], w[1], csp_depth)
        self.down3, self.elan3 = ADown(w[3], w[3]), RepNCSPELAN4(w[3], w[4], w[3], w[2], csp_depth)
        self.down4, self.elan4 = ADown(w[4], w[4]), RepNCSPELAN4(w[4], w[4], w[3], w[2], csp_depth)

        self.aux_spp = SPPELAN(taps[4], w[3], w[2])
        self.aux_p4 = RepNCSPELAN4(w[3] + taps[3], w[3], w[3], w[2], csp_depth)
        self.aux_p3 = RepNCSPELAN4(w[3] + taps[2], w[2], w[2], w[1], csp_depth)

        self.spp = SPPELAN(w[4], w[3], w[2])
        self.up_p4 = RepNCSPELAN4(w[3] + w[4], w[3], w[3], w[2], csp_depth)
        self.up_p3 = RepNCSPELAN4(w[3] + w[3], w[2], w[2], w[1], csp_depth)
        self.pan_down4 = ADown(w[2], w[2])
        self.pan_p4 = RepNCSPELAN4(w[2] + w[3], w[3], w[3], w[2], csp_depth)
        self.pan_down5 = ADown(w[3], w[3])
        self.pan_p5 = RepNCSPELAN4(w[3] + w[3], w[3], w[4], w[3], csp_depth)

        self.aux_detect = DetectBranch((w[2], w[3], w[3]), num_classes)
        self.detect = DetectBranch((w[2], w[3], w[3]), num_classes)
        self.aux_detect.init_biases(num_classes)
        self.detect.init_biases(num_classes)

    def _check(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.in_chans:
            got = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise InputShapeError(f"pk-yolo expects images [B, {self.in_chans}, H, W], got {got}")
        if x.shape[2] % 32 or x.shape[3] % 32 or x.shape[2] == 0 or x.shape[3] == 0:
            raise InputShapeError(f"pk-yolo needs H and W to be positive multiples of 32, got {list(x.shape[2:])}")

    def _backbone(self, x: Tensor) -> tuple[list[Tensor], Tensor, Tensor, Tensor]:
        """The RepViT taps and the main backbone's stride-8/16/32 outputs, knowledge fused in."""
        taps = self.knowledge(x)
        links = [link(tap) for link, tap in zip(self.links, taps)]

        def fuse(level: int, h: Tensor) -> Tensor:  # the knowledge of every tap at or below this resolution
            return cb_fuse([links[source][level] for source in range(level, 5)], h)

        h = fuse(1, self.stem2(fuse(0, self.stem1(x))))
        p3 = self.elan2(fuse(2, self.down2(self.elan1(h))))
        p4 = self.elan3(fuse(3, self.down3(p3)))
        p5 = self.elan4(fuse(4, self.down4(p4)))
        return taps, p3, p4, p5

    def _main_head(self, p3: Tensor, p4: Tensor, p5: Tensor) -> list[Tensor]:
        s5 = self.spp(p5)
        m4 = self.up_p4(torch.cat((_up(s5), p4), 1))
        m3 = self.up_p3(torch.cat((_up(m4), p3), 1))
        n4 = self.pan_p4(torch.cat((self.pan_down4(m3), m4), 1))
        n5 = self.pan_p5(torch.cat((self.pan_down5(n4), s5), 1))
        return self.detect([m3, n4, n5])

    def _aux_head(self, taps: list[Tensor]) -> list[Tensor]:
        a5 = self.aux_spp(taps[4])
        a4 = self.aux_p4(torch.cat((_up(a5), taps[3]), 1))
        a3 = self.aux_p3(torch.cat((_up(a4), taps[2]), 1))
        return self.aux_detect([a3, a4, a5])

    def branches(self, x: Tensor) -> list[list[Tensor]]:
        """The raw head maps ``[aux, main]``, each a list over strides 8/16/32 of ``[B, 64 + K, H/s, W/s]``."""
        self._check(x)
        taps, p3, p4, p5 = self._backbone(x)
        return [self._aux_head(taps), self._main_head(p3, p4, p5)]

    def forward(self, x: Tensor):
        if self.training:
            return self.branches(x)
        # At inference only the main branch runs: PGI's auxiliary branch shapes the gradients in
        # training and costs nothing afterwards.
        self._check(x)
        return self.decode(self._main_head(*self._backbone(x)[1:]))

    def decode(self, maps: list[Tensor], branch: nn.Module | None = None) -> Tensor:
        """Raw maps of one branch -> ``[B, 4 + K, A]``: ``cx, cy, w, h`` in pixels and class probabilities."""
        branch = self.detect if branch is None else branch
        batch = maps[0].shape[0]
        points, strides = make_anchors([tuple(m.shape[-2:]) for m in maps], list(STRIDES),
                                       device=maps[0].device, dtype=maps[0].dtype)
        flat = torch.cat([m.flatten(2) for m in maps], 2)
        distribution, logits = flat.split((4 * REG_MAX, self.num_classes), 1)
        boxes = dist2bbox(branch.dfl(distribution), points.T[None], dim=1)  # x1y1x2y2, grid units
        xywh = torch.cat(((boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]), 1) * strides.T[None]
        return torch.cat((xywh, logits.sigmoid()), 1).reshape(batch, 4 + self.num_classes, -1)

    @torch.no_grad()
    def predict(self, x: Tensor, conf_threshold: float = 0.25, iou_threshold: float = 0.45,
                max_det: int = 300) -> list[Tensor]:
        """Detections per image, ``[N, 6]``: ``x1, y1, x2, y2`` (pixels), score, class; NMS per class."""
        was_training = self.training
        self.eval()
        try:
            return non_max_suppression(self(x), conf_threshold, iou_threshold, max_det)
        finally:
            self.train(was_training)

    def loss(self, branches: list[list[Tensor]], targets: Tensor) -> tuple[Tensor, Tensor]:
        """PK-YOLO's training loss on :meth:`branches` output; ``targets`` ``[N, 6]`` rows of
        ``image index, class, cx, cy, w, h`` (normalised, as YOLO txt labels). Returns the total and
        the detached ``(box, cls, dfl)`` parts."""
        if targets.ndim != 2 or targets.shape[1] != 6:
            raise InputShapeError(f"pk-yolo targets are [N, 6] (image, class, cx, cy, w, h), got {list(targets.shape)}")
        if not hasattr(self, "_loss"):
            self._loss = DetectionLoss(self.num_classes, STRIDES, REG_MAX)
        return self._loss(branches, targets)


def training_loss(output: list[list[Tensor]], targets: Tensor, model: PKYOLO) -> Tensor:
    """``zoo train``'s loss hook (the recipe's ``loss``): the total of :meth:`PKYOLO.loss` on the branches of a
    training forward; ``targets`` are the engine's detection batch rows (image, class, cx, cy, w, h)."""
    return model.loss(output, targets)[0]


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches) -> None:
    """Set every batch norm's running mean and (biased) variance to its input's exact statistics over ``batches``.

    YOLO's batch norms average with momentum 0.03, so after a few dozen steps (a CPU demo) the
    running statistics still lag the weights and eval-mode predictions are poor; one pass over
    some training images fixes that ("precise BN", Wu & Johnson, arXiv:2105.07576). The biased
    variance makes eval mode reproduce train mode exactly on these images, which matters for the
    few-pixel maps of small inputs.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    sums: dict[nn.Module, list] = {m: [0.0, 0.0, 0] for m in norms}

    def collect(module, args):
        x = args[0].transpose(0, 1).flatten(1).double()  # [C, everything else]
        total = sums[module]
        total[0] = total[0] + x.sum(1)
        total[1] = total[1] + (x * x).sum(1)
        total[2] += x.shape[1]

    hooks = [m.register_forward_pre_hook(collect) for m in norms]
    was_training = model.training
    model.train()
    try:
        for images in batches:
            model(images)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    for m in norms:
        first, second, count = sums[m]
        if count:
            mean = first / count
            m.running_mean.copy_(mean.to(m.running_mean.dtype))
            m.running_var.copy_((second / count - mean * mean).clamp(min=0).to(m.running_var.dtype))


def _up(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def build_pk_yolo(num_classes: int = 2, in_chans: int = 3, widths=tuple(PAPER_CONFIG["widths"]),
                  repvit_widths=tuple(PAPER_CONFIG["repvit_widths"]),
                  repvit_depths=tuple(PAPER_CONFIG["repvit_depths"]),
                  csp_depth: int = 2, image_size: int = 640) -> PKYOLO:
    """The registry's builder; ``image_size`` only documents the training size (inputs may be any multiple of 32)."""
    if image_size % 32:
        raise ConfigError(f"pk-yolo: image_size must be a multiple of 32, got {image_size}")
    return PKYOLO(num_classes, in_chans, list(widths), list(repvit_widths), list(repvit_depths), csp_depth)


def build_tiny(**overrides) -> PKYOLO:
    """A small PK-YOLO with the same layout, for tests and the CPU demo."""
    return build_pk_yolo(**{**TINY_CONFIG, **overrides})


def example_input(config: dict) -> Tensor:
    return torch.randn(1, config.get("in_chans", 3), 64, 64)


def bad_input(config: dict) -> Tensor:
    return torch.randn(1, config.get("in_chans", 3), 48, 64)  # 48 is not a multiple of 32


# ---------------------------------------------------------------------------------------------
# "Pretrained knowledge": RepViT weights into the knowledge branch
# ---------------------------------------------------------------------------------------------

_PREFIXES = ("module.", "model.1.backbone.", "mlist.1.backbone.", "backbone.", "knowledge.", "encoder.", "sp_cnn.")


def load_pretrained_knowledge(model: PKYOLO, source, *, strict: bool = True) -> list[str]:
    """Load RepViT weights (a state dict, or a ``.safetensors`` / ``.pth`` / ``.pt`` file) into the knowledge branch.

    Accepts the RepViT reference layout (``features.<i>.…``) under any of the usual prefixes (the
    authors' PK-YOLO / SparK checkpoints keep it under ``model.1.backbone.`` or ``mlist.1.backbone.``;
    DDP adds ``module.``); classifier and distillation heads are ignored. Every tensor is copied
    into the live parameter or buffer with ``copy_`` under ``torch.no_grad`` (the authors' code
    assigns into a fresh ``state_dict()`` mapping instead, which changes nothing). Shapes must
    match exactly; with ``strict`` every RepViT tensor of the branch must be present.
    Returns the names loaded (relative to ``model.knowledge``).
    """
    state = _read_state(source)
    own = model.knowledge.state_dict()
    found: dict[str, Tensor] = {}
    for key, value in state.items():
        name = key
        for prefix in _PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
        if name.startswith("features.") and name in own:
            found[name] = value
    if not found:
        raise StateDictMismatchError(f"no RepViT tensors ('features.<i>.…') in the given weights; first keys: "
                                     f"{list(state)[:5]}")
    wrong = [f"{k}: {list(v.shape)} vs {list(own[k].shape)}" for k, v in found.items() if v.shape != own[k].shape]
    if wrong:
        raise StateDictMismatchError(f"RepViT weights do not fit the knowledge branch (width/depth differ): "
                                     f"{wrong[:5]}")
    missing = sorted(set(own) - set(found), key=_natural)
    if strict and missing:
        raise StateDictMismatchError(f"{len(missing)} RepViT tensors missing from the weights, e.g. {missing[:5]}; "
                                     "pass strict=False to load a partial RepViT")
    live = dict(model.knowledge.named_parameters()) | dict(model.knowledge.named_buffers())
    with torch.no_grad():
        for name, value in found.items():
            live[name].copy_(value.to(live[name].dtype))
    return sorted(found, key=_natural)


def _read_state(source) -> dict[str, Tensor]:
    if isinstance(source, dict):
        return source
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"RepViT weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("model", "state_dict", "module"):  # common checkpoint wrappers
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise StateDictMismatchError(f"{path} does not hold a state dict")
    return state


def _natural(name: str):
    return [int(part) if part.isdigit() else part for part in name.split(".")]
