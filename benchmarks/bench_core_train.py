"""zoo train's cost: the engine against a bare hand-written loop, and 1 against 2 processes (torchrun, gloo).

    .venv/bin/python benchmarks/bench_core_train.py [--steps 20] [--repeats 3] [--family medical vision]

Models, one per family, Adam 1e-3, global batch 8, one intra-op thread per process:
- medical: scse-unet-2d (zoo-medical, 1.72M parameters) on synthetic 1x64x64 images with a box mask, dice-ce;
- vision: eca-resnet-18 (zoo-vision, 4 classes) on synthetic 3x64x64 images whose bright quadrant is the
  label, cross-entropy.

1. Overhead: the same model, init, optimiser, data order and loss run ``--steps`` steps by a bare loop
   (DataLoader, forward, backward, step) and by ``zoo.train`` (its sampler, accumulation bookkeeping,
   loss logging, progress bar off, and one epoch's validation on 2 images + the best/last checkpoints
   that a run writes). Runs alternate; the fastest of ``--repeats`` each is compared. Target <= 5 %.
2. Scaling: ``torchrun --nproc-per-node N`` for N = 1, 2 over two epochs; throughput is the second
   epoch's samples per second from metrics.csv (the first warms up). Efficiency = T2 / (2 T1).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE, BATCH = 64, 8


class Boxes:
    """[1, 64, 64] noise images with a bright box; the label is the box mask [1, 64, 64]."""

    def __init__(self, count: int, seed: int):
        import torch

        generator = torch.Generator().manual_seed(seed)
        self.images = torch.rand(count, 1, SIZE, SIZE, generator=generator)
        self.labels = torch.zeros(count, 1, SIZE, SIZE, dtype=torch.int64)
        corners = torch.randint(0, SIZE // 2, (count, 2), generator=generator)
        for image, label, (top, left) in zip(self.images, self.labels, corners.tolist()):
            label[:, top:top + 20, left:left + 20] = 1
            image[label.bool()] += 1.0

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.images[index], self.labels[index]


class Quadrants:
    """[3, 64, 64] noise images, one quadrant brightened; the label is the quadrant (0..3)."""

    def __init__(self, count: int, seed: int):
        import torch

        generator = torch.Generator().manual_seed(seed)
        self.images = torch.rand(count, 3, SIZE, SIZE, generator=generator)
        self.labels = torch.randint(0, 4, (count,), generator=generator)
        half = SIZE // 2
        for image, label in zip(self.images, self.labels.tolist()):
            top, left = divmod(label, 2)
            image[:, top * half:(top + 1) * half, left * half:(left + 1) * half] += 1.0

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.images[index], self.labels[index]


# family -> (model, config, data, loss of the recipe)
CASES = {"medical": ("scse-unet-2d", {}, Boxes, "dice-ce"),
         "vision": ("eca-resnet-18", {"num_classes": 4}, Quadrants, "cross-entropy")}


def recipe(loss: str, steps: int, epochs: int = 1):
    import zoo

    return zoo.TrainRecipe(name="bench", optimiser="adam", lr=1e-3, epochs=epochs, batch_size=BATCH,
                           steps_per_epoch=steps, loss=loss)


def bare_loop(family: str, steps: int) -> float:
    """What a user writes by hand: the same model, seed, batches (the engine's sampler order) and loss."""
    import torch
    import torch.nn.functional as F

    import zoo
    from zoo.training.parts import dice_ce

    name, config, data, loss_name = CASES[family]
    loss_fn = dice_ce if loss_name == "dice-ce" else F.cross_entropy
    train = data(steps * BATCH, 0)
    started = time.perf_counter()  # like the engine's time, from building the model on
    torch.manual_seed(0)
    model = zoo.build(name, **config)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0)).tolist()
    loader = torch.utils.data.DataLoader(train, batch_size=BATCH, sampler=order)
    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return time.perf_counter() - started


def engine(family: str, steps: int, out: Path, epochs: int = 1) -> float:
    import zoo

    name, config, data, loss_name = CASES[family]
    started = time.perf_counter()
    zoo.train(name, (data(steps * BATCH, 0), data(2, 1)), out=out, recipe=recipe(loss_name, steps, epochs),
              config=config, progress=False)
    return time.perf_counter() - started


def scaling(family: str, steps: int, processes: int, folder: Path) -> float:
    out = folder / f"scale-{family}-{processes}"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
                    __file__, "--worker", "--family", family, "--steps", str(steps), "--out", str(out)], check=True,
                   env=env, stdout=subprocess.DEVNULL)
    with open(out / "metrics.csv", newline="") as handle:
        second = list(csv.DictReader(handle))[1]
    return steps * BATCH / float(second["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--family", nargs="+", choices=sorted(CASES), default=sorted(CASES))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    if args.worker:
        engine(args.family[0], args.steps, args.out, epochs=2)
        return
    for family in args.family:
        measure(family, args.steps, args.repeats)


def measure(family: str, steps: int, repeats: int) -> None:
    import torch

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        # imports (MONAI, TensorBoard) and first-call costs
        bare_loop(family, 2), engine(family, 2, folder / "warm-up")
        bare, ours = [], []
        for repeat in range(repeats):
            bare.append(bare_loop(family, steps))
            ours.append(engine(family, steps, folder / f"engine-{repeat}"))
        print(f"{CASES[family][0]} ({family}), {SIZE}x{SIZE}, global batch {BATCH}, {steps} steps, 1 thread, "
              f"torch {torch.__version__}")
        print(f"bare loop      {min(bare):7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in bare)})")
        print(f"zoo.train      {min(ours):7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in ours)}; includes "
              "validation of 2 images and writing best + last)")
        print(f"engine overhead: {min(ours) / min(bare) - 1:+.1%}")
        one, two = scaling(family, steps, 1, folder), scaling(family, steps, 2, folder)
        print(f"throughput 1 process {one:6.1f} samples/s, 2 processes {two:6.1f} samples/s "
              f"(torchrun, gloo, 1 thread each): speed-up {two / one:.2f}x, scaling efficiency {two / one / 2:.0%}")


if __name__ == "__main__":
    main()
