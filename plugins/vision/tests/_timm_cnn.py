"""Helpers of the CNN parity tests: timm (the reference, through zoo_vision.timm_reference) with
randomised BN statistics, a real photograph, and parameter counting on the meta device."""

from __future__ import annotations

import torch

from zoo_vision.timm_reference import import_timm


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
