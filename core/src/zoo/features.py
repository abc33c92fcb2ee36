"""Multi-scale features of any zoo backbone: ``zoo.load(name, features_only=True)``.

timm's ``features_only`` idea, done without rebuilding the network: each :class:`zoo.ModelSpec`
declares its levels (:class:`zoo.FeatureLevel`: module path, channels, stride), and
:class:`FeatureExtractor` puts forward hooks on those modules, runs the model and stops it as
soon as the deepest requested level has been computed — the classifier head (and any stage past
the last requested level) never runs. Transformer token outputs are laid out on their grid.

The wrapped model keeps its own parameter names under ``model.``. Given an example input, the
extractor runs it once and replaces every module that did not run (the classifier, the final norm
of a ViT, stages past the last requested level) by ``nn.Identity``, as timm's ``features_only``
drops the head: a detector's optimiser and its checkpoints then hold no unused parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from zoo.building import call_model
from zoo.errors import ConfigError, InputShapeError
from zoo.specs import FeatureLevel, ModelSpec


class _LevelsDone(Exception):
    """Raised by the deepest requested level's hook to stop the forward pass there."""


def _find_module(model: nn.Module, path: str) -> nn.Module:
    try:
        return model.get_submodule(path)
    except AttributeError:
        raise ConfigError(f"{type(model).__name__} has no module {path!r} (declared as a feature level)") from None


def _select(levels: Sequence[FeatureLevel], out_indices: Sequence[int] | None, name: str) -> tuple[int, ...]:
    if out_indices is None:
        return tuple(range(len(levels)))
    indices = tuple(out_indices)
    if not indices or not all(isinstance(i, int) for i in indices):
        raise ConfigError(f"{name}: out_indices must be a non-empty sequence of ints, got {out_indices!r}")
    resolved = tuple(i % len(levels) if -len(levels) <= i < len(levels) else -1 for i in indices)
    if -1 in resolved:
        raise ConfigError(f"{name}: out_indices {list(indices)} out of range for {len(levels)} feature levels "
                          f"({', '.join(f'{i}: {lv.module}' for i, lv in enumerate(levels))})")
    if list(resolved) != sorted(set(resolved)):
        raise ConfigError(f"{name}: out_indices must be increasing and distinct, got {list(indices)}")
    return resolved


class FeatureExtractor(nn.Module):
    """A backbone that returns its feature maps: ``x -> [F_i for i in out_indices]``.

    ``F_i`` is ``[B, channels_i, ~H / stride_i, ~W / stride_i]`` (``feature_info[i]``). The input
    is whatever the wrapped model takes (its own shape checks apply).
    """

    def __init__(self, model: nn.Module, levels: Sequence[FeatureLevel], out_indices: Sequence[int] | None = None,
                 *, example: Any = None):
        super().__init__()
        name = getattr(model, "zoo_name", type(model).__name__)
        if not levels:
            raise ConfigError(f"{name} declares no feature levels (ModelSpec.features); it cannot be a backbone")
        self.model = model
        self.out_indices = _select(levels, out_indices, name)
        self.feature_info: tuple[FeatureLevel, ...] = tuple(levels[i] for i in self.out_indices)
        for level in self.feature_info:
            _find_module(model, level.module)
        # No zoo_name here: the extractor is not the registered model (zoo.save and the spec's
        # explain_layer apply to self.model).
        self.name = name
        self.train(model.training)  # a loaded (pretrained) model comes in eval mode: keep it
        if example is not None:
            self._prune(example)

    def _prune(self, example: Any) -> None:
        """Replace the modules that ``example`` does not reach by ``nn.Identity`` (see the module docstring)."""
        called: set[int] = set()
        handles = [m.register_forward_pre_hook(lambda module, args: called.add(id(module)))
                   for m in self.model.modules()]
        modes = [(m, m.training) for m in self.modules()]
        self.eval()  # no BatchNorm statistics updated by the trial run
        try:
            with torch.no_grad():
                self(example)
        finally:
            for handle in handles:
                handle.remove()
            for module, mode in modes:
                module.training = mode
        unused = {name for name, module in self.model.named_modules()
                  if name and any(True for _ in module.parameters())
                  and not any(id(m) in called for m in module.modules())}
        for name in unused:
            parent_name, _, attribute = name.rpartition(".")
            if parent_name in unused or any(parent_name.startswith(f"{other}.") for other in unused):
                continue  # an unused parent goes, and its children with it
            self.model.get_submodule(parent_name)._modules[attribute] = nn.Identity()

    @property
    def channels(self) -> list[int]:
        return [level.channels for level in self.feature_info]

    @property
    def strides(self) -> list[int]:
        return [level.stride for level in self.feature_info]

    def _as_map(self, output: Any, level: FeatureLevel, input_hw: tuple[int, int]) -> Tensor:
        if level.prefix_tokens is None:
            return output
        tokens = output[:, level.prefix_tokens:]
        height, width = input_hw
        h, w = math.ceil(height / level.stride), math.ceil(width / level.stride)
        if h * w != tokens.shape[1]:
            raise InputShapeError(f"{self.name}: level {level.module!r} gives {tokens.shape[1]} tokens, "
                                  f"not the {h} x {w} grid of a {height} x {width} input at stride {level.stride}")
        return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], h, w)

    def forward(self, x: Any) -> list[Tensor]:
        image = x if isinstance(x, Tensor) else next((v for v in (x.values() if isinstance(x, dict) else x)
                                                      if isinstance(v, Tensor)), None)
        input_hw = tuple(image.shape[-2:]) if image is not None else (0, 0)
        records: list[Tensor | None] = [None] * len(self.feature_info)

        def hook_of(index: int):
            level, last = self.feature_info[index], index == len(self.feature_info) - 1

            def hook(module: nn.Module, args: Any, output: Any) -> None:
                records[index] = self._as_map(output, level, input_hw)
                if last:
                    raise _LevelsDone

            return hook

        # Hooks live for one call only: a deep copy of the extractor (an EMA model, say) must not
        # carry hooks that write into another extractor's records.
        handles = [self.model.get_submodule(level.module).register_forward_hook(hook_of(index))
                   for index, level in enumerate(self.feature_info)]
        try:
            call_model(self.model, x)
        except _LevelsDone:
            pass
        finally:
            for handle in handles:
                handle.remove()
        missing = [lv.module for lv, r in zip(self.feature_info, records) if r is None]
        if missing:
            raise ConfigError(f"{self.name}: feature levels {missing} were not computed by the forward pass")
        return records

    def frozen_parameters(self, stages: int) -> list[str]:
        """Names of the parameters up to the end of level ``stages - 1`` in registration order (the stem
        with the first level): what mmdet's ``frozen_stages=stages`` freezes. ``stages <= 0``: none."""
        if stages <= 0:
            return []
        if stages > len(self.feature_info):
            raise ConfigError(f"{self.name}: frozen_stages={stages} but only {len(self.feature_info)} levels")
        prefix = f"model.{self.feature_info[stages - 1].module}."
        names = [n for n, _ in self.named_parameters()]
        last = max((i for i, n in enumerate(names) if n.startswith(prefix)), default=-1)
        return names[:last + 1]


def feature_extractor(model: nn.Module, spec: ModelSpec, out_indices: Sequence[int] | None = None) -> FeatureExtractor:
    """``model`` (built from ``spec``) as a pruned :class:`FeatureExtractor` over the spec's levels; the
    spec's example input (on the model's device, meta included) finds the modules that never run."""
    from zoo.specs import resolve

    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    with torch.random.fork_rng(devices=[]), torch.device(device):  # the caller's random stream is untouched
        example = resolve(spec.example_input)(getattr(model, "zoo_config", None) or dict(spec.default_config))
    return FeatureExtractor(model, spec.features, out_indices, example=example)
