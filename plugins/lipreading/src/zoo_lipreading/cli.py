"""``zoo lipread VIDEO`` and ``zoo lipread-convert CHECKPOINT MODEL OUT`` (added through the zoo_cli hook)."""

from __future__ import annotations

import argparse


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("lipread", help="read the words spoken in a video of a face (top-5 per 29 frames)")
    p.add_argument("video")
    p.add_argument("--model", default="td3net-base", help="a registered name, NAME.TAG or a zoo.save folder")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--stride", type=int, help="frames (at 25 fps) between windows (default 29)")
    p.set_defaults(func=lipread)

    p = subparsers.add_parser("lipread-convert", help="convert a TD3Net or mpc001 checkpoint into a zoo folder")
    p.add_argument("checkpoint", help="ckpt.best.pth.tar (TD3Net) or an mpc001 .pth/.pth.tar")
    p.add_argument("model", help="td3net-base, td3net-best, td3net-best-wb, ms-tcn, dc-tcn or dc-tcn-wb")
    p.add_argument("out", help="folder to write (config.json, model.safetensors, README.md)")
    p.add_argument("--num-classes", type=int, help="e.g. 1000 for an LRW-1000 checkpoint")
    p.set_defaults(func=convert)


def lipread(args: argparse.Namespace) -> int:
    import zoo
    from zoo_lipreading.video import read_lips

    model = zoo.load(args.model)
    if model.training:  # zoo.load returns a random init in train mode, loaded weights in eval mode
        print(f"note: {args.model} has untrained weights; the words below are not meaningful")
    for window in read_lips(model, args.video, top=args.top, stride=args.stride):
        words = "  ".join(f"{word} {score:.3f}" for word, score in window.top)
        start, end = window.seconds
        print(f"{start:5.2f}-{end:5.2f} s: {words}")
    return 0


def convert(args: argparse.Namespace) -> int:
    from zoo_lipreading.convert import convert_checkpoint

    config = {"num_classes": args.num_classes} if args.num_classes else {}
    convert_checkpoint(args.checkpoint, args.model, args.out, **config)
    print(args.out)
    return 0
