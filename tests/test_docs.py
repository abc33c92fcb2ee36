"""The generated model table matches the registry (as datasette tests its plugin-hook docs)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_models_table_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_models.py"), "--check"],
                            capture_output=True, text=True, check=False,
                            env=dict(os.environ, ZOO_STRICT_PLUGINS="1"))
    assert result.returncode == 0, result.stderr


def test_every_hook_is_documented_for_plugin_authors():
    import zoo.hookspecs

    guide = (ROOT / "docs" / "plugin-authors.md").read_text()
    hooks = [name for name in vars(zoo.hookspecs) if name.startswith("zoo_")]
    assert hooks and all(f"`{hook}(" in guide for hook in hooks)


def test_the_docs_site_builds_without_broken_links(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
