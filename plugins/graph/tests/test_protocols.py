"""The authors' protocols, pinned on inputs where they differ from the conventions we used before.

Each expected value is worked out by hand from the authors' definitions (their code), not from ours:
EvolveGCN's adjacency and node mask (IBM/EvolveGCN taskers_utils.py, egcn_h.py), its loss
(Cross_Entropy.py) and split (splitter.py); CatGCN's propagation (TachiChan/CatGCN pna_layer.py
with the old GCNConv.norm); LA-GCN's initialisation (SongtaoLiu0823/LAGNN layers.py); UltraGCN's
β degrees and metric averaging (xue-pai/UltraGCN main.py).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from zoo_graph.blocks import TopKSummary
from zoo_graph.models.catgcn import build_catgcn
from zoo_graph.models.evolvegcn import EvolveGCN, normalized_adjacency
from zoo_graph.models.evolvegcn_specs import RECIPES
from zoo_graph.models.lagnn import build_lagnn
from zoo_graph.recsys.metrics import evaluate_topk
from zoo_graph.recsys.ultragcn import UltraGCNGraph
from zoo_graph.train.elliptic import evolvegcn_split, weighted_cross_entropy
from zoo_graph.train.lagnn import shifted_normal_

# A directed toy graph: 0 -> 1 (listed twice), 0 -> 2, 1 -> 2.
DIRECTED = torch.tensor([[0, 0, 1, 0], [1, 2, 2, 1]])
# The authors' Â = D^-1/2 (A + I) D^-1/2, A[i, j] = 1 for i -> j (a duplicate counts once), D = row
# sums of A + I = (3, 2, 1), and out = Â·H: row i aggregates its out-neighbours.
S6, S3, S2 = math.sqrt(6), math.sqrt(3), math.sqrt(2)
AUTHORS_A_HAT = torch.tensor([[1 / 3, 1 / S6, 1 / S3], [0.0, 1 / 2, 1 / S2], [0.0, 0.0, 1.0]])


def dense(receiver, sender, weight, n=3):
    out = torch.zeros(n, n)
    out[receiver, sender] = weight
    return out


def test_evolvegcn_adjacency_is_the_authors_on_a_directed_graph():
    assert torch.allclose(dense(*normalized_adjacency(DIRECTED, 3)), AUTHORS_A_HAT)
    # torch_geometric's convention is still available and differs on a directed graph
    assert not torch.allclose(dense(*normalized_adjacency(DIRECTED, 3, "source_to_target")), AUTHORS_A_HAT)


def test_evolvegcn_forward_on_a_directed_graph_equals_the_hand_computation():
    torch.manual_seed(0)
    model = EvolveGCN("o", in_channels=4, hidden_channels=3, classifier_channels=5).eval()
    x = torch.rand(3, 4)
    slope = (1 / 8 + 1 / 3) / 2  # RReLU in eval mode: the mean of its default bounds
    with torch.no_grad():
        w1 = model.layer1.evolve(model.layer1.initial_weight, model.layer1.initial_weight)
        w2 = model.layer2.evolve(model.layer2.initial_weight, model.layer2.initial_weight)
        h1 = F.leaky_relu(AUTHORS_A_HAT @ x @ w1, slope)
        h2 = F.leaky_relu(AUTHORS_A_HAT @ h1 @ w2, slope)
        assert torch.allclose(model([x], [DIRECTED]), model.classifier(h2), atol=1e-6)


def test_topk_summary_ranks_only_nodes_with_an_edge():
    summary = TopKSummary(2, k=3)
    with torch.no_grad():
        summary.scorer.copy_(torch.tensor([[1.0], [0.0]]))
    h = torch.tensor([[0.1, 1.0], [0.5, 2.0], [0.3, 3.0], [0.2, 4.0], [0.9, 5.0], [0.8, 6.0]])
    valid = torch.tensor([True, True, True, True, False, False])  # nodes 4 and 5 are isolated
    top = [1, 2, 3]  # the three best-scoring connected nodes; 4 and 5 score higher but have no edge
    expected = (h[top] * torch.tanh(h[top, :1])).t()
    assert torch.allclose(summary(h, valid), expected)
    # fewer connected nodes than k: the last chosen one is repeated, as the authors pad
    few = torch.tensor([False, True, False, True, False, False])
    assert torch.allclose(summary(h, few), (h[[1, 3, 3]] * torch.tanh(h[[1, 3, 3], :1])).t())


def test_evolvegcn_h_ignores_isolated_nodes_in_its_weight_summary():
    """Isolated nodes can neither send messages nor enter the top-k: the others' logits ignore them."""
    torch.manual_seed(0)
    model = EvolveGCN("h", in_channels=4, hidden_channels=3, classifier_channels=5).eval()
    ring = torch.arange(6)
    edges = torch.stack([ring, (ring + 1) % 6])  # nodes 0-5 on a directed ring, nodes 6-8 isolated
    x = torch.rand(9, 4)
    loud = x.clone()
    loud[6:] = 50 * torch.sign(model.layer1.summary.scorer.detach().t())  # top scorers, were they eligible
    with torch.no_grad():
        assert torch.allclose(model([x], [edges])[:6], model([loud], [edges])[:6], atol=1e-6)


def test_evolvegcn_loss_is_the_authors_mean_over_nodes():
    logits, y = torch.zeros(3, 2), torch.tensor([0, 1, 1])
    # every CE is ln 2; the authors average w_y·CE over N = 3 nodes, torch divides by Σ w_y = 1.75
    assert weighted_cross_entropy(logits, y, (0.25, 0.75)).item() == pytest.approx(1.75 / 3 * math.log(2))
    assert F.cross_entropy(logits, y, weight=torch.tensor([0.25, 0.75])).item() == pytest.approx(math.log(2))


def test_evolvegcn_split_and_recipes_are_the_authors():
    train, dev, test = evolvegcn_split(49)
    # Table 1 of the paper: 31 / 5 / 13 steps on Elliptic (the first 5 training steps are history only)
    assert (train.start, len(train) + 5, len(dev), len(test)) == (5, 31, 5, 13)
    assert RECIPES == {"h": {"epochs": 1000, "class_weights": (0.25, 0.75)},
                       "o": {"epochs": 800, "class_weights": (0.35, 0.65)}}


def test_catgcn_propagates_with_out_degrees_like_the_authors():
    model = build_catgcn(num_features=5, num_classes=2, hops=1)
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 3.0]])
    # their GCNConv.norm: degrees at each edge's source (with self-loops: 3, 2, 1); messages j -> i
    expected = torch.stack([z[0] / 3, z[0] / S6 + z[1] / 2, z[0] / S3 + z[1] / S2 + z[2]])
    assert torch.allclose(model.propagate(z, DIRECTED[:, 1:]), expected)
    in_degree = build_catgcn(num_features=5, num_classes=2, hops=1, degree="in")
    assert not torch.allclose(in_degree.propagate(z, DIRECTED[:, 1:]), expected)


def test_la_gcn_authors_initialisation_statistics():
    torch.manual_seed(0)
    model = shifted_normal_(build_lagnn("gcn"))  # Cora: 1,433 -> 8 per branch, 16 -> 7 out
    for conv in (*model.branches, model.out):
        out = conv.out_channels
        values = torch.cat([conv.lin.weight.flatten(), conv.bias])
        tolerance = 5 / math.sqrt(out) / math.sqrt(values.numel())  # 5 standard errors
        assert values.mean().item() == pytest.approx(-1 / math.sqrt(out), abs=tolerance)
        assert values.std().item() == pytest.approx(1 / math.sqrt(out), rel=0.15 if values.numel() < 200 else 0.03)
    # the GAT branches are torch_geometric's in the authors' code too: left alone
    gat = build_lagnn("gat")
    before = {k: v.clone() for k, v in gat.state_dict().items()}
    shifted_normal_(gat)
    assert all(torch.equal(before[k], v) for k, v in gat.state_dict().items())


def test_metrics_divide_by_every_user_like_the_authors():
    train = torch.tensor([[0, 1, 2], [0, 1, 2]])
    test = torch.tensor([[0, 1], [3, 4]])  # user 2 has no test item
    user_emb = torch.tensor([[0, 0, 0, 5.0, 0], [0, 0, 0, 0, 5.0], [1.0, 1, 1, 1, 1]])
    item_emb = torch.eye(5)
    authors = evaluate_topk(user_emb, item_emb, train, test, k=1)
    assert (authors["recall@1"], authors["ndcg@1"], authors["users"]) == (pytest.approx(2 / 3),
                                                                         pytest.approx(2 / 3), 3)
    with_test = evaluate_topk(user_emb, item_emb, train, test, k=1, average="test-users")
    assert (with_test["recall@1"], with_test["users"]) == (1.0, 2)


def test_ultragcn_beta_counts_a_duplicated_pair_once():
    train = torch.tensor([[0, 0, 0, 1], [0, 0, 1, 1]])  # (0, 0) twice
    graph = UltraGCNGraph.from_interactions(train, 2, 2, ii_neighbor_num=1)
    assert graph.beta_user.tolist() == pytest.approx([math.sqrt(3) / 2, math.sqrt(2)])
    assert graph.beta_item.tolist() == pytest.approx([1 / math.sqrt(2), 1 / math.sqrt(3)])
