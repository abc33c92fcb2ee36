"""Run this plugin's tests on one torch thread (the core's ``one_torch_thread`` fixture).

Sparse convolution and multi-step neurons issue many small operations; on a shared 2-core machine
PyTorch's second intra-op thread makes them 5-20x slower (it waits on a descheduled peer).
"""

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield
