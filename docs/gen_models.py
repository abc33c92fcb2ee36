"""Write docs/models.md from the registry: one table per domain, every installed model.

    python docs/gen_models.py            # rewrite docs/models.md
    python docs/gen_models.py --check    # exit 1 if docs/models.md is stale (run by the tests)
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from generated_pages import write_or_check

from zoo.registry import get_registry

TARGET = Path(__file__).parent / "models.md"


def render() -> str:
    registry = get_registry()
    by_domain = defaultdict(list)
    for spec in registry.models():
        by_domain[spec.domain].append(spec)
    lines = ["# Models", "", "Generated from the registry by `python docs/gen_models.py`; do not edit by hand.", ""]
    for domain in sorted(by_domain):
        lines += [f"## {domain}", "", "| name | task | params | weights | paper | plugin |",
                  "|---|---|---:|---|---|---|"]
        for spec in by_domain[domain]:
            paper = spec.paper.title
            if spec.paper.arxiv:
                paper = f"[{paper}](https://arxiv.org/abs/{spec.paper.arxiv})"
            weights = ", ".join(w.tag for w in spec.weights) or "—"
            plugin = registry.plugins[registry.plugin_of("model", spec.name)].distribution or "—"
            lines.append(f"| `{spec.name}` | {spec.task} | {spec.num_params:,} | {weights} | {paper} | {plugin} |")
        lines.append("")
    datasets = registry.datasets()
    if datasets:
        lines += ["## Datasets", "", "| name | domain | expected files | where to get it |", "|---|---|---|---|"]
        lines += [f"| `{d.name}` | {d.domain} | {d.layout} | {d.homepage or '—'} |" for d in datasets]
        lines.append("")
    lines += ["## Explainers", "", "| name | needs gradients | paper |", "|---|---|---|"]
    for spec in registry.explainers():
        paper = spec.paper.title if spec.paper else "—"
        if spec.paper and spec.paper.arxiv:
            paper = f"[{paper}](https://arxiv.org/abs/{spec.paper.arxiv})"
        lines.append(f"| `{spec.name}` | {'yes' if spec.needs_gradients else 'no'} | {paper} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    return write_or_check(TARGET, render(), "gen_models.py")


if __name__ == "__main__":
    sys.exit(main())
