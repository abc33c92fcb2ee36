"""zoo train's cost: the engine against a bare hand-written loop, and 1 against 2 processes (torchrun, gloo).

    .venv/bin/python benchmarks/bench_core_train.py [--steps 20] [--repeats 3]

Model: scse-unet-2d (zoo-medical, 1.72M parameters) on synthetic 1x64x64 images with a box mask,
dice-ce loss, Adam 1e-3, global batch 8, one intra-op thread per process.

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

MODEL, SIZE, BATCH = "scse-unet-2d", 64, 8


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


def recipe(steps: int, epochs: int = 1):
    import zoo

    return zoo.TrainRecipe(name="bench", optimiser="adam", lr=1e-3, epochs=epochs, batch_size=BATCH,
                           steps_per_epoch=steps, loss="dice-ce")


def bare_loop(steps: int) -> float:
    """What a user writes by hand: the same model, seed, batches (the engine's sampler order) and loss."""
    import torch

    import zoo
    from zoo.training.parts import dice_ce

    train = Boxes(steps * BATCH, 0)
    started = time.perf_counter()  # like the engine's time, from building the model on
    torch.manual_seed(0)
    model = zoo.build(MODEL)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0)).tolist()
    loader = torch.utils.data.DataLoader(train, batch_size=BATCH, sampler=order)
    for x, y in loader:
        loss = dice_ce(model(x), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return time.perf_counter() - started


def engine(steps: int, out: Path) -> float:
    import zoo

    data = (Boxes(steps * BATCH, 0), Boxes(2, 1))
    started = time.perf_counter()
    zoo.train(MODEL, data, out=out, recipe=recipe(steps), progress=False)
    return time.perf_counter() - started


def worker(args: argparse.Namespace) -> None:
    import torch

    import zoo

    torch.set_num_threads(1)
    zoo.train(MODEL, (Boxes(args.steps * BATCH, 0), Boxes(2, 1)), out=args.out, recipe=recipe(args.steps, 2),
              progress=False)


def scaling(steps: int, processes: int, folder: Path) -> float:
    out = folder / f"scale-{processes}"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
                    __file__, "--worker", "--steps", str(steps), "--out", str(out)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    with open(out / "metrics.csv", newline="") as handle:
        second = list(csv.DictReader(handle))[1]
    return steps * BATCH / float(second["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        bare_loop(2), engine(2, folder / "warm-up")  # imports (MONAI, TensorBoard) and first-call costs
        bare, ours = [], []
        for repeat in range(args.repeats):
            bare.append(bare_loop(args.steps))
            ours.append(engine(args.steps, folder / f"engine-{repeat}"))
        print(f"{MODEL}, {SIZE}x{SIZE}, global batch {BATCH}, {args.steps} steps, 1 thread, torch {torch.__version__}")
        print(f"bare loop      {min(bare):7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in bare)})")
        print(f"zoo.train      {min(ours):7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in ours)}; includes "
              "validation of 2 images and writing best + last)")
        print(f"engine overhead: {min(ours) / min(bare) - 1:+.1%}")
        one, two = scaling(args.steps, 1, folder), scaling(args.steps, 2, folder)
        print(f"throughput 1 process {one:6.1f} samples/s, 2 processes {two:6.1f} samples/s "
              f"(torchrun, gloo, 1 thread each): speed-up {two / one:.2f}x, scaling efficiency {two / one / 2:.0%}")


if __name__ == "__main__":
    main()
