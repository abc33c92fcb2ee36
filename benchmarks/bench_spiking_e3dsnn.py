"""E-3DSNN-T (``edge-3dsnn``) on one 8,192-point cloud on the CPU: latency, active sites, spikes, energy.

    .venv/bin/python benchmarks/bench_spiking_e3dsnn.py [--shape torus] [--threads N]

The cloud follows the authors' ModelNet40 pipeline: 10,000 surface points with normals on a
built-in mesh, farthest-point sampled to 8,192, normalised to the unit sphere, voxelised at 0.01.
It reports, side by side in one run:

* preprocessing (FPS, voxelisation) and forward latency (best of ``--repeat``, eval mode);
* active sites per stage and, per stage, the sparse convolutions' multiply-accumulates against
  those of dense ``conv3d`` s over the same bounding grids (the ratio is what sparsity saves);
* spike rates per spiking layer and the paper's style of energy estimate (E_MAC = 4.6 pJ for the
  two layers fed real values, E_AC = 0.9 pJ per synaptic operation for spike-fed layers, one AC
  per unit of integer spike count). Untrained weights with the initial BN statistics barely
  spike, so this pass normalises with batch statistics (BN in training mode) -- a stand-in for a
  trained network's activity, not the paper's measured energy.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import defaultdict

import torch
from _timing import best_time

import zoo
from zoo_spiking.blocks.sparse_conv import SparseConv3d, SubMConv3d
from zoo_spiking.data import collate, farthest_point_sample, normalize_coord, sample_shape, voxelize

E_MAC, E_AC = 4.6e-12, 0.9e-12


def stage_of(name: str) -> str:
    return name.split(".")[0] if name.startswith("stem") or name == "final" else ".".join(name.split(".")[:2])


def count_operations(model, x):
    """Per conv: (stage, sparse MACs, dense-equivalent MACs, synaptic ops, fed by spikes?)."""
    records = []
    names = {id(m): n for n, m in model.named_modules()}

    def hook(module, inputs, output):
        sparse_in = inputs[0]
        key = f"{module.indice_key}/subm{module.kernel_size}" if isinstance(module, SubMConv3d) else module.indice_key
        rulebook = sparse_in.rulebooks.get(key) if module.kernel_size > 1 else None
        cin, cout = module.in_channels, module.out_channels
        feats = sparse_in.feats
        if rulebook is None:  # 1x1x1 head: identity pairs
            pairs, spikes = len(feats), float(feats.sum())
        else:
            flat = rulebook._flat
            pairs = len(flat.rows_in) + (len(feats) if flat.identity is not None else 0)
            spikes = float(feats[flat.rows_in].sum()) + (float(feats.sum()) if flat.identity is not None else 0.0)
        extent = sparse_in.coords[:, 1:].max(0).values + 1
        stride = module.stride if isinstance(module, SparseConv3d) else 1
        dense_sites = math.prod(int(math.ceil(e / stride)) for e in extent)
        spiking = bool(torch.all(feats == feats.round()) and feats.min() >= 0)
        records.append((names[id(module)], pairs * cin * cout, dense_sites * module.kernel_size**3 * cin * cout,
                        spikes * cout, spiking))

    handles = []
    for module in model.modules():
        if isinstance(module, (SubMConv3d, SparseConv3d)):
            handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(*x)
    for handle in handles:
        handle.remove()
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="torus")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    g = torch.Generator().manual_seed(0)
    points, normals = sample_shape(args.shape, 10_000, generator=g)
    start = time.perf_counter()
    keep = farthest_point_sample(points, 8192)
    t_fps = time.perf_counter() - start
    start = time.perf_counter()
    coords, feats = voxelize(normalize_coord(points[keep]), normals[keep], grid_size=0.01)
    t_vox = time.perf_counter() - start
    x = collate([(coords, feats)])

    model = zoo.build("edge-3dsnn").eval()
    with torch.no_grad():
        t_forward = best_time(lambda: model(*x), args.repeat)
    print(f"edge-3dsnn (E-3DSNN-T, {sum(p.numel() for p in model.parameters()):,} params), torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s); one '{args.shape}' cloud: 8,192 points -> {len(coords):,} voxels")
    print(f"latency: FPS 10k->8192 {t_fps * 1e3:.0f} ms | voxelise {t_vox * 1e3:.1f} ms | "
          f"forward {t_forward * 1e3:.1f} ms (eval, best of {args.repeat})")
    print("active sites:", ", ".join(f"{k} {v:,}" for k, v in model.active_sites.items()))

    model.train()  # batch-statistics BN: see the module docstring
    records = count_operations(model, x)
    rates = model.spike_rates()
    by_stage = defaultdict(lambda: [0, 0, 0.0])
    energy = 0.0
    for name, macs, dense_macs, sops, spiking in records:
        stage = by_stage[stage_of(name)]
        stage[0] += macs
        stage[1] += dense_macs
        energy += sops * E_AC if spiking else macs * E_MAC
    print(f"\n{'stage':<7} {'sparse MACs':>13} {'dense conv3d MACs':>18} {'dense/sparse':>12}")
    for stage, (macs, dense_macs, _) in by_stage.items():
        print(f"{stage:<7} {macs:>13,} {dense_macs:>18,} {dense_macs / macs:>11.0f}x")
    total, total_dense = sum(s[0] for s in by_stage.values()), sum(s[1] for s in by_stage.values())
    print(f"{'total':<7} {total:>13,} {total_dense:>18,} {total_dense / total:>11.0f}x")
    print("\nspike rate per layer (mean integer spike count / 4), BN with batch statistics:")
    for name, rate in rates.items():
        print(f"  {name:<32} {rate:.3f}")
    ann_energy = total * E_MAC
    print(f"energy estimate: {energy * 1e3:.4f} mJ spiking (AC on spike counts) vs {ann_energy * 1e3:.4f} mJ "
          f"for the same sparse network with MACs ({ann_energy / energy:.1f}x)")


if __name__ == "__main__":
    main()
