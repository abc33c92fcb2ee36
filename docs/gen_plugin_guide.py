"""Write the files of `zoo plugin new mything` into docs/plugin-authors.md (between the markers).

The guide thus shows exactly what the scaffold writes, and tests/test_scaffold.py installs that
output and runs its conformance kit: the guide's example is tested code.

    python docs/gen_plugin_guide.py            # rewrite the section
    python docs/gen_plugin_guide.py --check    # exit 1 if the section is stale (run by the tests)
"""

from __future__ import annotations

import sys
from pathlib import Path

from generated_pages import write_or_check

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
    guide = TARGET.read_text()
    if START not in guide or END not in guide:
        print(f"{TARGET} lacks the {START} / {END} markers", file=sys.stderr)
        return 1
    return write_or_check(TARGET, updated(guide), "gen_plugin_guide.py")


if __name__ == "__main__":
    sys.exit(main())
