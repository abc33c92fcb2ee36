import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE_PLUGIN = Path(__file__).parent / "example_plugin"


@pytest.fixture(scope="session")
def example_plugin_site(tmp_path_factory):
    """The example plugin installed by pip into a scratch site folder (not into the venv)."""
    site = tmp_path_factory.mktemp("example-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-build-isolation", "--target", str(site), str(EXAMPLE_PLUGIN)],
        check=True,
    )
    return site
