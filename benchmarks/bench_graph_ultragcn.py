"""UltraGCN vs LightGCN (torch_geometric) on a LightGCN-format dataset, side by side in one run.

Mao et al., "UltraGCN: Ultra Simplification of Graph Convolutional Networks for Recommendation",
CIKM 2021 (arXiv:2110.15114) claim a >10x wall-clock speed-up over LightGCN to convergence.
Both models get the same wall-clock training budget (evaluation time excluded, preprocessing
included) with the paper's hyper-parameters; Recall@20 / NDCG@20 over all items (training items
excluded) are measured at checkpoints on a doubling schedule. Reported: time per epoch, best
Recall@20 / NDCG@20 in the budget, and the training time each model needs to reach LightGCN's
best Recall@20 within the budget (UltraGCN's is an upper bound: the first checkpoint at or above).

    .venv/bin/python benchmarks/bench_graph_ultragcn.py --data ../shared/data/recsys/amazon-cds --budget 180
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from zoo_graph.data.recsys import load_user_item
from zoo_graph.models.lightgcn import build_lightgcn
from zoo_graph.models.ultragcn import PAPER_CONFIGS, build_ultragcn
from zoo_graph.recsys import lightgcn as lightgcn_training
from zoo_graph.recsys import ultragcn as ultragcn_training
from zoo_graph.recsys.metrics import evaluate_topk


def checkpoints(budget: float, count: int) -> list[float]:
    return [budget / 2 ** k for k in range(count - 1, -1, -1)]


def run(name, prepare, train_chunk, embeddings, data, budget, count, batches_per_epoch):
    """Train in chunks up to each checkpoint; returns the curve [(train_seconds, recall, ndcg)] and epoch time."""
    started = time.perf_counter()
    state = prepare()
    train_time = time.perf_counter() - started  # preprocessing counts as training time
    curve, batches = [], 0
    for checkpoint in checkpoints(budget, count):
        while train_time < checkpoint:
            t0 = time.perf_counter()
            _, done = train_chunk(state, checkpoint - train_time)
            train_time += time.perf_counter() - t0
            batches += done
        metrics = evaluate_topk(*embeddings(state), data.train, data.test)
        curve.append((train_time, metrics["recall@20"], metrics["ndcg@20"]))
        print(f"  {name:9s} t={train_time:7.1f}s  epochs={batches / batches_per_epoch:6.2f}  "
              f"recall@20={metrics['recall@20']:.4f}  ndcg@20={metrics['ndcg@20']:.4f}", flush=True)
    epoch_time = train_time / (batches / batches_per_epoch)
    return curve, epoch_time, batches / batches_per_epoch


def first_reaching(curve, recall):
    return next((t for t, r, _ in curve if r >= recall), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = Path(__file__).resolve().parents[1].parent / "shared/data/recsys/amazon-cds"
    parser.add_argument("--data", default=str(shared))
    parser.add_argument("--config", default=None, help="UltraGCN paper config name (default: the data folder's name)")
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds per model")
    parser.add_argument("--checkpoints", type=int, default=5, help="evaluations per model, on a doubling schedule")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    data = load_user_item(args.data)
    config = dict(PAPER_CONFIGS[args.config or Path(args.data).name])
    print(f"dataset {Path(args.data).name}: {data.num_users} users x {data.num_items} items, "
          f"{data.train.shape[1]} train / {data.test.shape[1]} test interactions; budget {args.budget:.0f}s per model; "
          f"{torch.get_num_threads()} threads")

    # LightGCN (torch_geometric), paper settings: d=64, K=3, Adam lr 1e-3, batch 2048, L2 1e-4.
    light_cfg = lightgcn_training.PAPER_CONFIG

    def light_prepare():
        from zoo_graph.models.lightgcn import bipartite_edge_index

        model = build_lightgcn(num_users=data.num_users, num_items=data.num_items, embedding_dim=64, num_layers=3)
        adjacency = model.normalized_adjacency(bipartite_edge_index(data.train, data.num_users))
        keys = torch.sort(data.train[0] * data.num_items + data.train[1]).values
        return model, adjacency, keys, torch.optim.Adam(model.parameters(), lr=light_cfg["lr"])

    def light_chunk(state, seconds):
        model, adjacency, keys, optimizer = state
        return lightgcn_training.train_epoch(model, adjacency, data.train, keys, optimizer, light_cfg["batch_size"],
                                             light_cfg["lambda_reg"], time_budget=seconds)

    def light_embeddings(state):
        model, adjacency, _, _ = state
        with torch.no_grad():
            return model.embeddings(adjacency)

    def ultra_prepare():
        graph = ultragcn_training.UltraGCNGraph.from_interactions(data.train, data.num_users, data.num_items,
                                                                  config["ii_neighbor_num"])
        model = build_ultragcn(num_users=data.num_users, num_items=data.num_items,
                                embedding_dim=config["embedding_dim"], init_std=config["init_std"])
        return model, graph, torch.optim.Adam(model.parameters(), lr=config["lr"])

    def ultra_chunk(state, seconds):
        model, graph, optimizer = state
        return ultragcn_training.train_epoch(model, graph, data.train, optimizer, config, time_budget=seconds)

    def ultra_embeddings(state):
        with torch.no_grad():
            return tuple(e.detach() for e in state[0].embeddings())

    n = data.train.shape[1]
    print("LightGCN (torch_geometric, 3 layers, BPR)")
    light_curve, light_epoch, light_epochs = run("LightGCN", light_prepare, light_chunk, light_embeddings, data,
                                                 args.budget, args.checkpoints, n / light_cfg["batch_size"])
    print(f"UltraGCN (paper config {args.config or Path(args.data).name!r})")
    ultra_curve, ultra_epoch, ultra_epochs = run("UltraGCN", ultra_prepare, ultra_chunk, ultra_embeddings, data,
                                                 args.budget, args.checkpoints, n / config["batch_size"])

    best_light = max(light_curve, key=lambda c: c[1])
    best_ultra = max(ultra_curve, key=lambda c: c[1])
    t_light = best_light[0]
    t_ultra = first_reaching(ultra_curve, best_light[1])
    print()
    print(f"{'':28s}{'LightGCN':>12s}{'UltraGCN':>12s}")
    print(f"{'time per epoch (s)':28s}{light_epoch:12.1f}{ultra_epoch:12.1f}")
    print(f"{'epochs in budget':28s}{light_epochs:12.2f}{ultra_epochs:12.2f}")
    print(f"{'best Recall@20':28s}{best_light[1]:12.4f}{best_ultra[1]:12.4f}")
    print(f"{'best NDCG@20':28s}{best_light[2]:12.4f}{best_ultra[2]:12.4f}")
    reach = f"{t_ultra:12.1f}" if t_ultra is not None else f"{'not reached':>12s}"
    print(f"{'s to LightGCN best R@20':28s}{t_light:12.1f}{reach}")
    if t_ultra is not None:
        print(f"speed-up to LightGCN's best Recall@20: {t_light / t_ultra:.1f}x "
              "(a lower bound: UltraGCN's time is the first checkpoint at or above)")
    print(f"per-epoch speed ratio: {light_epoch / ultra_epoch:.1f}x")


if __name__ == "__main__":
    main()
