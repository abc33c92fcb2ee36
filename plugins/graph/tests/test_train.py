"""The training recipes run end to end and learn (tiny graphs, so they stay fast)."""

from __future__ import annotations

import torch
from torch_geometric.data import Data

from zoo_graph.data.elliptic import elliptic, snapshots
from zoo_graph.models.elliptic import build_elliptic
from zoo_graph.models.evolvegcn import build_evolvegcn
from zoo_graph.models.gcn import build_gcn
from zoo_graph.models.lagnn import build_lagnn
from zoo_graph.train.elliptic import illicit_scores, train_evolving, train_static
from zoo_graph.train.lagnn import augmented_features, consistency_loss, pretrain_cvae, row_normalize, train_la
from zoo_graph.train.node import train_node_classifier

from .test_data import write_elliptic


def planted_graph(n=90, classes=3, features=24, seed=0):
    """Binary features and edges that both depend on the class (a small planted partition)."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    prob = torch.full((classes, features), 0.05)
    for c in range(classes):
        prob[c, c * 8:(c + 1) * 8] = 0.35
    x = (torch.rand(n, features, generator=generator) < prob[y]).float()
    same = y[:, None] == y[None, :]
    adjacency = torch.rand(n, n, generator=generator) < torch.where(same, 0.12, 0.01)
    adjacency = torch.triu(adjacency, 1)
    edge_index = adjacency.nonzero().t()
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    index = torch.randperm(n, generator=generator)
    masks = [torch.zeros(n, dtype=torch.bool) for _ in range(3)]
    masks[0][index[:15]], masks[1][index[15:45]], masks[2][index[45:]] = True, True, True
    return Data(x=x, edge_index=edge_index, y=y, train_mask=masks[0], val_mask=masks[1], test_mask=masks[2])


def test_gcn_training_beats_chance():
    torch.manual_seed(0)
    raw = planted_graph()
    data = Data(**{**raw.to_dict(), "x": row_normalize(raw.x)})
    result = train_node_classifier(build_gcn(in_channels=24, hidden_channels=16, out_channels=3), data, epochs=60)
    assert result["test_acc"] > 0.6


def test_consistency_loss_is_zero_for_agreeing_confident_predictions():
    confident = torch.log(torch.tensor([[1.0 - 2e-6, 1e-6, 1e-6]]))
    assert consistency_loss([confident, confident]) < 1e-9
    unsure = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    assert consistency_loss([unsure, unsure]) > 0.01


def test_la_gnn_pipeline_runs_and_learns():
    torch.manual_seed(0)
    raw = planted_graph()
    data = Data(**{**raw.to_dict(), "x": row_normalize(raw.x)})
    generator = torch.Generator().manual_seed(0)
    cvae = pretrain_cvae(raw.x, raw.edge_index, raw.y, raw.train_mask, epochs=2, batch_size=32, warmup=3,
                         num_models=4, update_epochs=2, select_every=2, generator=generator)
    generated = augmented_features(cvae, raw.x, 2, generator)
    assert generated.shape == (2, 90, 24)
    assert torch.allclose(generated.sum(-1), torch.ones(2, 90), atol=1e-5)
    small = {"in_channels": 24, "hidden_channels": 8, "out_channels": 3, "concat": 1}
    result = train_la(build_lagnn("gcn", **small), data, cvae, raw.x, epochs=40, samples=2, generator=generator)
    assert result["test_acc"] > 0.6
    pooled = train_la(build_lagnn("gcn", **small), data, cvae, raw.x, epochs=10, samples=2, pool=4,
                      generator=generator)
    assert 0.0 <= pooled["test_acc"] <= 1.0


def test_elliptic_static_and_evolving_training_on_the_csv_layout(tmp_path):
    write_elliptic(tmp_path, steps=(32, 33, 34, 35, 36), per_step=(12, 10, 14, 9, 11))
    data = elliptic(tmp_path)
    # make the illicit class learnable: feature 5 marks illicit transactions
    data.x[:, 5] = (data.y == 1).float() * 3
    torch.manual_seed(0)
    scores = train_static(build_elliptic(skip=True), data, epochs=150, lr=1e-2)
    assert scores["f1"] > 0.8
    torch.manual_seed(0)
    model = build_evolvegcn("o", hidden_channels=8, classifier_channels=6)
    scores = train_evolving(model, snapshots(data), window=2, epochs=15, lr=1e-2)
    assert set(scores) == {"precision", "recall", "f1"} and scores["f1"] > 0.5


def test_illicit_scores_count_only_the_illicit_class():
    logits = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([1, 0, 1, 0, 0])
    assert illicit_scores(logits, y) == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
