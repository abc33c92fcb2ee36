"""Sparse 3-D convolution (zoo_spiking) against a dense ``conv3d`` on the same input, side by side.

    .venv/bin/python benchmarks/bench_spiking_sparse_conv.py [--grid 64] [--channels 32] [--threads N]

For 1 %, 5 % and 20 % of a 64^3 grid occupied (uniformly random voxels, one cloud), it times a
3x3x3 submanifold conv (rulebook reused, as within an E-3DSNN stage, and with the rulebook built
in the same call) and a dense ``torch.nn.functional.conv3d(padding=1)`` on the densified input,
and it measures the bytes each allocates per forward with the torch profiler. Times are the best
of ``--repeat`` runs (robust to other load on the machine). The outputs agree at the active sites.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from _timing import best_time

from zoo_spiking.blocks.sparse_conv import SparseTensor, SubMConv3d, submanifold_rulebook


def allocated_bytes(fn) -> int:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return sum(e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=64)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--occupancy", type=float, nargs="+", default=[0.01, 0.05, 0.20])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    g, c = args.grid, args.channels
    torch.manual_seed(0)
    conv = SubMConv3d(c, c, 3)
    dense_weight = conv.weight.detach().permute(4, 3, 0, 1, 2).contiguous()
    print(f"grid {g}^3, {c} -> {c} channels, kernel 3, torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    header = (f"{'occupancy':>9} {'voxels':>7} {'pairs':>8} | {'dense ms':>9} {'sparse ms':>9} {'+rulebook':>9} | "
              f"{'speed-up':>8} {'(w/ rb)':>8} | {'dense MB':>8} {'sparse MB':>9} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for occupancy in args.occupancy:
        n = int(round(occupancy * g**3))
        flat = torch.randperm(g**3)[:n]
        coords = torch.stack([torch.zeros_like(flat), flat // g**2, (flat // g) % g, flat % g], 1)
        feats = torch.randn(n, c)
        grid = torch.zeros(1, c, g, g, g)
        grid[0, :, coords[:, 1], coords[:, 2], coords[:, 3]] = feats.T

        def dense(grid=grid):
            return F.conv3d(grid, dense_weight, padding=1)

        x = SparseTensor(feats, coords, 1)
        rulebook = submanifold_rulebook(coords, 3)
        x.rulebooks["bench/subm3"] = rulebook
        conv.indice_key = "bench"

        def sparse(x=x):
            return conv(x)

        def sparse_with_rulebook(feats=feats, coords=coords):
            return conv(SparseTensor(feats, coords, 1))

        with torch.no_grad():
            reference = dense()[0, :, coords[:, 1], coords[:, 2], coords[:, 3]].T
            torch.testing.assert_close(sparse().feats, reference, rtol=1e-4, atol=1e-4)
            t_dense = best_time(dense, args.repeat)
            t_sparse = best_time(sparse, args.repeat)
            t_full = best_time(sparse_with_rulebook, args.repeat)
            m_dense = allocated_bytes(dense) + grid.numel() * 4  # + the dense input it needs
            m_sparse = allocated_bytes(sparse) + feats.numel() * 4
        print(f"{occupancy:>9.0%} {n:>7} {rulebook.num_pairs:>8} | {t_dense * 1e3:>9.1f} {t_sparse * 1e3:>9.1f} "
              f"{t_full * 1e3:>9.1f} | {t_dense / t_sparse:>7.1f}x {t_dense / t_full:>7.1f}x | "
              f"{m_dense / 2**20:>8.1f} {m_sparse / 2**20:>9.1f} {m_dense / m_sparse:>5.1f}x")


if __name__ == "__main__":
    main()
