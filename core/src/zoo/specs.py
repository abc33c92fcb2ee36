"""The metadata that plugins register: frozen dataclasses with *lazy* builders.

A spec never holds a class or a function, only a ``"package.module:function"`` string that zoo
imports when the object is actually needed. Listing every model of every plugin therefore
imports no model code, no torch and no domain library.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zoo.errors import SpecError

NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
TAG_PATTERN = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
REF_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
COMMIT_PATTERN = re.compile(r"^[0-9a-f]{40}$")
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def resolve(reference: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise SpecError(f"{reference!r}: module {module_name!r} has no attribute {attribute!r}") from None


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise SpecError(f"{kind} name {name!r} must be lower-case kebab-case, e.g. 'scse-unet-3d'")


def _check_ref(owner: str, what: str, reference: str | None, required: bool = True) -> None:
    if reference is None and not required:
        return
    if not isinstance(reference, str) or not REF_PATTERN.match(reference):
        raise SpecError(f"{owner}: {what} must be a 'package.module:function' string, got {reference!r}")


@dataclass(frozen=True)
class Paper:
    """Where an architecture or method was published."""

    title: str
    arxiv: str = ""
    venue: str = ""
    url: str = ""
    code: str = ""  # the authors' repository

    def cite(self) -> str:
        parts = [self.title]
        if self.venue:
            parts.append(self.venue)
        if self.arxiv:
            parts.append(f"arXiv:{self.arxiv}")
        return ", ".join(parts)


@dataclass(frozen=True)
class WeightsSpec:
    """One set of pretrained weights on the Hugging Face Hub, pinned and checksummed.

    ``zoo.load("name.tag", pretrained=True)`` selects it; ``pretrained=True`` alone takes the
    spec's first weights or the one marked ``default``.
    """

    tag: str
    repo_id: str
    revision: str  # a 40-hex commit: a pinned revision makes a warm-cache load touch no network
    sha256: str
    filename: str = "model.safetensors"
    dataset: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)
    license: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)  # overrides of the model's default config
    preprocessing: Mapping[str, Any] = field(default_factory=dict)
    # For an author's checkpoint in their own layout: "module:function" mapping the file's state
    # dict (read with safetensors, or torch.load(weights_only=True) for .pth/.pt) to ours.
    converter: str | None = None
    default: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        owner = f"weights {self.tag!r}"
        if not isinstance(self.tag, str) or not TAG_PATTERN.match(self.tag):
            raise SpecError(f"{owner}: tag must be lower-case, e.g. 'imagenet' or 'modelnet40'")
        if not isinstance(self.repo_id, str) or self.repo_id.count("/") != 1:
            raise SpecError(f"{owner}: repo_id must look like 'org/name', got {self.repo_id!r}")
        if not COMMIT_PATTERN.match(str(self.revision)):
            raise SpecError(f"{owner}: revision must be a pinned 40-hex commit, got {self.revision!r}")
        if not SHA256_PATTERN.match(str(self.sha256)):
            raise SpecError(f"{owner}: sha256 must be 64 lower-case hex digits, got {self.sha256!r}")
        _check_ref(owner, "converter", self.converter, required=False)
        if self.converter is None and not self.filename.endswith(".safetensors"):
            raise SpecError(f"{owner}: {self.filename!r} is not safetensors; give a converter to read it")


@dataclass(frozen=True)
class FeatureLevel:
    """One level of a backbone's multi-scale features (the timm ``features_only`` idea).

    ``module``: the dotted path (as in ``named_modules()``) whose output is the level;
    ``channels`` and ``stride`` (the input's size over the level's, nominally) of the default
    config. ``prefix_tokens``: None when the module gives a ``[B, C, H, W]`` map; for transformer
    tokens ``[B, prefix + h·w, C]`` the number of leading (class) tokens to drop before the tokens
    are laid out on the ``h x w`` grid.
    """

    module: str
    channels: int
    stride: int
    prefix_tokens: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.module, str) or not self.module:
            raise SpecError(f"feature level: module must be a dotted module path, got {self.module!r}")
        for what in ("channels", "stride"):
            value = getattr(self, what)
            if not isinstance(value, int) or value <= 0:
                raise SpecError(f"feature level {self.module!r}: {what} must be a positive int, got {value!r}")
        if self.prefix_tokens is not None and (not isinstance(self.prefix_tokens, int) or self.prefix_tokens < 0):
            raise SpecError(f"feature level {self.module!r}: prefix_tokens must be None or an int >= 0")


@dataclass(frozen=True)
class ModelSpec:
    """A model architecture (one default configuration) that a plugin registers.

    ``builder(**config)`` returns a ``torch.nn.Module``; ``config`` is ``default_config`` updated
    with the weights' and the user's overrides and must stay JSON-serialisable. ``example_input``
    is called with the config and returns a small input: a tensor (``model(x)``), a tuple
    (``model(*x)``) or a dict (``model(**x)``).
    """

    name: str
    domain: str
    task: str
    paper: Paper
    builder: str
    example_input: str
    num_params: int  # of the default config, checked by the conformance kit
    default_config: Mapping[str, Any] = field(default_factory=dict)
    weights: tuple[WeightsSpec, ...] = ()
    # Default explainer target: a dotted module path inside the model (as in named_modules()).
    explain_layer: str | None = None
    # "module:function" mapping the target layer's activations to a spatial grid
    # (e.g. ViT tokens [B, N, C] -> [B, C, H, W]); declared once here, never by the user.
    explain_reshape: str | None = None
    # "module:function"(config) -> an input the model must reject with zoo.errors.InputShapeError.
    # Without it the conformance kit drops the batch dimension of the example input.
    bad_input: str | None = None
    # The input contract in words, shown by `zoo info`: shape, dtype, value range and size limits
    # (e.g. "[B, 1, D, H, W] float; D, H, W multiples of 16"). The model's forward checks it.
    input_shape: str = ""
    tags: tuple[str, ...] = ()
    license: str = ""
    description: str = ""
    # zoo.TrainRecipe's of the paper / the authors' code; the first is what `zoo train` runs by default.
    recipes: tuple = ()
    # Why `zoo train` cannot train this model (a training loop of another shape), for a model without recipes.
    no_recipe: str = ""
    # Multi-scale feature levels, shallow to deep: zoo.load(name, features_only=True) returns them.
    features: tuple[FeatureLevel, ...] = ()

    def __post_init__(self) -> None:
        _check_name("model", self.name)
        owner = f"model {self.name!r}"
        _check_ref(owner, "builder", self.builder)
        _check_ref(owner, "example_input", self.example_input)
        _check_ref(owner, "explain_reshape", self.explain_reshape, required=False)
        _check_ref(owner, "bad_input", self.bad_input, required=False)
        if not isinstance(self.paper, Paper):
            raise SpecError(f"{owner}: paper must be a zoo.Paper")
        if not isinstance(self.num_params, int) or self.num_params <= 0:
            raise SpecError(f"{owner}: num_params must be a positive int, got {self.num_params!r}")
        if not isinstance(self.weights, tuple) or not all(isinstance(w, WeightsSpec) for w in self.weights):
            raise SpecError(f"{owner}: weights must be a tuple of zoo.WeightsSpec")
        tags = [w.tag for w in self.weights]
        if len(set(tags)) != len(tags):
            raise SpecError(f"{owner}: duplicate weights tags {tags}")
        if sum(w.default for w in self.weights) > 1:
            raise SpecError(f"{owner}: more than one weights spec is marked default")
        from zoo.training.recipe import TrainRecipe

        if not isinstance(self.recipes, tuple) or not all(isinstance(r, TrainRecipe) for r in self.recipes):
            raise SpecError(f"{owner}: recipes must be a tuple of zoo.TrainRecipe")
        for recipe in self.recipes:
            if recipe.loss == "dice-ce" and self.task != "segmentation":
                raise SpecError(f"{owner}: recipe {recipe.name!r} uses the dice-ce loss, which is for segmentation")
        if self.recipes and self.no_recipe:
            raise SpecError(f"{owner}: a model with recipes has no no_recipe reason")
        if not isinstance(self.no_recipe, str):
            raise SpecError(f"{owner}: no_recipe must be a string saying why zoo train cannot train it")
        if not isinstance(self.features, tuple) or not all(isinstance(f, FeatureLevel) for f in self.features):
            raise SpecError(f"{owner}: features must be a tuple of zoo.FeatureLevel")
        recipe_names = [r.name for r in self.recipes]
        if len(set(recipe_names)) != len(recipe_names):
            raise SpecError(f"{owner}: duplicate recipe names {recipe_names}")

    @property
    def default_weights(self) -> WeightsSpec | None:
        for weights in self.weights:
            if weights.default:
                return weights
        return self.weights[0] if self.weights else None

    def get_recipe(self, name: str | None = None):
        """The recipe called ``name``, or the first one."""
        from zoo.errors import ConfigError, UnknownNameError

        if not self.recipes:
            if self.no_recipe:
                raise ConfigError(f"{self.name!r} has no zoo train recipe: {self.no_recipe}")
            raise ConfigError(f"{self.name!r} declares no training recipe; pass one: "
                              "zoo.train(..., recipe=zoo.TrainRecipe(...))")
        if name is None:
            return self.recipes[0]
        for recipe in self.recipes:
            if recipe.name == name:
                return recipe
        raise UnknownNameError(f"recipe of {self.name!r}", name, [r.name for r in self.recipes])

    def get_weights(self, tag: str) -> WeightsSpec:
        for weights in self.weights:
            if weights.tag == tag:
                return weights
        from zoo.errors import UnknownNameError

        known = [w.tag for w in self.weights]
        raise UnknownNameError(
            "weights tag", f"{self.name}.{tag}", [f"{self.name}.{t}" for t in known],
            hint=f"{self.name!r} has weights tags {known}" if known else f"{self.name!r} has no pretrained weights",
        )


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset reader for a published on-disk format.

    ``builder(root, split=..., **kwargs)`` reads from a local ``root`` and never downloads;
    a missing root raises :class:`zoo.errors.DatasetNotFoundError` naming ``homepage`` and ``layout``.
    """

    name: str
    domain: str
    task: str
    builder: str
    layout: str  # the files expected under root, e.g. "dataset.json, imagesTr/*.nii.gz, labelsTr/*.nii.gz"
    homepage: str = ""
    splits: tuple[str, ...] = ("train", "test")
    paper: Paper | None = None
    license: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("dataset", self.name)
        _check_ref(f"dataset {self.name!r}", "builder", self.builder)


@dataclass(frozen=True)
class ExplainerSpec:
    """An explanation method.

    ``builder`` resolves to a callable ``explain(model, x, *, target_layer, targets, reshape,
    **options) -> zoo.explain.Explanation``.
    """

    name: str
    builder: str
    paper: Paper | None = None
    needs_gradients: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("explainer", self.name)
        _check_ref(f"explainer {self.name!r}", "builder", self.builder)
