"""Test settings for zoo-medical."""

import os

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_intra_op_thread():
    """Run each test of this plugin on one intra-op thread, then restore the setting.

    The tests use small tensors, where threads buy nothing and, on a busy machine, OpenMP
    barrier spinning costs a lot (a tiny U-Net step ran 40x slower with 2 threads on a shared
    2-core box). An explicit OMP_NUM_THREADS wins.
    """
    if "OMP_NUM_THREADS" in os.environ:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
