"""Kipf & Welling's GCN, torch-free: the paper, the Cora setting and the registered model."""

from __future__ import annotations

from zoo import ModelSpec, Paper, TrainRecipe
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

# Kipf & Welling's Cora recipe (paper §5.1 and tkipf/gcn's flags): Adam, lr 0.01, 5e-4 L2, 200 epochs of one
# full-batch step, dropout 0.5 (in the model), the state with the lowest validation loss.
RECIPE = TrainRecipe(
    name="paper", optimiser="adam", lr=0.01, momentum=0.9, beta2=0.999, weight_decay=5e-4, epochs=200, batch_size=1,
    select="val-loss", source=PAPER,
    notes="a batch is the whole graph (1 item). The authors put the L2 on the first layer only and stop after 10 "
          "epochs without a lower validation loss; here Adam's weight decay is on every weight and the state with "
          "the lowest validation loss over the 200 epochs is kept",
)

MODELS = (
    ModelSpec(
        name="gcn", domain="graph", task="node-classification", paper=PAPER,
        builder="zoo_graph.models.gcn:build_gcn", example_input="zoo_graph.models.gcn:example_input",
        bad_input="zoo_graph.models.gcn:bad_input", num_params=23_063, default_config=VARIANTS[DEFAULT],
        explain_layer=EXPLAIN_LAYER, explain_reshape=EXPLAIN_RESHAPE, tags=("gcn", "planetoid", "cora"),
        recipes=(RECIPE,),
        license="Apache-2.0", description="Kipf & Welling's two-layer GCN (torch_geometric GCNConv), Cora setting.",
    ),
)
