"""Every registered model says how to train it: a paper recipe, or a ``no_recipe`` reason; the recipes'
hooks resolve, docs/recipes.md is current and ``zoo info`` prints them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from zoo.registry import get_registry
from zoo.specs import resolve
from zoo.training.parts import TASK_METRICS, task_kind

ROOT = Path(__file__).parents[1]


def test_every_model_has_recipes_or_says_why_not():
    missing = [s.name for s in get_registry().models() if not s.recipes and not s.no_recipe.strip()]
    assert not missing, f"models without a recipe or a no_recipe reason: {missing}"
    for spec in get_registry().models():
        if spec.recipes:  # a recipe is only declared for a task the engine scores
            assert task_kind(spec.task) in TASK_METRICS, spec.name
            assert all(r.source is not None for r in spec.recipes), f"{spec.name}: a recipe cites its source"


def test_every_recipe_hook_resolves_to_a_function():
    for spec in get_registry().models():
        for recipe in spec.recipes:
            hooks = [recipe.prepare, recipe.epoch_start, recipe.loss, recipe.augmentation]
            for hook in hooks:
                if hook and ":" in hook:
                    assert callable(resolve(hook)), f"{spec.name} / {recipe.name}: {hook}"


def test_recipes_page_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_recipes.py"), "--check"],
                            capture_output=True, text=True, check=False,
                            env=dict(os.environ, ZOO_STRICT_PLUGINS="1"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("model", "expected"), [
    ("ultragcn", "recipe amazon-cds: adam lr=0.001"),
    ("vanillanet-5", "recipe imagenet: lamb lr=0.0035 wd=0.35 cosine, 300 epochs, batch 1024"),
    ("evolvegcn-h", "recipes: none - a sample is a window of graph snapshots"),
])
def test_info_shows_the_recipe_or_the_reason(model, expected, capsys):
    from zoo.cli import main

    assert main(["info", model]) == 0
    assert expected in capsys.readouterr().out
    assert zoo.info(model)["no_recipe"] == get_registry().model(model).no_recipe
