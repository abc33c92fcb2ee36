"""What the docs generators share: rewrite a generated page, or with ``--check`` tell whether it is stale."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def write_or_check(target: Path, text: str, script: str) -> int:
    """Write ``text`` to ``target``; with ``--check`` on the command line, write nothing and return 1 (saying
    to run ``script``) when ``target`` differs from it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    if parser.parse_args().check:
        if not target.exists() or target.read_text() != text:
            print(f"{target} is stale: run python docs/{script}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    print(f"wrote {target}")
    return 0
