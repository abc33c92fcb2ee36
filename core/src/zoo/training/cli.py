"""``zoo train`` on the command line, and the recipe lines of ``zoo info``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from zoo.errors import ConfigError


def _key_values(pairs: list[str], what: str) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a VALUE that parses as JSON (numbers, lists, true) is taken as JSON."""
    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} takes KEY=VALUE, got {pair!r}")
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    return values


def cmd_train(args: argparse.Namespace) -> int:
    from zoo.training import train

    result = train(args.model, args.data, out=args.out, recipe=args.recipe, epochs=args.epochs,
                   batch_size=args.batch_size, micro_batch=args.micro_batch, lr=args.lr,
                   config=_key_values(args.config, "--config"),
                   data_options=_key_values(args.data_option, "--data-option"), resume=args.resume,
                   checkpoint_every=args.checkpoint_every, workers=args.workers, device=args.device,
                   progress=not args.no_progress, fsdp=args.fsdp, time_budget=args.time_budget)
    if result["world_size"] == 1 or _rank() == 0:
        print(json.dumps({"metrics": result["metrics"], "best": str(result["best_folder"]),
                          "last": str(result["last"])}, default=str))
    return 0


def _rank() -> int:
    import torch

    return torch.distributed.get_rank() if torch.distributed.is_initialized() else 0


def add_train_command(sub) -> None:
    p = sub.add_parser("train", help="train a model with its paper's recipe (torchrun -m zoo train for many processes)")
    p.add_argument("model", help="registry name, e.g. scse-unet-3d")
    p.add_argument("--data", required=True, help="DATASET:ROOT, e.g. medmnist:~/data/medmnist")
    p.add_argument("--out", required=True, help="output folder: last/, best/, metrics.csv, tensorboard/")
    p.add_argument("--recipe", help="a recipe name of the model (zoo info MODEL); default: its first")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="global batch (all processes)")
    p.add_argument("--micro-batch", type=int, help="per process and forward; the rest is accumulated")
    p.add_argument("--lr", type=float)
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="model config override")
    p.add_argument("--data-option", action="append", default=[], metavar="KEY=VALUE",
                   help="dataset reader option, e.g. flag=pathmnist")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--checkpoint-every", type=int, help="also checkpoint every N optimiser steps")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--device", help="default: this process's GPU, else the CPU")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--fsdp", choices=("auto", "always", "never"), default="auto",
                   help="shard the model with FSDP on many processes (auto: over 100M parameters)")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="stop after this much training time (validation excluded), with a last checkpoint")
    p.set_defaults(func=cmd_train)


def print_recipes(recipes: list[dict[str, Any]], no_recipe: str = "") -> None:
    if not recipes:
        print(f"recipes: none - {no_recipe}" if no_recipe else "recipes: none (zoo.train takes a zoo.TrainRecipe)")
    for recipe in recipes:
        print(f"recipe {recipe['name']}: {describe(recipe)}")
        if recipe.get("source"):
            print(f"  from: {recipe['source']}" + (f" — {recipe['notes']}" if recipe["notes"] else ""))


def describe(recipe: dict[str, Any]) -> str:
    """One line of a recipe's values (``TrainRecipe.as_dict()``): what ``zoo info`` and docs/recipes.md show."""
    schedule = recipe["schedule"]
    if recipe["schedule"] == "multistep":
        schedule += f" x{recipe['gamma']:g} at {', '.join(f'{m:.0%}' for m in recipe['milestones'])}"
    elif recipe["schedule"] == "step":
        schedule += f" x{recipe['gamma']:g} every {recipe['step_epochs']} epochs"
    elif recipe["schedule"] == "cosine" and recipe["min_lr"]:
        schedule += f" to {recipe['min_lr']:g}"
    if recipe["warmup_epochs"]:
        schedule += f" (warm-up {recipe['warmup_epochs']:g} epochs)"
    extras = [f"{k}={recipe.get(k)}" for k in ("label_smoothing", "class_weights", "augmentation", "precision",
                                           "ema_decay", "steps_per_epoch", "select", "grad_clip", "eps", "patience",
                                           "prepare", "epoch_start", "inputs")
              if recipe.get(k) not in ("none", "fp32", 0.0, None, (), "metric")]
    extras += [f"{k}={v}" for k, v in recipe.get("options", {}).items()]
    return (f"{recipe['optimiser']} lr={recipe['lr']:g} wd={recipe['weight_decay']:g} {schedule}, "
            f"{recipe['epochs']} epochs, batch {recipe['batch_size']}, loss {recipe['loss']}"
            + (", " + ", ".join(extras) if extras else ""))
