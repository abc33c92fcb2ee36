"""LightGCN and UltraGCN trained by zoo_graph's own epoch loop and by ``zoo train``, side by side.

The same paper recipe, data and number of epochs; each run is validated after every epoch (Recall@20 /
NDCG@20 over all items, training items masked) and the best is reported, with the training seconds per
epoch. The engine draws its negatives from torch's global RNG and drops each epoch's last partial batch;
the loop uses its own generator; so the two are the same recipe, not the same random sequence.

    .venv/bin/python benchmarks/bench_graph_recsys_engine.py --data ../shared/data/recsys/amazon-electronics
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

import zoo
from zoo_graph.data.recsys import load_user_item
from zoo_graph.models.lightgcn import bipartite_edge_index, build_lightgcn
from zoo_graph.models.ultragcn import PAPER_CONFIGS, build_ultragcn
from zoo_graph.recsys import lightgcn as lightgcn_training
from zoo_graph.recsys import ultragcn as ultragcn_training
from zoo_graph.recsys.metrics import evaluate_topk


def own_loop(name: str, data, config: dict, epochs: int) -> tuple[float, float, float]:
    """(best Recall@20, its NDCG@20, training seconds per epoch) of the plugin's loop."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    if name == "lightgcn":
        model = build_lightgcn(num_users=data.num_users, num_items=data.num_items, embedding_dim=64, num_layers=3)
        adjacency = model.normalized_adjacency(bipartite_edge_index(data.train, data.num_users))
        keys = torch.sort(data.train[0] * data.num_items + data.train[1]).values
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

        def epoch():
            lightgcn_training.train_epoch(model, adjacency, data.train, keys, optimizer, 2048, 1e-4, generator)

        def embeddings():
            return model.embeddings(adjacency)
    else:
        graph = ultragcn_training.UltraGCNGraph.from_interactions(data.train, data.num_users, data.num_items,
                                                                  config["ii_neighbor_num"])
        model = build_ultragcn(num_users=data.num_users, num_items=data.num_items,
                               embedding_dim=config["embedding_dim"], init_std=config["init_std"])
        optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])

        def epoch():
            ultragcn_training.train_epoch(model, graph, data.train, optimizer, config, generator)

        def embeddings():
            return model.embeddings()
    best, seconds = (0.0, 0.0), 0.0
    for _ in range(epochs):
        started = time.perf_counter()
        epoch()
        seconds += time.perf_counter() - started
        with torch.no_grad():
            users, items = embeddings()
            scores = evaluate_topk(users.detach(), items.detach(), data.train, data.test)
        best = max(best, (scores["recall@20"], scores["ndcg@20"]))
    return best[0], best[1], seconds / epochs


def engine(name: str, root: str, recipe: str | None, epochs: int) -> tuple[float, float, float]:
    """The same with ``zoo.train`` (the model's recipe, ``epochs`` overridden)."""
    with tempfile.TemporaryDirectory() as out:
        zoo.train(name, f"{Path(root).name}:{root}", out=Path(out) / "run", recipe=recipe, epochs=epochs,
                           progress=False)
        import csv

        with open(Path(out) / "run" / "metrics.csv") as handle:
            rows = list(csv.DictReader(handle))
    best = max(rows, key=lambda r: float(r["recall@20"]))
    seconds = sum(float(r["seconds"]) for r in rows) / len(rows)
    return float(best["recall@20"]), float(best["ndcg@20"]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent
                                              / "shared/data/recsys/amazon-electronics"))
    parser.add_argument("--epochs", type=int, nargs=2, default=(60, 30), metavar=("LIGHTGCN", "ULTRAGCN"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=["lightgcn", "ultragcn"], choices=["lightgcn", "ultragcn"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_user_item(args.data)
    dataset = Path(args.data).name
    print(f"{dataset}: {data.num_users} users x {data.num_items} items; {torch.get_num_threads()} thread(s)")
    print("| model | epochs | loop Recall@20 | engine Recall@20 | loop NDCG@20 | engine NDCG@20 | loop s/epoch "
          "| engine s/epoch (with validation) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, epochs, recipe in (("lightgcn", args.epochs[0], None), ("ultragcn", args.epochs[1], dataset)):
        if name not in args.models:
            continue
        loop = own_loop(name, data, dict(PAPER_CONFIGS[dataset]), epochs)
        eng = engine(name, args.data, recipe, epochs)
        print(f"| {name} | {epochs} | {loop[0]:.5f} | {eng[0]:.5f} | {loop[1]:.5f} | {eng[1]:.5f} | {loop[2]:.2f} "
              f"| {eng[2]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
