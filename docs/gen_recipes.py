"""Write docs/recipes.md from the registry: every installed model's training recipes, or why it has none.

    python docs/gen_recipes.py            # rewrite docs/recipes.md
    python docs/gen_recipes.py --check    # exit 1 if docs/recipes.md is stale (run by the tests)
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from generated_pages import write_or_check

from zoo.registry import get_registry
from zoo.training.cli import describe

TARGET = Path(__file__).parent / "recipes.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "—"


def render() -> str:
    registry = get_registry()
    by_domain = defaultdict(list)
    for spec in registry.models():
        by_domain[spec.domain].append(spec)
    lines = ["# Training recipes", "",
             "Generated from the registry by `python docs/gen_recipes.py`; do not edit by hand. Each model's "
             "recipes are data on its `ModelSpec` (see [Training](training.md)); `zoo train MODEL --recipe NAME` "
             "runs one (the first by default) and `zoo info MODEL` prints them. Models that share the same "
             "recipes are listed together.", ""]
    for domain in sorted(by_domain):
        lines += [f"## {domain}", ""]
        groups: dict[tuple, list[str]] = {}
        for spec in by_domain[domain]:
            key = (tuple(repr(r.as_dict()) for r in spec.recipes), spec.no_recipe)
            groups.setdefault(key, []).append(spec.name)
        for (_, no_recipe), names in groups.items():
            spec = registry.model(names[0])
            lines += [f"### {', '.join(f'`{n}`' for n in names)}", ""]
            if not spec.recipes:
                lines += [f"No recipe: {no_recipe}", ""]
                continue
            lines += ["| recipe | values | from | notes |", "|---|---|---|---|"]
            for recipe in spec.recipes:
                data = recipe.as_dict()
                lines.append(f"| `{recipe.name}` | {_cell(describe(data))} | {_cell(data.get('source') or '')} "
                             f"| {_cell(recipe.notes)} |")
            lines.append("")
    return "\n".join(lines)


def main() -> int:
    return write_or_check(TARGET, render(), "gen_recipes.py")


if __name__ == "__main__":
    sys.exit(main())
