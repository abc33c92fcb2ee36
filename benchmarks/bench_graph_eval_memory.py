"""Peak memory of full-ranking Recall@20 / NDCG@20: linear in users + items, not their product.

The UltraGCN authors' evaluation masks training items with a dense users x items float matrix
(19 GB on Amazon-Book). ``zoo_graph.recsys.metrics.evaluate_topk`` scores users in batches and
masks each batch from a CSR index. Each size runs in a fresh process; a sampling thread records
the peak resident memory during the evaluation above the memory held before it starts.

    .venv/bin/python benchmarks/bench_graph_eval_memory.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, sys, threading, time
import psutil, torch
torch.set_num_threads(1)
from zoo_graph.recsys.metrics import evaluate_topk
n, d, batch = int(sys.argv[1]), 64, int(sys.argv[2])
g = torch.Generator().manual_seed(0)
items = torch.randint(0, n, (13 * n,), generator=g)
train = torch.stack([torch.arange(n).repeat_interleave(10), items[: 10 * n]])
test = torch.stack([torch.arange(n).repeat_interleave(3), items[10 * n:]])
user_emb, item_emb = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
process = psutil.Process()
base = process.memory_info().rss
peak = [base]
done = threading.Event()
def watch():
    while not done.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        time.sleep(0.002)
thread = threading.Thread(target=watch); thread.start()
start = time.perf_counter()
metrics = evaluate_topk(user_emb, item_emb, train, test, k=20, batch_size=batch)
seconds = time.perf_counter() - start
done.set(); thread.join()
peak[0] = max(peak[0], process.memory_info().rss)
print(json.dumps({"n": n, "extra_mb": (peak[0] - base) / 2**20, "seconds": seconds}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 5000, 10000, 20000, 40000],
                        help="users = items = n")
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args()
    print(f"users = items = n, d = 64, 10 train + 3 test items per user, user batch {args.batch_size}")
    print(f"{'n':>7s}{'users x items':>15s}{'dense mask MB':>15s}{'eval peak MB':>14s}{'MB per 1k (U+I)':>17s}"
          f"{'seconds':>9s}")
    rows = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(args.batch_size)], capture_output=True,
                             text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        dense = n * n * 4 / 2**20
        print(f"{n:7d}{n * n:15,d}{dense:15.0f}{row['extra_mb']:14.1f}{row['extra_mb'] / (2 * n / 1000):17.2f}"
              f"{row['seconds']:9.1f}", flush=True)
    first, last = rows[0], rows[-1]
    growth = last["n"] / first["n"]
    print(f"n grows {growth:.0f}x (users x items {growth ** 2:.0f}x): evaluation peak memory grows "
          f"{last['extra_mb'] / max(first['extra_mb'], 1e-9):.1f}x")


if __name__ == "__main__":
    main()
