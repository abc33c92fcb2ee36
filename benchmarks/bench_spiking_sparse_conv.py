"""Sparse 3-D convolution (zoo_spiking) against a dense ``conv3d`` and spconv's CPU forward, side by side.

    .venv/bin/python benchmarks/bench_spiking_sparse_conv.py [--grid 64] [--channels 32] [--threads N]

For 1 %, 5 % and 20 % of a 64^3 grid occupied (uniformly random voxels, one cloud), it times a
3x3x3 submanifold conv (rulebook reused, as within an E-3DSNN stage, and with the rulebook built
in the same call), the same layer in spconv 2.3.8 (the authors' library; its CPU build, same two
cases, on one thread: its CPU kernels give wrong sums with more) and a dense
``torch.nn.functional.conv3d(padding=1)`` on the densified input, and it measures the bytes the
zoo's and the dense forward allocate with the torch profiler. Times are the best of ``--repeat``
runs (robust to other load on the machine). All outputs agree at the active sites. It also shows
that spconv's CPU build has no backward, where the zoo's has one.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from _timing import best_time

from zoo_spiking.blocks.sparse_conv import SparseTensor, SubMConv3d, submanifold_rulebook


def spconv_layer(conv: SubMConv3d):
    """spconv's SubMConv3d with the zoo layer's weights (spconv stores ``[C_out, k, k, k, C_in]``)."""
    import spconv.pytorch as spconv

    layer = spconv.SubMConv3d(conv.in_channels, conv.out_channels, conv.kernel_size, bias=False, indice_key="bench")
    with torch.no_grad():
        layer.weight.copy_(conv.weight.permute(4, 0, 1, 2, 3))
    return layer


def spconv_tensor(feats, coords, grid):
    import spconv.pytorch as spconv

    return spconv.SparseConvTensor(feats, coords.int(), [grid] * 3, 1)


def spconv_backward_error(layer, feats, coords, grid) -> str:
    try:
        layer(spconv_tensor(feats.clone().requires_grad_(), coords, grid)).features.sum().backward()
    except Exception as error:  # noqa: BLE001 - we report whatever spconv raises
        return f"{type(error).__name__}: {str(error).splitlines()[0][:70]}"
    return "none (it ran)"


def one_thread(fn):
    def run():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn()
        finally:
            torch.set_num_threads(threads)

    return run


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
    spconv_conv = spconv_layer(conv)
    header = (f"{'occupancy':>9} {'voxels':>7} {'pairs':>8} | {'dense ms':>9} {'sparse ms':>9} {'+rulebook':>9} | "
              f"{'spconv ms':>9} {'+rulebook':>9} | {'vs dense':>8} {'(w/ rb)':>8} | {'vs spconv':>9} {'(w/ rb)':>8} | "
              f"{'dense MB':>8} {'sparse MB':>9} {'ratio':>6}")
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

        @one_thread
        def spconv_with_rulebook(feats=feats, coords=coords):
            return spconv_conv(spconv_tensor(feats, coords, g))

        with torch.no_grad():
            cached = spconv_with_rulebook()  # its indice_dict holds the rulebook under "bench"

            @one_thread
            def spconv_sparse(cached=cached, feats=feats):
                return spconv_conv(cached.replace_feature(feats))

            reference = dense()[0, :, coords[:, 1], coords[:, 2], coords[:, 3]].T
            torch.testing.assert_close(sparse().feats, reference, rtol=1e-4, atol=1e-4)
            torch.testing.assert_close(spconv_sparse().features, reference, rtol=1e-4, atol=1e-4)
            t_dense = best_time(dense, args.repeat)
            t_sparse = best_time(sparse, args.repeat)
            t_full = best_time(sparse_with_rulebook, args.repeat)
            t_spconv = best_time(spconv_sparse, args.repeat)
            t_spconv_full = best_time(spconv_with_rulebook, args.repeat)
            m_dense = allocated_bytes(dense) + grid.numel() * 4  # + the dense input it needs
            m_sparse = allocated_bytes(sparse) + feats.numel() * 4
        print(f"{occupancy:>9.0%} {n:>7} {rulebook.num_pairs:>8} | {t_dense * 1e3:>9.1f} {t_sparse * 1e3:>9.1f} "
              f"{t_full * 1e3:>9.1f} | {t_spconv * 1e3:>9.1f} {t_spconv_full * 1e3:>9.1f} | "
              f"{t_dense / t_sparse:>7.1f}x {t_dense / t_full:>7.1f}x | {t_spconv / t_sparse:>8.1f}x "
              f"{t_spconv_full / t_full:>7.1f}x | "
              f"{m_dense / 2**20:>8.1f} {m_sparse / 2**20:>9.1f} {m_dense / m_sparse:>5.1f}x")
    feats = torch.randn(50, c, requires_grad=True)
    coords = torch.cat([torch.zeros(50, 1, dtype=torch.long), torch.randperm(g**3)[:50, None] // g**2,
                        torch.randint(0, g, (50, 2))], 1)
    conv(SparseTensor(feats, coords, 1)).feats.sum().backward()
    print(f"backward: zoo's sparse conv: grad norm {feats.grad.norm():.3f}; "
          f"spconv CPU: {spconv_backward_error(spconv_conv, feats.detach(), coords, g)}")


if __name__ == "__main__":
    main()
