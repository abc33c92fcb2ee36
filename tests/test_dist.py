"""`pip install zoo-medical` for real: wheels built as `make dist` builds them, installed alone into a
clean virtual environment (torch installed first, as the README says), then used through the CLI and
the API there."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=900, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_zoo_medical_installs_alone_from_the_wheelhouse(tmp_path):
    wheelhouse = tmp_path / "dist"
    for project in ("core", "plugins/medical"):
        # A copy, so the build leaves nothing in the source tree; the VERSION link is followed.
        source = tmp_path / "src" / project
        shutil.copytree(ROOT / project, source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info"))
        _run(sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", wheelhouse, source)
    version = (ROOT / "VERSION").read_text().strip()
    assert sorted(p.name for p in wheelhouse.iterdir()) == [
        f"zoo_core-{version}-py3-none-any.whl", f"zoo_medical-{version}-py3-none-any.whl"]

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python, pip = venv / "bin" / "python", [venv / "bin" / "python", "-m", "pip", "install", "--quiet",
                                            "--disable-pip-version-check", "-c", ROOT / "constraints.txt"]
    _run(*pip, "torch==2.13.0")
    _run(*pip, "--find-links", wheelhouse, "zoo-medical")

    listed = _run(venv / "bin" / "zoo", "list").stdout
    assert "scse-unet-2d" in listed and "medvit-v2-tiny" in listed
    assert "gcn" not in listed.split() and "edge-3dsnn" not in listed
    code = ("import zoo, zoo_medical, importlib.metadata as m\n"
            "model = zoo.load('scse-unet-2d')\n"
            "print(sum(p.numel() for p in model.parameters()), zoo.__version__, m.version('zoo-medical'))\n"
            "print(sorted(p['name'] for p in zoo.plugin_report()))\n"
            "print(zoo_medical.__file__)\n")
    params, plugins, location = _run(python, "-c", code, cwd=tmp_path).stdout.splitlines()
    assert params.split() == ["1719361", version, version]
    assert plugins == "['explainers', 'medical']"
    assert str(venv) in location  # the installed wheel, not the source tree
