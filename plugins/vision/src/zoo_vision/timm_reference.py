"""timm as a reference implementation (tests and benchmarks), imported beside the CPU torch.

timm's metadata requires torchvision, whose PyPI wheels pin other torch builds, so zoo installs timm
with ``--no-deps`` (``requirements-nodeps.txt``). The model code we compare with never calls
torchvision; timm only references it at import time. When torchvision is absent, ``import_timm``
serves an empty stand-in for ``torchvision`` and every ``torchvision.*`` before importing timm.
"""

from __future__ import annotations

import importlib.util
import sys
import types


class _Anything(type):
    """A class whose every missing attribute is another such class, one per name (so that enum-like
    members such as ``InterpolationMode.BICUBIC`` stay distinct): enough for timm's import-time
    references (``FrozenBatchNorm2d``, dataset classes ...)."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        member = _Anything(f"{cls.__name__}.{name}", (), {})
        setattr(cls, name, member)
        return member


class _StandIn(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(name, (), {})


class _StandInFinder:
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StandIn(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def _real_torchvision() -> bool:
    module = sys.modules.get("torchvision")
    if module is not None:
        return getattr(module, "__file__", None) is not None
    return importlib.util.find_spec("torchvision") is not None


def import_timm():
    """The ``timm`` module (installed separately: ``pip install --no-deps timm``)."""
    if "timm" in sys.modules or _real_torchvision():
        import timm

        return timm
    # Another stand-in (the explainer parity tests' one for pytorch-grad-cam) may hold a few names
    # only; ours serves every torchvision.* that timm imports - and only while timm imports: left in
    # place, it would pass for torchvision to every later importer (mmengine reads its __version__).
    _drop_torchvision_modules()
    finder = _StandInFinder()
    sys.meta_path.append(finder)
    try:
        import timm
    finally:
        sys.meta_path.remove(finder)
        _drop_torchvision_modules()
    return timm


def _drop_torchvision_modules() -> None:
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
