"""RetinaNet on the zoo's PVT v2-b0 (ZooBackbone) vs the same RetinaNet on mmdet's own PVTv2-b0, one run.

    .venv/bin/python benchmarks/bench_vision_mmdet.py [--batch B] [--size S] [--repeat R] [--threads N]

Both detectors come from mmdet 3.3's ``configs/pvt/retinanet_pvtv2-b0_fpn_1x_coco.py``: ours is
``zoo.load("retinanet-pvt-v2-b0")`` (the backbone swapped for ``ZooBackbone``), the reference keeps
mmdet's ``PyramidVisionTransformerV2``. They share every weight: neck and head are copied, the
backbone goes from our (timm) layout to the authors' and through mmdet's own ``pvt_convert``. The
outputs (every level's class scores and box deltas, eval mode) must agree; then the forward pass
(eval, no_grad) and forward + backward (train mode, backward of the summed outputs) are timed
interleaved, best of ``--repeat``; the ratios are zoo / mmdet (target <= 1.0).
"""

from __future__ import annotations

import argparse
import re
import time

import torch
from zoo_detection.detectors import DATA_PREPROCESSOR, build_detector, mmdet_config

import zoo


def authors_layout(state: dict) -> dict:
    """zoo's (timm's) PVT v2 keys -> the authors' (whai362/PVT) keys, which mmdet's pvt_convert reads."""
    out = {}
    for key, value in state.items():
        key = key.replace("mlp.dwconv.", "mlp.dwconv.dwconv.")
        key = re.sub(r"^patch_embed\.", "patch_embed1.", key)
        key = re.sub(r"^stages\.(\d)\.downsample\.", lambda m: f"patch_embed{int(m[1]) + 1}.", key)
        key = re.sub(r"^stages\.(\d)\.blocks\.", lambda m: f"block{int(m[1]) + 1}.", key)
        key = re.sub(r"^stages\.(\d)\.norm\.", lambda m: f"norm{int(m[1]) + 1}.", key)
        out[key] = value
    return out


def shared_mmdet_detector(ours: torch.nn.Module) -> torch.nn.Module:
    from mmdet.models.backbones.pvt import pvt_convert

    cfg = mmdet_config("pvt/retinanet_pvtv2-b0_fpn_1x_coco.py")
    cfg.data_preprocessor = dict(DATA_PREPROCESSOR)
    cfg.backbone.init_cfg = None
    reference = build_detector(cfg)
    prefix = "backbone.body.model."
    state = ours.state_dict()
    backbone = pvt_convert(authors_layout({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}))
    shared = {f"backbone.{k}": v for k, v in backbone.items()}
    shared.update({k: v for k, v in state.items() if not k.startswith("backbone.")})
    reference.load_state_dict(shared, strict=True)
    return reference


def flat(outputs) -> list[torch.Tensor]:
    return [t for level in outputs for t in level]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = zoo.load("retinanet-pvt-v2-b0")
    reference = shared_mmdet_detector(ours)
    x = torch.randn(args.batch, 3, args.size, args.size)

    ours.eval(), reference.eval()
    with torch.no_grad():
        gap = max((a - b).abs().max().item() for a, b in zip(flat(ours(x)), flat(reference(x))))

    def forward(model):
        def run():
            model.eval()
            with torch.no_grad():
                model(x)
        return run

    def forward_backward(model):
        def run():
            model.train()
            model.zero_grad(set_to_none=True)
            sum(t.sum() for t in flat(model(x))).backward()
        return run

    runs = {("forward", "zoo"): forward(ours), ("forward", "mmdet"): forward(reference),
            ("forward+backward", "zoo"): forward_backward(ours),
            ("forward+backward", "mmdet"): forward_backward(reference)}
    for run in runs.values():  # warm-up
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(args.repeat):  # interleaved, so that load on the machine hits both alike
        for key, run in runs.items():
            start = time.perf_counter()
            run()
            best[key] = min(best[key], time.perf_counter() - start)

    print(f"RetinaNet PVT v2-b0, batch {args.batch} x 3 x {args.size}^2, {args.threads} threads, "
          f"torch {torch.__version__}, best of {args.repeat}")
    for what in ("forward", "forward+backward"):
        z, m = best[(what, "zoo")], best[(what, "mmdet")]
        print(f"  {what:<17} zoo {z * 1000:8.1f} ms   mmdet {m * 1000:8.1f} ms   zoo/mmdet {z / m:5.2f}x")
    print(f"  outputs with shared weights: max |zoo - mmdet| = {gap:.2e} over {len(flat(ours(x)))} maps")


if __name__ == "__main__":
    main()
