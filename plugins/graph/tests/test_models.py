"""Behaviour of the graph models beyond the conformance kit."""

from __future__ import annotations

import pytest
import torch

from zoo.errors import InputShapeError
from zoo_graph.models import catgcn, elliptic, evolvegcn, gcn, lagnn


def ring(n):
    idx = torch.arange(n)
    return torch.stack([torch.cat([idx, (idx + 1) % n]), torch.cat([(idx + 1) % n, idx])])


# --- GCN / Skip-GCN ----------------------------------------------------------------------------

def test_gcn_rejects_bad_graphs_with_clear_errors():
    model = gcn.build_gcn(in_channels=5, hidden_channels=4, out_channels=3)
    x = torch.rand(6, 5)
    with pytest.raises(InputShapeError, match=r"edge_index values must lie in \[0, 5\], got values in \[0, 9\]"):
        model(x, torch.tensor([[0, 1], [1, 9]]))
    with pytest.raises(InputShapeError, match="int64 or int32 tensor"):
        model(x, ring(6).float())
    with pytest.raises(InputShapeError, match="F=5"):
        model(torch.rand(6, 4), ring(6))
    with pytest.raises(InputShapeError, match="got no edge_index"):
        model(x)


def test_skip_gcn_adds_a_linear_input_skip():
    torch.manual_seed(0)
    model = elliptic.build_elliptic(skip=True, in_channels=7, hidden_channels=5).eval()
    x = torch.rand(8, 7)
    with torch.no_grad():
        model.conv2.lin.weight.zero_()
        model.conv2.bias.copy_(torch.tensor([0.5, -0.5]))
        assert torch.allclose(model(x, ring(8)), x @ model.skip.weight.t() + model.conv2.bias, atol=1e-6)
    plain = elliptic.build_elliptic()
    assert sum(p.numel() for p in plain.parameters()) == 166 * 100 + 100 + 100 * 2 + 2


# --- EvolveGCN ----------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["h", "o"])
def test_evolvegcn_snapshots_of_different_sizes_and_fewer_nodes_than_k(variant):
    torch.manual_seed(0)
    model = evolvegcn.EvolveGCN(variant, in_channels=6, hidden_channels=8, classifier_channels=5)
    # the 3-node snapshot has fewer nodes than k = 8 columns: the top-k summary pads it
    xs = [torch.rand(n, 6) for n in (10, 3, 17)]
    out = model(xs, [ring(n) for n in (10, 3, 17)])
    assert out.shape == (17, 2)
    out.sum().backward()
    assert model.layer1.evolve.update.W.grad is not None and model.layer1.evolve.update.W.grad.abs().sum() > 0
    # a second call builds a fresh graph (weights are not carried across calls, unlike PyG-temporal)
    model(xs, [ring(n) for n in (10, 3, 17)]).sum().backward()


def test_evolvegcn_weights_depend_on_history():
    torch.manual_seed(0)
    model = evolvegcn.EvolveGCN("h", in_channels=4, hidden_channels=4, classifier_channels=3).eval()
    last = torch.rand(5, 4)
    with torch.no_grad():
        short = model([last], [ring(5)])
        long = model([torch.rand(7, 4), last], [ring(7), ring(5)])
    assert not torch.allclose(short, long)


def test_matrix_gru_step_matches_its_equations():
    torch.manual_seed(0)
    gru = evolvegcn.MatrixGRU(3, 2)
    x, h = torch.rand(3, 2), torch.rand(3, 2)
    gate = lambda g, inp, hid: g.activation(g.W @ inp + g.U @ hid + g.bias)  # noqa: E731
    z, r = gate(gru.update, x, h), gate(gru.reset, x, h)
    expected = (1 - z) * h + z * torch.tanh(gru.candidate.W @ x + gru.candidate.U @ (r * h) + gru.candidate.bias)
    assert torch.allclose(gru(x, h), expected)


def test_evolvegcn_rejects_mismatched_snapshot_lists():
    model = evolvegcn.build_evolvegcn("h", in_channels=4, hidden_channels=3, classifier_channels=2)
    with pytest.raises(InputShapeError, match="same non-zero number of snapshots"):
        model([torch.rand(4, 4)], [])


# --- CatGCN -------------------------------------------------------------------------------------

def test_catgcn_matches_the_authors_field_graph_formulation():
    """The global branch equals BatchAGC on the explicit N x F x F field adjacency of the authors' code."""
    torch.manual_seed(0)
    model = catgcn.build_catgcn(num_features=30, num_classes=3, field_dim=8, diag_probe=2.0, grn_units=[5],
                          nfm_units=[4], hops=2, balance_ratio=0.3).eval()
    fields, edge_index = torch.randint(0, 30, (6, 4)), ring(6)
    e = model.field_embedding(fields)
    p = (torch.ones(4, 4) + 2.0 * torch.eye(4)) / (4 + 2.0)
    g = torch.relu(p @ e @ model.agc_weight + model.agc_bias).mean(1)
    g = model.global_mlp[1](torch.relu(model.global_mlp[0](g)))
    bi = 0.5 * (e.sum(1) ** 2 - (e ** 2).sum(1))
    local = model.local_mlp[1](torch.relu(model.local_mlp[0](bi)))
    z = 0.3 * g + 0.7 * local
    a = torch.zeros(6, 6)
    a[edge_index[0], edge_index[1]] = 1
    a = a + torch.eye(6)
    d = a.sum(1).rsqrt()
    a_hat = d[:, None] * a * d[None, :]
    expected = torch.log_softmax(a_hat @ a_hat @ z, dim=1)
    with torch.no_grad():
        assert torch.allclose(model(fields, edge_index), expected, atol=1e-5)


def test_catgcn_rejects_out_of_vocabulary_ids():
    model = catgcn.build_catgcn(num_features=10, num_classes=2)
    with pytest.raises(InputShapeError, match=r"fields values must lie in \[0, 9\]"):
        model(torch.tensor([[1, 2], [3, 10]]), ring(2))


# --- LA-GNN -------------------------------------------------------------------------------------

def test_cvae_generates_features_and_is_deterministic_in_eval():
    torch.manual_seed(0)
    cvae = lagnn.build_lagnn("cvae", feature_dim=12, hidden_dim=16, latent_dim=3)
    c = (torch.rand(5, 12) < 0.3).float()
    out = cvae.generate(c)
    assert out.shape == (5, 12) and bool(((out > 0) & (out < 1)).all())
    cvae.eval()
    x = torch.rand(5, 12)
    assert torch.equal(cvae(x, c)[0], cvae(x, c)[0])
    cvae.train()
    assert not torch.equal(cvae(x, c)[0], cvae(x, c)[0])


@pytest.mark.parametrize("variant", ["gcn", "gat"])
def test_la_models_use_every_branch(variant):
    torch.manual_seed(0)
    model = lagnn.build_lagnn(variant, in_channels=6, hidden_channels=4, out_channels=3, concat=2).eval()
    x, x_aug = torch.rand(9, 6), torch.rand(2, 9, 6)
    with torch.no_grad():
        base = model(x, ring(9), x_aug)
        changed = x_aug.clone()
        changed[1] = torch.rand(9, 6)
        assert not torch.allclose(base, model(x, ring(9), changed))
    with pytest.raises(InputShapeError, match="A=2"):
        model(x, ring(9), x_aug[:1])
