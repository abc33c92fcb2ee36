"""The training engine behind ``zoo train`` and :func:`zoo.train`.

One loop for every model and dataset in the zoo, on PyTorch's own machinery: under ``torchrun``
(``WORLD_SIZE`` > 1) it joins the process group (gloo on CPU, nccl on GPU), wraps the model in
``DistributedDataParallel`` - or shards it with FSDP (``fully_shard``) when it has more than
:data:`FSDP_MIN_PARAMS` parameters - and gives each process its share of every global batch through
a ``DistributedSampler``. Gradients are accumulated over ``batch_size / (micro_batch * world)``
micro-batches per optimiser step, so a recipe's global batch is the same on 1 process or 8.
Rank 0 alone logs (progress bar, ``metrics.csv``, TensorBoard events) and writes checkpoints.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from zoo.errors import ConfigError, TrainingError
from zoo.specs import resolve
from zoo.training import checkpoint, parts
from zoo.training.recipe import LOSSES, TrainRecipe

FSDP_MIN_PARAMS = 100_000_000
VALIDATION_SPLITS = ("val", "validation", "test")


class _Indices(torch.utils.data.Sampler):
    """A fixed list of dataset indices: this process's share of the epoch, from the resume point on."""

    def __init__(self, indices: list[int]):
        self.indices = indices

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        # NCCL for the GPU tensors (DDP, FSDP), gloo beside it for the small CPU tensors of the engine's own
        # collectives (losses, metric sums, the time budget), which NCCL alone cannot carry
        torch.distributed.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")
    if torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _open_data(spec, data, data_options: dict[str, Any], holds_out: bool = False):
    """(task, train set, validation set) from ``"name:root"``, ``"name"`` or a ``(train, validation)`` pair;
    a dataset with the one split ``all`` gives ``(task, all, None)`` when the recipe's prepare ``holds_out``."""
    from zoo.api import dataset
    from zoo.registry import get_registry

    if isinstance(data, (tuple, list)):
        return spec.task, data[0], data[1]
    name, _, root = str(data).partition(":")
    dataset_spec = get_registry().dataset(name)
    if dataset_spec.task != spec.task:
        raise ConfigError(f"{spec.name!r} is a {spec.task} model but dataset {name!r} is for "
                          f"{dataset_spec.task}: pick a {spec.task} dataset (zoo.list_datasets())")
    validation = next((s for s in VALIDATION_SPLITS if s in dataset_spec.splits), None)
    root = root or None
    if tuple(dataset_spec.splits) == ("all",) and holds_out:
        # one series (a weather archive): the recipe's prepare hook holds the validation part out
        return dataset_spec.task, dataset(name, root, split="all", **data_options), None
    if "train" not in dataset_spec.splits or validation is None:
        raise ConfigError(f"dataset {name!r} has splits {list(dataset_spec.splits)}: zoo train needs 'train' "
                          f"and one of {VALIDATION_SPLITS}")
    return (dataset_spec.task, dataset(name, root, split="train", **data_options),
            dataset(name, root, split=validation, **data_options))


def _epoch_indices(size: int, recipe: TrainRecipe, epoch: int, rank: int, world: int, per_step: int,
                   steps_per_epoch: int) -> list[int]:
    """This process's indices for ``epoch``: DistributedSampler permutations, repeated when a recipe's
    epoch is a fixed number of steps longer than a pass (nnU-Net), cut to whole optimiser steps."""
    from torch.utils.data import DistributedSampler

    class _Sized:
        def __len__(self) -> int:
            return size

    need = steps_per_epoch * per_step
    indices: list[int] = []
    repeat = 0
    while len(indices) < need:
        sampler = DistributedSampler(_Sized(), num_replicas=world, rank=rank, shuffle=True, seed=recipe.seed,
                                     drop_last=True)
        sampler.set_epoch(epoch * 100_003 + repeat)
        indices += list(sampler)
        repeat += 1
    return indices[:need]


def _rng_state() -> dict[str, Any]:
    import numpy as np

    kind, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": (kind, torch.from_numpy(keys.astype("int64")), position, has_gauss, cached)}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np

    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def train(model: str, data, *, out: str | os.PathLike, recipe: str | TrainRecipe | None = None,
          epochs: int | None = None, batch_size: int | None = None, micro_batch: int | None = None,
          lr: float | None = None, config: dict[str, Any] | None = None, data_options: dict[str, Any] | None = None,
          resume: bool = False, checkpoint_every: int | None = None, workers: int = 0, device: str | None = None,
          progress: bool = True, on_epoch_end=None, fsdp: str = "auto",
          time_budget: float | None = None) -> dict[str, Any]:
    """Train registry model ``model`` with one of its recipes on a zoo dataset; see ``docs/training.md``.

    ``data`` is ``"dataset:root"`` (or ``"dataset"``, read from ``$ZOO_DATA/dataset``) whose reader gets
    ``data_options``, or a ``(train, validation)`` pair of map-style datasets. ``recipe`` is a recipe name
    of the model's spec (default: its first) or a :class:`TrainRecipe`; ``epochs``, ``batch_size``
    (global), ``micro_batch`` and ``lr`` override it. ``config`` overrides the model's config; the class
    count and input channels default to the dataset's. Writes ``out/last`` and ``out/best`` (zoo folders:
    ``zoo.load(out / "best")``), ``out/metrics.csv`` and TensorBoard events under ``out/tensorboard``.
    ``checkpoint_every`` also writes ``last`` every that many optimiser steps; ``resume`` continues the run
    in ``out`` exactly where its ``last`` checkpoint stopped. ``on_epoch_end(epoch, model)`` may return more
    metrics to log (rank 0). ``fsdp`` is ``"auto"`` (shard models over :data:`FSDP_MIN_PARAMS` parameters
    when there are several processes), ``"always"`` or ``"never"``. ``time_budget`` (seconds of training,
    validation excluded) ends the run after the optimiser step that exhausts it, with a last validation
    and checkpoint (equal-time comparisons). Returns the final metrics and the checkpoint paths.
    """
    from zoo.api import build
    from zoo.registry import get_registry

    spec = get_registry().model(model)
    if parts.task_kind(spec.task) not in parts.TASK_METRICS:
        kinds = sorted(parts.TASK_METRICS)
        reason = f": {spec.no_recipe}" if spec.no_recipe else ""
        raise ConfigError(f"zoo train handles {kinds} (and *-classification) models; {model!r} is a "
                          f"{spec.task} model{reason}")
    if time_budget is not None and time_budget <= 0:
        raise ConfigError(f"time_budget must be a positive number of seconds, got {time_budget}")
    if not isinstance(recipe, TrainRecipe):
        recipe = spec.get_recipe(recipe)
    overrides = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size), ("micro_batch", micro_batch),
                                   ("lr", lr)) if v is not None}
    recipe = recipe.replace(**overrides) if overrides else recipe
    if parts.task_kind(spec.task) == "detection":  # before any data is read
        _check_detection_recipe(spec.name, recipe)
    out = Path(out).expanduser()
    if not resume and ((out / "metrics.csv").exists() or (out / "last").exists()):
        raise TrainingError(f"{out} already holds a run; pass resume=True (--resume) to continue it or choose "
                            "another output folder")
    rank, world = _distributed()
    dev = torch.device(device or (f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available()
                                  else "cpu"))
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if recipe.precision == "fp16" and dev.type == "cpu":
        # CPU autocast has no float16 path worth the name (and no GradScaler need): run the recipe in fp32
        warnings.warn(f"recipe {recipe.name!r} trains in fp16, which needs a GPU; on the CPU it runs in fp32",
                      stacklevel=2)
        recipe = recipe.replace(precision="fp32")

    task, train_set, val_set = _open_data(spec, data, dict(data_options or {}), holds_out=recipe.prepare is not None)
    if task != spec.task:
        raise ConfigError(f"{model!r} is a {spec.task} model, the data is for {task}")
    if recipe.prepare is not None:
        train_set, val_set = resolve(recipe.prepare)(train_set, val_set, recipe, dict(config or {}))
    if val_set is None:
        raise ConfigError(f"recipe {recipe.name!r}: its prepare hook gave no validation set")
    # point-cloud and node classifiers are scored like any classifier: the data's collate gives one label per
    # cloud, or one per node of a graph (-100 for the nodes outside the split, cross-entropy's ignore_index)
    task = parts.task_kind(task)
    if task == "recommendation" and not hasattr(val_set, "evaluate"):
        raise ConfigError(f"{model!r} ranks items: its validation data must score the model itself "
                          "(an evaluate(model) method, e.g. Recall@20 over all items); give the recipe a prepare "
                          "hook that builds it")
    if recipe.loss == "dice-ce" and task != "segmentation":
        raise ConfigError(f"recipe {recipe.name!r} uses the dice-ce loss, which needs a segmentation dataset")
    if len(val_set) == 0:
        raise ConfigError("the validation split is empty: zoo train validates every epoch")
    micro = recipe.micro_batch or recipe.batch_size // world
    if micro * world == 0 or recipe.batch_size % (micro * world):
        raise ConfigError(f"the global batch {recipe.batch_size} must split into {world} process(es) x whole "
                          f"micro-batches of {micro}")
    accumulation = recipe.batch_size // (micro * world)
    per_step = micro * accumulation  # samples one process puts through per optimiser step
    passes = len(train_set) // recipe.batch_size
    steps_per_epoch = recipe.steps_per_epoch or passes
    if steps_per_epoch == 0:
        raise ConfigError(f"the training split has {len(train_set)} items, fewer than one global batch of "
                          f"{recipe.batch_size}")
    total_steps = steps_per_epoch * recipe.epochs

    resume_folder, state = (checkpoint.read_state(out, spec.name) if resume else (None, None))
    if state is not None:
        config = state["model_config"]
        if state["world_size"] != world or state["recipe"] != recipe.as_dict():
            raise ConfigError(f"cannot resume {out}: it ran with {state['world_size']} process(es) and recipe "
                              f"{state['recipe']}; now {world} and {recipe.as_dict()}")
    else:
        config = parts.adapt_config(spec, dict(config or {}), train_set)
    torch.manual_seed(recipe.seed)  # the same initial weights on every process
    net = build(spec.name, **config).to(dev)
    config = dict(net.zoo_config)
    if task == "detection" and not callable(getattr(net, "predict", None)):
        raise ConfigError(f"{spec.name!r}: zoo train validates a detector through its predict(images, "
                          "conf_threshold=...) -> per image [n, 6] (x1, y1, x2, y2, score, class); it has none")
    torch.manual_seed(recipe.seed + rank)  # each process its own augmentation draws
    if resume_folder is not None:
        from zoo.serialization import read_safetensors

        # the folder holds the EMA weights when the recipe keeps an average; the raw ones are in the state
        net.load_state_dict(state["model"] if state.get("model") is not None
                            else read_safetensors(resume_folder / "model.safetensors"))
    num_params = sum(p.numel() for p in net.parameters())
    if fsdp not in ("auto", "always", "never"):
        raise ConfigError(f"fsdp must be 'auto', 'always' or 'never', got {fsdp!r}")
    # A model that trains a different subset of its parameters at each step (SN-Net draws one stitch
    # configuration per step) says so: DDP must then look for the unused ones, which FSDP's gathers cannot do.
    varying = bool(getattr(net, "trains_parameter_subsets", False))
    if world > 1 and varying and fsdp == "always":
        raise ConfigError(f"{spec.name!r} trains a different subset of its parameters at each step, which FSDP "
                          "cannot shard: train it with --fsdp never (or auto)")
    sharded = world > 1 and not varying and (fsdp == "always" or (fsdp == "auto" and num_params > FSDP_MIN_PARAMS))
    if sharded and recipe.ema_decay:
        raise ConfigError(f"{spec.name!r} is sharded with FSDP ({num_params:,} parameters); EMA of sharded "
                          "weights is not supported: train it with ema_decay=0")
    if sharded:
        from torch.distributed.fsdp import fully_shard

        fully_shard(net)
        trained = net
    elif world > 1:
        trained = torch.nn.parallel.DistributedDataParallel(net, device_ids=[dev.index] if dev.type == "cuda"
                                                            else None, find_unused_parameters=varying)
    else:
        trained = net
    optimiser = parts.optimiser(recipe, net.parameters())
    schedule = parts.scheduler(recipe, optimiser, total_steps, steps_per_epoch)
    scaler = torch.amp.GradScaler(dev.type, enabled=recipe.precision == "fp16")
    ema = None
    if recipe.ema_decay:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(recipe.ema_decay), use_buffers=True)
    loss_of = parts.loss_fn(recipe, train_set)
    augment = parts.augmentation(recipe)
    epoch_start = resolve(recipe.epoch_start) if recipe.epoch_start else None
    autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(recipe.precision)

    epoch, step_in_epoch, global_step, best, stale = 0, 0, 0, None, 0
    if state is not None:
        optimiser.load_state_dict(_optimiser_state(state["optimiser"], sharded, net, optimiser, load=True))
        schedule.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        epoch, step_in_epoch, global_step, best = (state["epoch"], state["step_in_epoch"], state["global_step"],
                                                   state["best"])
        stale = state.get("stale", 0)
        _set_rng_state(state["rng"][rank])
        if step_in_epoch == steps_per_epoch:
            epoch, step_in_epoch = epoch + 1, 0

    logger = _Logger(out, resume=state is not None, completed_epochs=epoch) if rank == 0 else None
    loss_sum, loss_count = torch.zeros((), dtype=torch.float64), 0
    if state is not None and step_in_epoch:
        loss_sum, loss_count = state["epoch_loss"]

    def save(kind: str, metrics: dict[str, Any], with_state: bool) -> None:
        full = _full_state_dict(net, sharded)
        if with_state:
            states = [None] * world
            rng = _rng_state()
            if world > 1:
                torch.distributed.all_gather_object(states, rng)
            else:
                states = [rng]
            training_state = {
                "epoch": epoch, "step_in_epoch": step_in_epoch, "global_step": global_step, "best": best,
                "stale": stale,
                "optimiser": _optimiser_state(optimiser.state_dict(), sharded, net, optimiser),
                "scheduler": schedule.state_dict(), "scaler": scaler.state_dict(),
                "ema": ema.state_dict() if ema is not None else None, "rng": states, "world_size": world,
                "recipe": recipe.as_dict(), "model_config": config, "epoch_loss": (loss_sum, loss_count),
                "model": full if ema is not None else None,
            }
        error = None
        if rank == 0:
            weights = ({k: v.detach().cpu() for k, v in ema.module.state_dict().items()} if ema is not None
                       else full)
            section = _card_section(recipe, metrics, global_step, world, data)
            try:
                checkpoint.write(out, kind, global_step, checkpoint.Snapshot(weights, spec.name, config),
                                 card_section=section, state=training_state if with_state else None)
            except TrainingError as caught:
                error = caught
        if world > 1:
            # every process learns whether rank 0's write failed, instead of waiting on it forever
            failed = torch.tensor([int(error is not None)])
            torch.distributed.all_reduce(failed)
            if error is None and failed.item():
                raise TrainingError(f"rank 0 could not write the {kind!r} checkpoint under {out}")
        if error is not None:
            raise error

    bar = None
    if rank == 0 and progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, initial=global_step, desc=spec.name, unit="step", dynamic_ncols=True)
    metrics: dict[str, Any] = {}
    trained_seconds, out_of_time = 0.0, False
    loader_generator = torch.Generator()  # keeps DataLoader from drawing on the global RNG (resume)
    while epoch < recipe.epochs:
        indices = _epoch_indices(len(train_set), recipe, epoch, rank, world, per_step, steps_per_epoch)
        loader = torch.utils.data.DataLoader(train_set, batch_size=micro, sampler=_Indices(
            indices[step_in_epoch * per_step:]), num_workers=workers, generator=loader_generator,
            collate_fn=parts.collate_fn(train_set, task))
        if epoch_start is not None:
            for module in (net, ema.module if ema is not None else None):
                if module is not None:
                    epoch_start(module, epoch, recipe)
        trained.train()
        started = time.perf_counter()
        batches = iter(loader)
        while step_in_epoch < steps_per_epoch:
            for micro_step in range(accumulation):
                x, y = parts.split_batch(next(batches), recipe.inputs)
                if augment is not None:
                    x, y = augment(x, y, task)
                x, y = parts.to_device(x, dev), parts.to_device(y, dev)
                last_micro = micro_step == accumulation - 1
                sync = trained.no_sync() if (world > 1 and not sharded and not last_micro) else contextlib.nullcontext()
                with sync:
                    with torch.autocast(dev.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                        loss = loss_of(parts.forward(trained, x), y, net)
                    scaler.scale(loss / accumulation).backward()
                loss_sum += float(loss.detach())
                loss_count += 1
            if recipe.grad_clip:
                scaler.unscale_(optimiser)
                torch.nn.utils.clip_grad_norm_(net.parameters(), recipe.grad_clip)
            scaler.step(optimiser)
            scaler.update()
            optimiser.zero_grad(set_to_none=True)
            schedule.step()
            if ema is not None:
                ema.update_parameters(net)
            step_in_epoch += 1
            global_step += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{float(loss.detach()):.4f}")
            if checkpoint_every and global_step % checkpoint_every == 0 and step_in_epoch < steps_per_epoch:
                save("last", metrics, with_state=True)
            if time_budget is not None and _out_of_time(trained_seconds + time.perf_counter() - started,
                                                        time_budget, world):
                out_of_time = True
                break
        trained_seconds += time.perf_counter() - started
        train_loss = _mean_over_processes(loss_sum, loss_count, world)
        evaluated = ema.module if ema is not None else net
        name, value, val_loss, more = _validate(evaluated, val_set, task, recipe, loss_of, micro, rank, world,
                                                dev, autocast_dtype)
        metrics = {"epoch": epoch + 1, "step": global_step, "lr": optimiser.param_groups[0]["lr"],
                   "train_loss": train_loss, "val_loss": val_loss, name: value, **more,
                   "seconds": time.perf_counter() - started}
        if on_epoch_end is not None and rank == 0:
            metrics.update(on_epoch_end(epoch + 1, evaluated) or {})
        score = (value if parts.higher_is_better(name) else -value) if recipe.select == "metric" else -val_loss
        improved = best is None or score > best
        best = score if improved else best
        stale = 0 if improved else stale + 1
        if improved:
            save("best", metrics, with_state=False)
        save("last", metrics, with_state=True)
        if logger is not None:
            logger.log(metrics)
        epoch, step_in_epoch = epoch + 1, 0
        loss_sum, loss_count = torch.zeros((), dtype=torch.float64), 0
        if out_of_time or (recipe.patience and stale >= recipe.patience):
            break
    if bar is not None:
        bar.close()
    if logger is not None:
        logger.close()
    if world > 1:
        torch.distributed.barrier()
    return {"metrics": metrics, "best": best, "last": out / "last", "best_folder": out / "best",
            "world_size": world, "accumulation": accumulation, "sharded": sharded, "out_of_time": out_of_time}


def _out_of_time(elapsed: float, budget: float, world: int) -> bool:
    """Whether the time budget is spent; under DDP rank 0's clock decides for everyone, so all stop alike."""
    spent = torch.tensor([float(elapsed >= budget)])
    if world > 1:
        torch.distributed.broadcast(spent, 0)
    return bool(spent.item())


def _mean_over_processes(total: torch.Tensor, count: int, world: int) -> float:
    both = torch.stack([total, torch.tensor(float(count), dtype=torch.float64)])
    if world > 1:
        torch.distributed.all_reduce(both)
    return float(both[0] / both[1].clamp(min=1))


@torch.no_grad()
def _validate(model, dataset, task, recipe, loss_of, batch, rank, world, dev, autocast_dtype):
    """The task's metric over the whole validation split: each process takes every world-th item (padded so
    all run the same number of forwards, which FSDP's gathers need; padding carries weight 0). A validation
    set with ``evaluate(model) -> {metric: value}`` scores itself (the first metric selects; no loss)."""
    if hasattr(dataset, "evaluate"):
        was_training = model.training
        model.eval()
        scores = dataset.evaluate(model)
        model.train(was_training)
        name = next(iter(scores))
        return name, float(scores[name]), float("nan"), {k: v for k, v in scores.items() if k != name}
    if task == "detection":
        return _validate_detection(model, dataset, recipe, batch, rank, world, dev, autocast_dtype)
    mine, weights = _split(list(range(len(dataset))), rank, world)
    was_training = model.training
    model.eval()
    sums, loss_sum = None, torch.zeros((), dtype=torch.float64)
    for start in range(0, len(mine), batch):
        items = [dataset[i] for i in mine[start:start + batch]]
        x, y = parts.split_batch(parts.collate_fn(dataset)(items), recipe.inputs)
        x, y = parts.to_device(x, dev), parts.to_device(y, dev)
        weight = torch.tensor(weights[start:start + batch], device=dev)
        with torch.autocast(dev.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            logits = parts.forward(model, x)
        logits = logits.float()
        batch_sums = parts.metric_sums(task, recipe, logits, y, weight).double().cpu()
        loss_sum += float(loss_of(logits, y, model)) * float(batch_sums[0])  # the loss is a mean over what is counted
        sums = batch_sums if sums is None else sums + batch_sums
    totals = torch.cat([sums, loss_sum[None]])
    if world > 1:
        torch.distributed.all_reduce(totals)
    model.train(was_training)
    name, value = parts.metric_value(task, totals[:-1])
    return name, value, float(totals[-1] / totals[0].clamp(min=1)), {}


def _check_detection_recipe(model: str, recipe: TrainRecipe) -> None:
    """A detector trains on its own loss (a recipe loss hook, or the data's) and is selected by its mAP."""
    if recipe.loss in LOSSES and recipe.loss != "data":
        raise ConfigError(f"recipe {recipe.name!r} of {model!r}: a detector trains with its own loss; give the "
                          f"recipe a loss hook loss='module:function' (fn(output, targets, model) -> scalar), "
                          f"not the built-in {recipe.loss!r}")
    if recipe.select == "val-loss":
        raise ConfigError(f"recipe {recipe.name!r}: a detector is validated by mAP@0.5 over its predictions "
                          "(no validation loss); use select='metric'")


def _split(items: list[int], rank: int, world: int) -> tuple[list[int], list[float]]:
    """This process's every world-th index, padded (weight 0) so all processes run as many forwards."""
    mine = items[rank::world]
    rounds = -(-len(items) // world)
    weights = [1.0] * len(mine) + [0.0] * (rounds - len(mine))
    return mine + [mine[-1] if mine else 0] * (rounds - len(mine)), weights


def _validate_detection(model, dataset, recipe, batch, rank, world, dev, autocast_dtype):
    """mAP@0.5 of ``model.predict`` over the validation split (:func:`parts.detection_sums`). A detector in eval
    mode returns predictions, not what its training loss reads, so there is no validation loss (NaN)."""
    mine, weights = _split(list(range(len(dataset))), rank, world)
    classes = getattr(model, "num_classes", None) or getattr(dataset, "num_classes", None)
    if not classes:
        raise ConfigError("detection validation needs the class count: a num_classes attribute on the model "
                          "or the dataset")
    was_training = model.training
    model.eval()
    sums = None
    for start in range(0, len(mine), batch):
        items = [dataset[i] for i in mine[start:start + batch]]
        x, y = parts.split_batch(parts.collate_fn(dataset, "detection")(items), recipe.inputs)
        weight = torch.tensor(weights[start:start + batch])
        with torch.autocast(dev.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            found = model.predict(parts.to_device(x, dev), conf_threshold=parts.DETECTION_CONF)
        batch_sums = parts.detection_sums([f.float() for f in found], y, tuple(x.shape[-2:]), weight, int(classes))
        sums = batch_sums if sums is None else sums + batch_sums
    if world > 1:
        torch.distributed.all_reduce(sums)
    model.train(was_training)
    name, value = parts.metric_value("detection", sums)
    return name, value, float("nan"), {}


def _full_state_dict(net, sharded: bool) -> dict[str, torch.Tensor]:
    if sharded:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        return get_model_state_dict(net, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return {k: v.detach().cpu() for k, v in net.state_dict().items()}


def _optimiser_state(state: dict, sharded: bool, net, optimiser, load: bool = False) -> dict:
    """The optimiser's state as one full (unsharded) dict under FSDP; as it is otherwise."""
    if not sharded:
        return state
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_optimizer_state_dict,
        set_optimizer_state_dict,
    )

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    if load:
        set_optimizer_state_dict(net, optimiser, state, options=options)
        return optimiser.state_dict()
    return get_optimizer_state_dict(net, optimiser, options=options)


def _card_section(recipe: TrainRecipe, metrics: dict[str, Any], step: int, world: int, data) -> str:
    rows = "\n".join(f"| {k} | {v:.6g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items())
    source = f" ({recipe.source.cite()})" if recipe.source else ""
    # the dataset's name only: a card is published, the local root is nobody's business
    where = str(data).partition(":")[0] if isinstance(data, str) else "datasets passed to zoo.train"
    return (f"\n## Training\n\nTrained with `zoo train`: recipe `{recipe.name}`{source}, {step} optimiser steps "
            f"on {world} process(es), data `{where}`.\n\n| metric | value |\n|---|---|\n{rows}\n")


class _Logger:
    """Rank 0's per-epoch record: ``metrics.csv`` and TensorBoard event files under ``tensorboard/``."""

    def __init__(self, out: Path, *, resume: bool, completed_epochs: int):
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "metrics.csv"
        self.rows: list[dict[str, Any]] = []
        if resume and self.path.exists():  # epochs logged after the checkpoint are run again
            with open(self.path, newline="") as handle:
                self.rows = [r for r in csv.DictReader(handle) if int(r["epoch"]) <= completed_epochs]
        from torch.utils.tensorboard import SummaryWriter

        # a resumed run drops the events of the epochs it runs again
        self.events = SummaryWriter(str(out / "tensorboard"), purge_step=completed_epochs + 1 if resume else None)
        self._write()

    def log(self, metrics: dict[str, Any]) -> None:
        self.rows.append(metrics)
        self._write()
        for key, value in metrics.items():
            if key not in ("epoch", "step") and isinstance(value, (int, float)):
                self.events.add_scalar(key, value, metrics["epoch"])
        self.events.flush()

    def _write(self) -> None:
        if not self.rows:
            return
        fields = list(dict.fromkeys(k for row in self.rows for k in row))
        temporary = self.path.with_suffix(".csv.tmp")
        with open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(temporary, self.path)

    def close(self) -> None:
        self.events.close()
