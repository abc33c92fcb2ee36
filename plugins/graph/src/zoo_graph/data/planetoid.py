"""Planetoid citation graphs (Cora, CiteSeer, PubMed) read from the published raw files.

Yang, Cohen, Salakhutdinov, "Revisiting Semi-Supervised Learning with Graph Embeddings",
ICML 2016 (arXiv:1603.08861). The files are ``ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}``
as distributed with the Planetoid code and read by torch_geometric's ``Planetoid``.

We parse the raw files with torch_geometric's own reader, so that a read-only folder works (PyG's
``Planetoid`` dataset class wants to write a ``processed/`` folder beside ``raw/``) and nothing is
ever downloaded.
"""

from __future__ import annotations

from pathlib import Path

from zoo import DatasetSpec, Paper
from zoo.errors import ConfigError, DatasetNotFoundError

PAPER = Paper(title="Revisiting Semi-Supervised Learning with Graph Embeddings", arxiv="1603.08861",
              venue="ICML 2016", code="https://github.com/kimiyoung/planetoid")
HOMEPAGE = "https://github.com/kimiyoung/planetoid"
SUFFIXES = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")
NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
# (nodes, features, classes): the models' Cora configs read their widths from here
SIZES = {"cora": (2708, 1433, 7), "citeseer": (3327, 3703, 6), "pubmed": (19717, 500, 3)}


def layout(name: str) -> str:
    """The files expected under root, as the DatasetSpec and the missing-files error state them."""
    return (f"ind.{name}.{{{','.join(SUFFIXES)}}} in root, root/raw/ or root/{NAMES[name]}/raw/ "
            "(the Planetoid raw files)")


def find_raw_dir(root: str | Path, name: str) -> Path:
    """The folder under ``root`` holding ``ind.<name>.*``.

    Accepts the layouts people actually have: ``root/`` itself, ``root/raw/`` (as in
    ``shared/data/planetoid``) and PyG's ``root/<Name>/raw/``.
    """
    root = Path(root)
    prefix = name.lower()
    for candidate in (root, root / "raw", root / NAMES[prefix] / "raw", root / prefix / "raw"):
        if all((candidate / f"ind.{prefix}.{suffix}").is_file() for suffix in SUFFIXES):
            return candidate
    raise DatasetNotFoundError(f"planetoid-{prefix}", str(root), layout(prefix), HOMEPAGE)


def load_planetoid(root: str | Path, name: str = "cora", split: str = "public", normalize_features: bool = False):
    """Read a Planetoid graph with its public split (20 labelled nodes per class, 500 val, 1000 test).

    Returns a ``torch_geometric.data.Data`` with ``x`` [N, F] float, ``edge_index`` [2, E]
    (undirected, both directions), ``y`` [N] and boolean ``train_mask``/``val_mask``/``test_mask``.
    ``normalize_features`` row-normalises ``x`` as GCN, GAT and LA-GNN do.
    """
    prefix = name.lower()
    if prefix not in NAMES:
        raise ConfigError(f"unknown Planetoid dataset {name!r}; expected one of {sorted(NAMES)}")
    if split != "public":
        raise ConfigError(f"Planetoid {name!r}: only the 'public' split is provided, got split={split!r}")
    raw_dir = find_raw_dir(root, prefix)
    from torch_geometric.io import read_planetoid_data

    data = read_planetoid_data(str(raw_dir), prefix)
    if normalize_features:
        row_sum = data.x.sum(dim=1, keepdim=True).clamp_min(1.0)
        data.x = data.x / row_sum
    return data


def cora(root: str | Path, split: str = "public", **kwargs):
    """DatasetSpec builder for Cora (2,708 nodes, 1,433 features, 7 classes)."""
    return load_planetoid(root, "cora", split=split, **kwargs)


def citeseer(root: str | Path, split: str = "public", **kwargs):
    """DatasetSpec builder for CiteSeer (3,327 nodes, 3,703 features, 6 classes)."""
    return load_planetoid(root, "citeseer", split=split, **kwargs)


def pubmed(root: str | Path, split: str = "public", **kwargs):
    """DatasetSpec builder for PubMed (19,717 nodes, 500 features, 3 classes)."""
    return load_planetoid(root, "pubmed", split=split, **kwargs)


DATASETS = tuple(
    DatasetSpec(
        name=f"planetoid-{key}", domain="graph", task="node-classification",
        builder=f"zoo_graph.data.planetoid:{key}", layout=layout(key), homepage=HOMEPAGE, splits=("public",),
        paper=PAPER, description=f"{title} citation graph with the public Planetoid split (read from the raw files).",
    )
    for key, title in NAMES.items()
)
