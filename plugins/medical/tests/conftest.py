"""Test-session settings for zoo-medical."""

import os

import torch

# The tests run small tensors, where intra-op threads buy nothing and, on a busy machine, OpenMP
# barrier spinning costs a lot (we measured a tiny U-Net step 40x slower with 2 threads on a
# shared 2-core box). An explicit OMP_NUM_THREADS still wins.
if "OMP_NUM_THREADS" not in os.environ:
    torch.set_num_threads(1)
