import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def fresh_registry():
    """Rediscover plugins before and after a test that registers or breaks some."""
    from zoo.registry import _runtime_plugins, reset_registry

    saved = list(_runtime_plugins)
    reset_registry()
    yield
    _runtime_plugins[:] = saved
    reset_registry()
