"""zoo.explain (Grad-CAM) gives one importance value per node for the node-classification GCNs."""

from __future__ import annotations

import pytest
import torch

import zoo


@pytest.mark.parametrize("name", ["gcn", "elliptic-gcn"])
def test_grad_cam_gives_a_per_node_map(name, cora):
    torch.manual_seed(0)
    model = zoo.build(name).eval()
    if name == "gcn":
        x, edge_index = cora.x, cora.edge_index
    else:
        x, edge_index = torch.rand(50, 166), torch.randint(0, 50, (2, 200))
    explanation = zoo.explain(model, (x, edge_index), method="grad-cam")
    assert explanation.target_layer in ("act1", ["act1"])
    assert explanation.maps.shape == (1, x.shape[0])
    assert float(explanation.maps.min()) >= 0.0 and float(explanation.maps.max()) <= 1.0
    if name == "gcn":  # on Cora some node has positive evidence: the min-max scaled map reaches 1
        assert float(explanation.maps.max()) == pytest.approx(1.0)


def test_grad_cam_targets_one_node_with_a_callable():
    """A callable target explains one node's logit; different nodes and classes give different maps."""
    torch.manual_seed(0)
    model = zoo.build("gcn", in_channels=8, hidden_channels=6, out_channels=3).eval()
    x = torch.rand(10, 8)
    edge_index = torch.tensor([[0, 1, 1, 2, 5, 6], [1, 0, 2, 1, 6, 5]])
    first = zoo.explain(model, (x, edge_index), targets=lambda out: out[0:1, 0])
    other = zoo.explain(model, (x, edge_index), targets=lambda out: out[5:6, 1])
    assert first.maps.shape == other.maps.shape == (1, 10)
    assert not torch.allclose(first.maps, other.maps)
