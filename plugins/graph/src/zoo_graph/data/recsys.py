"""User–item interaction data in the LightGCN / UltraGCN text format.

One line per user: ``user item item ...`` with 0-based integer ids, in ``train.txt`` and
``test.txt`` side by side. This is the layout of the LightGCN splits (Gowalla, Yelp2018,
Amazon-Book; He et al., SIGIR 2020, arXiv:2002.02126) and of the Amazon-CDs / Amazon-Electronics
splits distributed with UltraGCN (Mao et al., CIKM 2021, arXiv:2110.15114).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zoo import DatasetSpec, Paper
from zoo.errors import ConfigError, DatasetFormatError, DatasetNotFoundError

# The papers whose released splits these are (the model specs of the same names reuse them).
ULTRAGCN = Paper(title="UltraGCN: Ultra Simplification of Graph Convolutional Networks for Recommendation",
                 arxiv="2110.15114", venue="CIKM 2021", code="https://github.com/xue-pai/UltraGCN")
LIGHTGCN = Paper(title="LightGCN: Simplifying and Powering Graph Convolution Network for Recommendation",
                 arxiv="2002.02126", venue="SIGIR 2020", code="https://github.com/kuandeng/LightGCN")
# (users, items) of each split; the recommenders' default configs are Amazon-CDs-sized
SIZES = {"amazon-cds": (43169, 35648), "amazon-electronics": (1435, 1522), "gowalla": (29858, 40981),
         "yelp2018": (31668, 38048), "amazon-book": (52643, 91599)}
HOMEPAGE = "https://github.com/xue-pai/UltraGCN (data/) or https://github.com/kuandeng/LightGCN (Data/)"
LAYOUT = "train.txt and test.txt, one 'user item item ...' line per user (0-based ids)"


@dataclass(frozen=True)
class UserItemSplit:
    """Train and test interactions of one dataset.

    ``train`` and ``test`` are ``LongTensor [2, E]`` of (user, item) pairs; ``num_users`` and
    ``num_items`` cover the ids of both files, so that item ids index one embedding table.
    """

    name: str
    num_users: int
    num_items: int
    train: object
    test: object

    def split(self, which: str):
        """A ``torch_geometric.data.Data`` holding one side's ``edge_index`` [2, E] and the sizes."""
        from torch_geometric.data import Data

        edge_index = {"train": self.train, "test": self.test}[which]
        return Data(edge_index=edge_index, num_users=self.num_users, num_items=self.num_items)


def _read(path: Path):
    import numpy as np

    users: list[int] = []
    items: list[int] = []
    with path.open() as handle:
        for number, line in enumerate(handle, 1):
            fields = line.split()
            if not fields:
                continue
            try:
                ids = [int(f) for f in fields]
            except ValueError:
                raise DatasetFormatError(
                    f"{path}:{number}: expected 'user item item ...' integers, got {line[:60]!r}"
                ) from None
            users.extend([ids[0]] * (len(ids) - 1))
            items.extend(ids[1:])
    return np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)


def load_user_item(root: str | Path, split: str = "all", name: str = "user-item"):
    """Read ``root/train.txt`` and ``root/test.txt``.

    ``split="all"`` returns a :class:`UserItemSplit`; ``"train"`` / ``"test"`` return a
    ``torch_geometric.data.Data`` with ``edge_index`` [2, E] (row 0 users, row 1 items),
    ``num_users`` and ``num_items`` (counted over both files).
    """
    import numpy as np
    import torch

    if split not in ("all", "train", "test"):
        raise ConfigError(f"{name}: split must be 'all', 'train' or 'test', got {split!r}")
    root = Path(root)
    files = [root / "train.txt", root / "test.txt"]
    if not all(f.is_file() for f in files):
        raise DatasetNotFoundError(name, str(root), LAYOUT, HOMEPAGE)
    (train_u, train_i), (test_u, test_i) = (_read(f) for f in files)
    num_users = int(max(train_u.max(initial=-1), test_u.max(initial=-1))) + 1
    num_items = int(max(train_i.max(initial=-1), test_i.max(initial=-1))) + 1
    data = UserItemSplit(
        name=name,
        num_users=num_users,
        num_items=num_items,
        train=torch.from_numpy(np.stack([train_u, train_i])),
        test=torch.from_numpy(np.stack([test_u, test_i])),
    )
    return data if split == "all" else data.split(split)


def amazon_cds(root: str | Path, split: str = "all"):
    """DatasetSpec builder: Amazon-CDs (43,169 users x 35,648 items) in the UltraGCN split."""
    return load_user_item(root, split, name="amazon-cds")


def amazon_electronics(root: str | Path, split: str = "all"):
    """DatasetSpec builder: Amazon-Electronics (1,435 users x 1,522 items) in the UltraGCN split."""
    return load_user_item(root, split, name="amazon-electronics")


def gowalla(root: str | Path, split: str = "all"):
    """DatasetSpec builder: Gowalla in the LightGCN split (29,858 users x 40,981 items)."""
    return load_user_item(root, split, name="gowalla")


def yelp2018(root: str | Path, split: str = "all"):
    """DatasetSpec builder: Yelp2018 in the LightGCN split (31,668 users x 38,048 items)."""
    return load_user_item(root, split, name="yelp2018")


def amazon_book(root: str | Path, split: str = "all"):
    """DatasetSpec builder: Amazon-Book in the LightGCN split (52,643 users x 91,599 items)."""
    return load_user_item(root, split, name="amazon-book")


def _spec(name: str, title: str, paper: Paper, origin: str) -> DatasetSpec:
    users, items = SIZES[name]
    return DatasetSpec(
        name=name, domain="graph", task="recommendation", builder=f"zoo_graph.data.recsys:{name.replace('-', '_')}",
        layout=LAYOUT, homepage=HOMEPAGE, splits=("all", "train", "test"), paper=paper,
        description=f"{title}, {users:,} users x {items:,} items ({origin}); the LightGCN/UltraGCN text format.",
    )


DATASETS = (
    _spec("amazon-cds", "Amazon-CDs", ULTRAGCN, "UltraGCN split"),
    _spec("amazon-electronics", "Amazon-Electronics", ULTRAGCN, "UltraGCN split"),
    _spec("gowalla", "Gowalla check-ins", LIGHTGCN, "LightGCN split"),
    _spec("yelp2018", "Yelp2018", LIGHTGCN, "LightGCN split; not PyG's GraphSAINT Yelp"),
    _spec("amazon-book", "Amazon-Book", LIGHTGCN, "LightGCN split"),
)
