"""`zoo plugin new NAME` writes a plugin that installs and passes its own conformance kit as generated,
and the plugin-author guide shows exactly those files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.cli import main
from zoo.errors import ConfigError
from zoo.scaffold import new_plugin

ROOT = Path(__file__).resolve().parents[1]


def test_a_scaffolded_plugin_installs_and_passes_its_tests(tmp_path, capsys):
    assert main(["plugin", "new", "acme-labs", "--dir", str(tmp_path)]) == 0
    folder = tmp_path / "zoo-acme-labs"
    assert f"wrote {folder}" in capsys.readouterr().out
    assert (folder / "src" / "zoo_acme_labs" / "models" / "convnet_specs.py").is_file()

    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                           str(ROOT / "pyproject.toml"), str(folder)], capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "--target", str(site), str(folder)], check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
               ZOO_STRICT_PLUGINS="1")
    env.pop("ZOO_LOAD_PLUGINS", None)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
                            cwd=folder, env=env, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    # the kit (loads, light listing, 2 models, 1 dataset) and the reader's 2 tests: nothing skipped
    assert "7 passed" in result.stdout and "skipped" not in result.stdout


def test_bad_names_and_existing_folders_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="kebab-case"):
        new_plugin("Acme_Labs", tmp_path)
    new_plugin("acme", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        new_plugin("acme", tmp_path)


def test_the_guide_shows_what_the_scaffold_writes():
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_plugin_guide.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
