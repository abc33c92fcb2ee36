"""LA-GCN vs plain GCN on a Planetoid graph (public split), side by side over several seeds.

Liu et al., "Local Augmentation for Graph Neural Networks", ICML 2022 (arXiv:2109.03856) report
that local augmentation improves GCN by 3.4% on average over Cora, CiteSeer and PubMed. One
CVAE generator is pre-trained and selected once (as the authors do for all their runs); then for
each seed a GCN (hidden 16) and an LA-GCN (hidden 8, concat 1, 4 samples, λ = 1, T = 0.5) are
trained with the same optimiser (Adam lr 0.01, weight decay 5e-4) and the same model selection
(lowest validation loss over ``--epochs`` epochs). LA-GCN is trained twice per seed: with the
authors' initialisation (their ``normal_(-stdv, stdv)``: mean −1/√out, std 1/√out) and with
torch_geometric's glorot. Test accuracy is reported as mean ± std.

    .venv/bin/python benchmarks/bench_graph_lagnn.py --root ../shared/data/planetoid --seeds 10
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from zoo_graph.data.planetoid import load_planetoid
from zoo_graph.models.lagnn import build_lagnn
from zoo_graph.train.lagnn import INITS, pretrain_cvae, train_la
from zoo_graph.train.node import train_node_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1].parent / "shared/data/planetoid"))
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="to split the seeds over processes")
    parser.add_argument("--epochs", type=int, default=200, help="per model and seed (authors: 2000 for LA-GCN)")
    parser.add_argument("--la-epochs", type=int, default=0, help="LA-GCN epochs if not --epochs")
    parser.add_argument("--inits", nargs="*", default=["shifted-normal", "glorot"], choices=INITS,
                        help="LA-GCN initialisations to train (shifted-normal: the authors'); none: GCN only")
    parser.add_argument("--cvae-epochs", type=int, default=2, help="authors: 10")
    parser.add_argument("--select-every", type=int, default=20, help="score the generator every n steps (authors: 1)")
    parser.add_argument("--num-models", type=int, default=20, help="dropout passes per score (authors: 100)")
    parser.add_argument("--warmup", type=int, default=100, help="CVAE steps before selection (authors: 200)")
    parser.add_argument("--pool", type=int, default=16, help="pre-generated feature matrices (0: decode afresh)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    raw = load_planetoid(args.root, args.dataset)
    data = load_planetoid(args.root, args.dataset, normalize_features=True)
    num_classes = int(data.y.max()) + 1
    print(f"{args.dataset}: {data.num_nodes} nodes, {data.x.shape[1]} features, {num_classes} classes; "
          f"{args.seeds} seeds x {args.epochs} epochs; {torch.get_num_threads()} thread(s)")

    started = time.perf_counter()
    if args.inits:
        cvae = pretrain_cvae(raw.x, raw.edge_index, raw.y, raw.train_mask, epochs=args.cvae_epochs,
                             warmup=args.warmup, num_models=args.num_models, select_every=args.select_every,
                             generator=torch.Generator().manual_seed(0))
        print(f"CVAE pre-training and selection: {time.perf_counter() - started:.0f}s")

    results: dict[str, list[float]] = {"GCN": [], **{f"LA-GCN ({init})": [] for init in args.inits}}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        baseline = {"in_channels": data.x.shape[1], "hidden_channels": 16, "out_channels": num_classes, "dropout": 0.5}
        results["GCN"].append(train_node_classifier("gcn", data, config=baseline, epochs=args.epochs,
                                                    seed=seed)["test_acc"])
        for init in args.inits:
            torch.manual_seed(seed)
            model = build_lagnn("gcn", in_channels=data.x.shape[1], hidden_channels=8, out_channels=num_classes,
                                concat=1, dropout=0.5)
            results[f"LA-GCN ({init})"].append(
                train_la(model, data, cvae, raw.x, epochs=args.la_epochs or args.epochs, pool=args.pool or None,
                         init=init, generator=torch.Generator().manual_seed(seed))["test_acc"])
        print(f"  seed {seed}: " + "  ".join(f"{k} {v[-1]:.4f}" for k, v in results.items()), flush=True)

    def fmt(values):
        return f"{100 * statistics.mean(values):.2f} ± {100 * statistics.stdev(values):.2f}"

    print()
    print(f"{'':26s}{'test accuracy (%)':>20s}")
    for name, values in results.items():
        print(f"{name:26s}{fmt(values):>20s}")
    gcn_acc = results["GCN"]
    for name, values in list(results.items())[1:]:
        gain = 100 * (statistics.mean(values) - statistics.mean(gcn_acc))
        print(f"{name} - GCN: {gain:+.2f} points; >= GCN on {sum(a >= b for a, b in zip(values, gcn_acc))}"
              f"/{args.seeds} seeds")
    print(f"total {time.perf_counter() - started:.0f}s wall, {time.process_time():.0f}s CPU")


if __name__ == "__main__":
    main()
