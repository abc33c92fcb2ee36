"""Run this plugin's tests on one torch thread, restoring the caller's setting afterwards.

Sparse convolution and multi-step neurons issue many small operations; on a shared 2-core machine
PyTorch's second intra-op thread makes them 5-20x slower (it waits on a descheduled peer), which
took this suite from ~25 s to ~3 min.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
