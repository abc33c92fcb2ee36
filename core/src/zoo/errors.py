"""Every error zoo raises on bad input is a :class:`ZooError`.

Messages say what was expected and what was found, so that a user never has to read a stack
trace from deep inside a layer to learn that they passed the wrong shape or misspelt a name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ZooError(Exception):
    """Base class of every error zoo raises on purpose."""


class UnknownNameError(ZooError, KeyError):
    """A model, dataset, explainer or weights tag that no installed plugin registers."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = ""):
        self.kind, self.name, self.known, self.hint = kind, name, list(known), hint
        self.suggestions = difflib.get_close_matches(name, self.known, n=5, cutoff=0.5)
        message = f"unknown {kind} {name!r}"
        if self.suggestions:
            message += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        if hint:
            message += (" " if message.endswith("?") else ". ") + hint
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would quote the whole message
        return self.args[0]


class NameClashError(ZooError):
    """Two plugins register the same name."""


class PluginError(ZooError):
    """A plugin failed to load or returned a malformed spec (raised in strict mode)."""


class SpecError(ZooError, ValueError):
    """A spec is malformed (bad name, bad builder string, missing field)."""


class ConfigError(ZooError, ValueError):
    """A model config is not valid for its builder, or a saved config.json is unreadable."""


class InputShapeError(ZooError, ValueError):
    """An input tensor does not have the shape or dtype a model expects."""


class WeightsError(ZooError):
    """Base class of weight-file problems."""


class CorruptWeightsError(WeightsError):
    """A weight file does not match its pinned sha256 or is not a readable safetensors file."""


class UnsafeWeightsError(WeightsError):
    """A pickled checkpoint was offered; zoo never unpickles weights."""


class StateDictMismatchError(WeightsError):
    """A state dict does not match the model exactly (missing, unexpected or mis-shaped keys)."""


class OfflineError(WeightsError):
    """Weights are needed from the Hub but the machine is offline and they are not cached."""


class HubError(ZooError):
    """The Hub (or the endpoint configured in HF_ENDPOINT) refused or failed a request."""


class DatasetNotFoundError(ZooError, FileNotFoundError):
    """A dataset's files are not under the given root. Says where to get them and where to put them."""

    def __init__(self, name: str, root: str, expected: str, homepage: str = ""):
        message = f"dataset {name!r} not found under {root!r}: expected {expected}."
        if homepage:
            message += f" Get it from {homepage} and place it there (zoo never downloads unasked)."
        super().__init__(message)


class DatasetFormatError(ZooError, ValueError):
    """A dataset's files are there but do not follow the published format (says which file and why)."""


class DeviceError(ZooError, ValueError):
    """A device that is not a torch device, or one this machine's torch cannot use."""


class MissingDependencyError(ZooError, ImportError):
    """An optional library a feature needs is not installed; says which extra installs it."""


class ExplainError(ZooError):
    """An explainer cannot apply to this model or input (says which method and why)."""


def suggest(name: str, known: Iterable[str]) -> list[str]:
    """Close matches of ``name`` among ``known``, best first."""
    return difflib.get_close_matches(name, list(known), n=5, cutoff=0.5)


class TrainingError(ZooError):
    """A training run cannot go on (a checkpoint cannot be written, processes disagree)."""
