"""One optimiser step of every model family's paper recipe through ``zoo.train``, on generated data.

A smoke run, not a benchmark: for one model of each group of models sharing a recipe it builds the full
model, runs its first recipe for one step of a small batch (the recipe's optimiser, schedule, loss and
hooks; epochs, batch and steps overridden), validates and checkpoints, and prints one row per model. The
recommenders, PuYun and the node classifiers have their own tests on data of their kind; the medical
families are exercised by ``bench_medical_train_phantom.py`` and the plugin's tests.

    .venv/bin/python examples/train_every_recipe.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import torch

import zoo
from zoo.registry import get_registry

# the image size each family accepts at its smallest (Inception-v4's stem needs 75 pixels or more)
IMAGE_SIZE = {"inception-v4": 96}
LIPREADING_FRAMES = 8


def images(count: int, size: int, classes: int = 3):
    generator = torch.Generator().manual_seed(0)
    return [(torch.rand(3, size, size, generator=generator), i % classes) for i in range(count)]


def clips(count: int, classes: int = 3):
    generator = torch.Generator().manual_seed(0)
    return [{"video": torch.randn(1, LIPREADING_FRAMES, 88, 88, generator=generator), "label": i % classes,
             "boundary": torch.zeros(LIPREADING_FRAMES)} for i in range(count)]


def data_for(spec):
    """A (train, validation) pair for ``spec``'s task, or None when the family is covered elsewhere."""
    if spec.domain == "lipreading":
        return clips(4), clips(2)
    if spec.task in ("classification", "image-classification") and spec.domain in ("vision", "spiking"):
        size = IMAGE_SIZE.get(spec.name, 64)
        return images(4, size), images(2, size)
    return None


def representatives() -> list:
    """The smallest model of each group of models whose recipe lists are the same."""
    groups: dict[tuple, object] = {}
    for spec in get_registry().models():
        key = tuple(repr(r.as_dict()) for r in spec.recipes)
        if spec.recipes and (key not in groups or spec.num_params < groups[key].num_params):
            groups[key] = spec
    return list(groups.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="model names (default: one per recipe group)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:  # timm's LAMB (VanillaNet, Meta-SpikeFormer) imports torchvision; zoo-vision stands in for it
        from zoo_vision.timm_reference import import_timm

        import_timm()
    except ImportError:
        pass
    warnings.simplefilter("ignore")  # the fp16 recipes' "runs in fp32 on the CPU" notice, once per model
    specs = [get_registry().model(n) for n in args.only] if args.only else representatives()
    print("| model | recipe | optimiser | loss | step s | metric |")
    print("|---|---|---|---|---:|---|")
    for spec in specs:
        data = data_for(spec)
        if data is None:
            continue
        recipe = spec.get_recipe()
        config = {"num_classes": 3} if "num_classes" in spec.default_config else {}
        if "img_size" in spec.default_config:
            config["img_size"] = IMAGE_SIZE.get(spec.name, 64)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            result = zoo.train(spec.name, data, out=Path(out) / "run", progress=False, config=config,
                               recipe=recipe.replace(epochs=1, batch_size=2, micro_batch=None, steps_per_epoch=1,
                                                     warmup_epochs=0))
        seconds = time.perf_counter() - started
        metrics = result["metrics"]
        name = next(k for k in metrics if k not in ("epoch", "step", "lr", "train_loss", "val_loss"))
        print(f"| `{spec.name}` | `{recipe.name}` | {recipe.optimiser} | {recipe.loss.rpartition(':')[2]} "
              f"| {seconds:.1f} | {name} {metrics[name]:.2f}, train loss {metrics['train_loss']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
