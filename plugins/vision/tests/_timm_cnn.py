"""Helpers of the CNN parity tests: timm (the reference) imported beside the CPU torch, a real
photograph, random-but-realistic BN statistics, and parameter counting on the meta device.

timm's metadata requires torchvision, whose wheels pin other torch builds, so timm is installed
with ``--no-deps`` (requirements-nodeps.txt). It references torchvision only at import time; when
torchvision is absent an empty stand-in serves every ``torchvision.*`` import.
"""

from __future__ import annotations

import importlib.util
import sys
import types

import torch


class _Placeholder(type):
    """A class whose every missing attribute is another placeholder, one per name, so that timm's
    import-time tables keyed by them (``InterpolationMode.BICUBIC`` ...) keep distinct keys."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = _Placeholder(f"{cls.__name__}.{name}", (), {})
        setattr(cls, name, value)
        return value


class _StandInModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Placeholder(name, (), {})


class _TorchvisionStandIn:
    """A meta-path finder serving empty modules for ``torchvision`` and its sub-modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] == "torchvision":
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StandInModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def import_timm():
    if "timm" not in sys.modules and importlib.util.find_spec("torchvision") is None:
        sys.meta_path.append(_TorchvisionStandIn())
    import timm

    return timm


def photo(size: int, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)) -> torch.Tensor:
    """scikit-image's ``chelsea`` (a photograph of a cat, 300 x 451) as ``[1, 3, size, size]``, normalised."""
    from skimage import data

    image = torch.from_numpy(data.chelsea().copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    image = torch.nn.functional.interpolate(image, size=(size, size), mode="bilinear", antialias=True)
    return (image - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


@torch.no_grad()
def randomise_batchnorm(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every BN random affine parameters and running statistics, as a trained network has:
    with timm's init (unit statistics, zeroed last BN of each residual branch) a mistake in the
    statistics or in a residual branch would go unseen."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.weight.copy_(torch.rand(n, generator=generator) * 0.5 + 0.5)
            module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)


def meta_count(builder, **config) -> int:
    with torch.device("meta"):
        model = builder(**config)
    return sum(p.numel() for p in model.parameters())


def timm_reference(name: str, **kwargs) -> torch.nn.Module:
    """timm's ``name`` with random weights and randomised BN statistics, in eval mode."""
    torch.manual_seed(0)
    model = import_timm().create_model(name, pretrained=False, **kwargs)
    randomise_batchnorm(model)
    return model.eval()


def load_pinned_through_local_hub(hub, model_name: str, tag: str, state_dict: dict) -> torch.nn.Module:
    """``zoo.load`` of ``model_name``'s weights ``tag``, served by the local Hub as a file holding
    ``state_dict`` (the checkpoint's real key names and shapes).

    The real pins name a commit and a sha256 of huggingface.co's file; here the same spec,
    converter and preprocessing are registered (under ``<model_name>-hubtest``) with the local
    commit and the served file's sha256, and loaded through the real client.
    """
    import dataclasses
    import hashlib

    from safetensors.torch import save

    import zoo
    from zoo.registry import get_registry

    spec = get_registry().model(model_name)
    pinned = spec.get_weights(tag)
    data = save({k: v.contiguous() for k, v in state_dict.items()})
    revision = hub.commit(pinned.repo_id, {pinned.filename: data})
    weights = dataclasses.replace(pinned, revision=revision, sha256=hashlib.sha256(data).hexdigest())
    test_spec = dataclasses.replace(spec, name=f"{model_name}-hubtest", weights=(weights,))

    class _Plugin:
        @zoo.hookimpl
        def zoo_models(self):
            return [test_spec]

    name = zoo.register_plugin(_Plugin(), name=f"{model_name}-hubtest")
    try:
        return zoo.load(f"{test_spec.name}.{tag}", pretrained=True)
    finally:
        zoo.unregister_plugin(name)
