"""Kipf & Welling's GCN, torch-free: the paper, the Cora setting and the registered model."""

from __future__ import annotations

from zoo import ModelSpec, Paper
from zoo_graph.data.planetoid import SIZES

PAPER = Paper(title="Semi-Supervised Classification with Graph Convolutional Networks", arxiv="1609.02907",
              venue="ICLR 2017", code="https://github.com/tkipf/gcn")

_, _FEATURES, _CLASSES = SIZES["cora"]
VARIANTS: dict[str, dict] = {
    "cora": {"in_channels": _FEATURES, "hidden_channels": 16, "out_channels": _CLASSES, "dropout": 0.5},
}
DEFAULT = "cora"

# The first layer's ReLU output [N_nodes, hidden]: Grad-CAM weighs its channels and gives one value
# per node; zoo_graph.explain:nodes presents the graph as one sample of N nodes.
EXPLAIN_LAYER, EXPLAIN_RESHAPE = "act1", "zoo_graph.explain:nodes"

MODELS = (
    ModelSpec(
        name="gcn", domain="graph", task="node-classification", paper=PAPER,
        builder="zoo_graph.models.gcn:build_gcn", example_input="zoo_graph.models.gcn:example_input",
        bad_input="zoo_graph.models.gcn:bad_input", num_params=23_063, default_config=VARIANTS[DEFAULT],
        explain_layer=EXPLAIN_LAYER, explain_reshape=EXPLAIN_RESHAPE, tags=("gcn", "planetoid", "cora"),
        license="Apache-2.0", description="Kipf & Welling's two-layer GCN (torch_geometric GCNConv), Cora setting.",
    ),
)
