"""Check zoo's SN-Net against the authors' own code on shared weights.

    git clone https://github.com/ziplab/SN-Net /tmp/SN-Net      # tested at c2dcf30608
    python plugins/vision/tools/parity_snnet_authors.py /tmp/SN-Net/stitching_deit [--img-size 64]

The authors' ``snnet.py``, ``models.py`` and ``utils.py`` are imported from the checkout with timm 1.0
(installed beside zoo; their ``timm.models.layers`` / ``registry`` imports still resolve there) and
their ``params``/``logger`` run with default arguments inside a temporary folder (they write
``outputs/``). Their DeiT-Ti/S/B anchors get random weights with non-trivial norms and biases, their
SN-Net its least-squares initialisation on random images; the state dict is loaded strictly into
``snnet-deit`` built at the same image size, and then, in eval mode:

* our :meth:`SNNet.init_stitches` on the same images gives their stitching layers (to 1e-4 relative:
  they solve in float32, we in float64);
* all 71 configurations give their logits (to 1e-5);
* their ``get_model_size`` and our parameter counts agree up to the documented difference.

Prints one line per check and exits non-zero on a mismatch.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile

import torch

from zoo_vision.models import snnet


@contextlib.contextmanager
def _authors_modules(root: str):
    """Import the authors' modules from ``root`` with default command-line arguments, in a scratch cwd."""
    from zoo_vision.timm_reference import import_timm

    import_timm()  # timm beside the CPU torch (an empty torchvision stand-in)
    argv, cwd = sys.argv, os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        sys.argv = [argv[0]]
        sys.path.insert(0, os.path.abspath(root))
        os.chdir(scratch)
        try:
            import models as authors_models
            import snnet as authors_snnet

            yield authors_models, authors_snnet
        finally:
            os.chdir(cwd)
            sys.path.remove(os.path.abspath(root))
            sys.argv = argv


def _exercise(model: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("bias") or (name.endswith("weight") and tensor.ndim == 1):
                tensor.add_(0.1 * torch.randn(tensor.shape, generator=generator))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", help="the authors' stitching_deit folder")
    parser.add_argument("--img-size", type=int, default=64, help="image side (a multiple of 16)")
    parser.add_argument("--images", type=int, default=8, help="images for the least-squares initialisation")
    args = parser.parse_args()
    torch.manual_seed(0)
    failures = 0

    with _authors_modules(args.root) as (authors_models, authors_snnet):
        # the authors' module is named ``snnet`` too; ours is imported above under zoo_vision.models
        builders = ("deit_tiny_patch16_224", "deit_small_patch16_224", "deit_base_patch16_224")
        anchors = [getattr(authors_models, b)(img_size=args.img_size, drop_path_rate=0.1) for b in builders]
        for i, anchor in enumerate(anchors):
            _exercise(anchor, i)
        theirs = authors_snnet.SNNet(anchors, kernel_size=2, stride=1, nearest_stitching=True).eval()
        images = torch.randn(args.images, 3, args.img_size, args.img_size)
        theirs.initialize_stitching_weights(images)

        ours = snnet.build_snnet(img_size=args.img_size).eval()
        ours.load_state_dict(snnet.from_authors({"model": theirs.state_dict()}), strict=True)
        fresh = snnet.build_snnet(img_size=args.img_size).eval()
        fresh.load_state_dict(ours.state_dict())
        fresh.init_stitches(images)
        worst = 0.0
        for name, tensor in ours.state_dict().items():
            if name.startswith("stitch_layers."):
                diff = (fresh.state_dict()[name] - tensor).abs().max() / tensor.abs().max()
                worst = max(worst, diff.item())
        ok = worst <= 1e-4
        failures += not ok
        print(f"least-squares init: largest relative difference {worst:.2e} {'ok' if ok else 'FAIL'}")

        x = torch.randn(2, 3, args.img_size, args.img_size)
        worst = 0.0
        with torch.no_grad():
            for config_id in range(theirs.num_configs):
                theirs.reset_stitch_id(config_id)
                worst = max(worst, (theirs(x) - ours.forward_config(x, config_id)).abs().max().item())
        ok = theirs.num_configs == ours.num_configs == 71 and worst <= 1e-5
        failures += not ok
        print(f"{theirs.num_configs} configurations: largest logit difference {worst:.2e} {'ok' if ok else 'FAIL'}")

        mismatched = []
        for config in ours.stitch_configs:
            expected = ours.num_params(config.id)
            if len(config.anchors) > 1:  # their count drops cls/pos of the front, adds the unused end norm
                front, end = ours.anchors[config.anchors[0]], ours.anchors[config.anchors[-1]]
                expected += -front.cls_token.numel() - front.pos_embed.numel() + 2 * end.embed_dim
            if theirs.get_model_size(config.id) != expected:
                mismatched.append(config.id)
        failures += bool(mismatched)
        print(f"parameter counts per configuration: {'ok' if not mismatched else f'FAIL at {mismatched}'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
