"""The dataset readers read the real published formats and fail clearly on missing files."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from zoo_graph.data import elliptic as elliptic_data
from zoo_graph.data import planetoid, recsys

from .conftest import DATA


def test_cora_public_split(cora):
    assert cora.num_nodes == 2708 and cora.x.shape == (2708, 1433)
    assert int(cora.y.max()) + 1 == 7
    assert (int(cora.train_mask.sum()), int(cora.val_mask.sum()), int(cora.test_mask.sum())) == (140, 500, 1000)
    assert cora.edge_index.shape == (2, 10556)
    # the public split: 20 labelled nodes per class
    assert torch.bincount(cora.y[cora.train_mask]).tolist() == [20] * 7


def test_cora_row_normalised():
    data = planetoid.load_planetoid(DATA / "planetoid", "cora", normalize_features=True)
    sums = data.x.sum(1)
    assert torch.allclose(sums[sums > 0], torch.ones(int((sums > 0).sum())))


def test_cora_through_zoo_dataset_and_pyg_layout(tmp_path):
    data = zoo.dataset("planetoid-cora", root=DATA / "planetoid", split="public")
    assert data.num_nodes == 2708
    # PyG's own layout root/Cora/raw/ works too
    (tmp_path / "Cora" / "raw").mkdir(parents=True)
    for f in (DATA / "planetoid" / "raw").glob("ind.cora.*"):
        (tmp_path / "Cora" / "raw" / f.name).write_bytes(f.read_bytes())
    assert planetoid.cora(tmp_path).num_nodes == 2708


def test_planetoid_missing_files_say_what_and_where(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"ind\.citeseer\..*github.com/kimiyoung/planetoid"):
        planetoid.citeseer(tmp_path)
    with pytest.raises(ConfigError, match="only the 'public' split"):
        planetoid.cora(DATA / "planetoid", split="random")


def test_recsys_text_format(electronics):
    assert (electronics.num_users, electronics.num_items) == (1435, 1522)
    assert electronics.train.shape == (2, 31887) and electronics.test.shape == (2, 4044)
    train = recsys.amazon_electronics(DATA / "recsys" / "amazon-electronics", split="train")
    assert train.edge_index.shape == (2, 31887) and train.num_items == 1522
    # first line of train.txt is user 0 followed by their items
    first = (DATA / "recsys" / "amazon-electronics" / "train.txt").read_text().splitlines()[0].split()
    assert electronics.train[1, electronics.train[0] == 0].tolist() == [int(i) for i in first[1:]]


def test_recsys_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="train.txt and test.txt"):
        recsys.gowalla(tmp_path)
    (tmp_path / "train.txt").write_text("0 1 2\n1 x\n")
    (tmp_path / "test.txt").write_text("0 3\n")
    with pytest.raises(DatasetFormatError, match=r"train.txt:2"):
        recsys.yelp2018(tmp_path)


def write_elliptic(folder, steps=(33, 34, 35, 36), per_step=(3, 4, 2, 5)):
    """A small Elliptic in the published layout: ids, labels and edges within each time step."""
    generator = torch.Generator().manual_seed(0)
    rows, classes, edges, tx = [], ["txId,class"], ["txId1,txId2"], 1000
    labels = ["1", "2", "unknown"]
    for step, count in zip(steps, per_step):
        ids = list(range(tx, tx + count))
        tx += count
        for i in ids:
            features = torch.rand(165, generator=generator).tolist()
            rows.append(",".join([str(i), str(step)] + [f"{v:.6f}" for v in features]))
            classes.append(f"{i},{labels[i % 3]}")
        edges += [f"{a},{b}" for a, b in zip(ids[:-1], ids[1:])]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "elliptic_txs_features.csv").write_text("\n".join(rows) + "\n")
    (folder / "elliptic_txs_classes.csv").write_text("\n".join(classes) + "\n")
    (folder / "elliptic_txs_edgelist.csv").write_text("\n".join(edges) + "\n")


def test_elliptic_csv_layout(tmp_path):
    write_elliptic(tmp_path / "elliptic_bitcoin_dataset")
    data = elliptic_data.elliptic(tmp_path)
    assert data.x.shape == (14, 166)  # time step + 165 features, as in the paper
    assert torch.equal(data.x[:, 0].long(), data.time_step)
    assert data.tx_id[0] == 1000
    # txId % 3 picks the class: 1000 -> "2" (licit, 0), 1001 -> "unknown" (2), 1002 -> "1" (illicit, 1)
    assert data.y[:3].tolist() == [elliptic_data.LICIT, elliptic_data.UNKNOWN, elliptic_data.ILLICIT]
    # the EvolveGCN authors' loader symmetrises the 10 payment flows; undirected=False keeps them directed
    assert data.edge_index.shape == (2, 20)
    assert torch.equal(data.time_step[data.edge_index[0]], data.time_step[data.edge_index[1]])
    directed = elliptic_data.elliptic(tmp_path, undirected=False).edge_index
    assert directed.shape == (2, 10) and data.tx_id[directed[0, 0]] == 1000 and data.tx_id[directed[1, 0]] == 1001
    assert {tuple(e) for e in data.edge_index.t().tolist()} == {
        *map(tuple, directed.t().tolist()), *map(tuple, directed.flip(0).t().tolist())}
    known = data.y != elliptic_data.UNKNOWN
    assert torch.equal(data.train_mask, known & (data.time_step <= 34))
    assert torch.equal(data.test_mask, known & (data.time_step >= 35))
    train = elliptic_data.elliptic(tmp_path, split="train")
    assert train.num_nodes == 7 and int(train.time_step.max()) == 34
    sizes = [s.num_nodes for s in elliptic_data.snapshots(data)]
    assert sizes == [3, 4, 2, 5]


def test_elliptic_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="elliptic_txs_features.csv"):
        elliptic_data.elliptic(tmp_path)
    write_elliptic(tmp_path)
    with open(tmp_path / "elliptic_txs_edgelist.csv", "a") as handle:
        handle.write("1000,999999\n")
    with pytest.raises(DatasetFormatError, match="999999"):
        elliptic_data.elliptic(tmp_path)
    write_elliptic(tmp_path)
    with open(tmp_path / "elliptic_txs_classes.csv", "a") as handle:
        handle.write("1000,3\n")
    with pytest.raises(DatasetFormatError, match=r"elliptic_txs_classes.csv:16: .*'1000,3'"):
        elliptic_data.elliptic(tmp_path)
