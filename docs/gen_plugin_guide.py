"""Write the files of `zoo plugin new mything` into docs/plugin-authors.md (between the markers).

The guide thus shows exactly what the scaffold writes, and tests/test_scaffold.py installs that
output and runs its conformance kit: the guide's example is tested code.

    python docs/gen_plugin_guide.py            # rewrite the section
    python docs/gen_plugin_guide.py --check    # exit 1 if the section is stale (run by the tests)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zoo.scaffold import render

TARGET = Path(__file__).parent / "plugin-authors.md"
START, END = "<!-- scaffold:start -->", "<!-- scaffold:end -->"
LANGUAGES = {".py": "python", ".toml": "toml", ".md": "markdown"}


def section() -> str:
    lines = [START, ""]
    for path, text in render("mything").items():
        fence = "````" if "```" in text else "```"
        lines += [f"**`{path}`**", "", fence + LANGUAGES.get(Path(path).suffix, ""), text.rstrip("\n"), fence, ""]
    return "\n".join(lines + [END])


def updated(guide: str) -> str:
    head, _, rest = guide.partition(START)
    _, _, tail = rest.partition(END)
    return head + section() + tail


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    guide = TARGET.read_text()
    if START not in guide or END not in guide:
        print(f"{TARGET} lacks the {START} / {END} markers", file=sys.stderr)
        return 1
    new = updated(guide)
    if args.check:
        if new != guide:
            print(f"{TARGET} is stale: run python docs/gen_plugin_guide.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
