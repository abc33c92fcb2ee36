"""The Elliptic Bitcoin transaction graph in its published CSV layout.

Weber et al., "Anti-Money Laundering in Bitcoin: Experimenting with Graph Convolutional Networks
for Financial Forensics", KDD'19 workshop (arXiv:1908.02591). The Kaggle / Elliptic release has
three files:

- ``elliptic_txs_features.csv`` — no header; ``txId, time step, 165 features`` per row;
- ``elliptic_txs_classes.csv`` — header ``txId,class``; class ``1`` illicit, ``2`` licit, ``unknown``;
- ``elliptic_txs_edgelist.csv`` — header ``txId1,txId2``; directed payment flows.

Unlike PyG's ``EllipticBitcoinDataset`` (which drops the time-step column and keeps 165 features)
we keep the paper's 166 "all features" (AF): the time step is feature 0, as in Weber et al. and
in the EvolveGCN code.
"""

from __future__ import annotations

from pathlib import Path

from zoo import DatasetSpec, Paper
from zoo.errors import ConfigError, DatasetFormatError, DatasetNotFoundError

PAPER = Paper(title="Anti-Money Laundering in Bitcoin: Experimenting with Graph Convolutional Networks for "
                    "Financial Forensics", arxiv="1908.02591",
              venue="KDD 2019 Workshop on Anomaly Detection in Finance",
              url="https://www.kaggle.com/datasets/ellipticco/elliptic-data-set")
NUM_FEATURES = 166  # the paper's "all features": time step + 165 transaction features
HOMEPAGE = "https://www.kaggle.com/datasets/ellipticco/elliptic-data-set"
FILES = ("elliptic_txs_features.csv", "elliptic_txs_classes.csv", "elliptic_txs_edgelist.csv")
LAYOUT = ", ".join(FILES) + " in root or root/elliptic_bitcoin_dataset/ (the Kaggle release)"
LICIT, ILLICIT, UNKNOWN = 0, 1, 2
LAST_TRAIN_STEP = 34  # the paper's temporal 70:30 split: train on steps 1-34, test on 35-49


def _find(root: Path) -> Path:
    for candidate in (root, root / "elliptic_bitcoin_dataset", root / "raw"):
        if all((candidate / f).is_file() for f in FILES):
            return candidate
    raise DatasetNotFoundError("elliptic", str(root), LAYOUT, HOMEPAGE)


def load_elliptic(root: str | Path, split: str = "all", undirected: bool = True):
    """Read Elliptic into one ``torch_geometric.data.Data``.

    ``undirected`` (default, as the EvolveGCN authors' loader does) adds every payment flow in
    both directions, each distinct pair once; ``False`` keeps the file's directed edges.

    Fields: ``x`` [N, 166] float (time step + 165 features), ``edge_index`` [2, E],
    ``y`` [N] (0 licit, 1 illicit, 2 unknown), ``time_step`` [N] (1..49), ``tx_id`` [N],
    ``train_mask`` (known label, step <= 34) and ``test_mask`` (known label, step >= 35).
    ``split="train"`` / ``"test"`` return the induced subgraph of those time steps (no edge
    crosses time steps in Elliptic, so nothing is lost); ``"all"`` returns everything.
    """
    import numpy as np
    import torch
    from torch_geometric.data import Data
    from torch_geometric.utils import to_undirected

    if split not in ("all", "train", "test"):
        raise ConfigError(f"elliptic: split must be 'all', 'train' or 'test', got {split!r}")
    folder = _find(Path(root))
    features = np.loadtxt(folder / FILES[0], delimiter=",", dtype=np.float64, ndmin=2)
    if features.shape[1] != NUM_FEATURES + 1:
        raise DatasetFormatError(f"{folder / FILES[0]}: expected {NUM_FEATURES + 1} columns (txId, time step, "
                                 f"{NUM_FEATURES - 1} features), got {features.shape[1]}")
    tx_id = features[:, 0].astype(np.int64)
    index_of = {int(t): i for i, t in enumerate(tx_id)}

    labels = np.full(len(tx_id), UNKNOWN, dtype=np.int64)
    codes = {"1": ILLICIT, "2": LICIT, "unknown": UNKNOWN}
    with (folder / FILES[1]).open() as handle:
        handle.readline()  # header txId,class
        for number, line in enumerate(handle, 2):
            tx, _, cls = line.strip().partition(",")
            if not tx:
                continue
            try:
                labels[index_of[int(tx)]] = codes[cls.strip()]
            except (KeyError, ValueError):
                raise DatasetFormatError(f"{folder / FILES[1]}:{number}: expected 'txId,class' with a known txId "
                                         f"and class 1, 2 or unknown, got {line.strip()[:60]!r}") from None

    edges = np.loadtxt(folder / FILES[2], delimiter=",", dtype=np.int64, skiprows=1, ndmin=2)
    try:
        edge_index = np.array([[index_of[int(a)] for a in edges[:, 0]], [index_of[int(b)] for b in edges[:, 1]]],
                              dtype=np.int64)
    except KeyError as error:
        raise DatasetFormatError(f"{folder / FILES[2]}: transaction {error.args[0]} is not in {FILES[0]}") from None

    flows = torch.from_numpy(edge_index).reshape(2, -1)
    if undirected:
        flows = to_undirected(flows, num_nodes=len(tx_id))
    time_step = torch.from_numpy(features[:, 1].astype(np.int64))
    y = torch.from_numpy(labels)
    known = y != UNKNOWN
    data = Data(
        x=torch.from_numpy(features[:, 1:]).float(),
        edge_index=flows,
        y=y,
        time_step=time_step,
        tx_id=torch.from_numpy(tx_id),
        train_mask=known & (time_step <= LAST_TRAIN_STEP),
        test_mask=known & (time_step > LAST_TRAIN_STEP),
    )
    if split == "all":
        return data
    keep = time_step <= LAST_TRAIN_STEP if split == "train" else time_step > LAST_TRAIN_STEP
    return data.subgraph(keep)


def snapshots(data) -> list:
    """Split a temporal graph into one ``Data`` per time step, in time order.

    Each snapshot keeps only its own nodes (re-indexed from 0) and edges, so snapshots have
    different sizes — which is what EvolveGCN must handle on Elliptic.
    """
    steps = data.time_step.unique(sorted=True)
    return [data.subgraph(data.time_step == t) for t in steps]


def elliptic(root: str | Path, split: str = "all", undirected: bool = True):
    """DatasetSpec builder for Elliptic (203,769 transactions, 49 time steps)."""
    return load_elliptic(root, split=split, undirected=undirected)


DATASETS = (
    DatasetSpec(
        name="elliptic", domain="graph", task="node-classification", builder="zoo_graph.data.elliptic:elliptic",
        layout=LAYOUT, homepage=HOMEPAGE, splits=("all", "train", "test"), paper=PAPER,
        description=f"Elliptic Bitcoin transactions: {NUM_FEATURES} features (time step first), temporal split at "
                    f"step {LAST_TRAIN_STEP}.",
    ),
)
