"""Weber et al.'s GCN and Skip-GCN for Elliptic, torch-free: the paper, the variants, the registered models."""

from __future__ import annotations

from zoo import ModelSpec, TrainRecipe
from zoo_graph.data.elliptic import NUM_FEATURES
from zoo_graph.data.elliptic import PAPER as PAPER
from zoo_graph.models.gcn_specs import EXPLAIN_LAYER, EXPLAIN_RESHAPE

# Two GCN layers with 100 hidden units on the 166 "all features"; Skip-GCN adds a linear skip.
VARIANTS: dict[str, dict] = {
    "gcn": {"in_channels": NUM_FEATURES, "hidden_channels": 100, "num_classes": 2, "dropout": 0.0, "skip": False},
    "skip-gcn": {"in_channels": NUM_FEATURES, "hidden_channels": 100, "num_classes": 2, "dropout": 0.0, "skip": True},
}
CLASS_WEIGHTS = (0.3, 0.7)  # licit, illicit: the paper's weighted cross entropy

# Weber et al. §4: Adam, lr 1e-3, 1000 epochs of full-batch steps, weighted cross entropy (0.3 / 0.7), no
# model selection (the last state is tested on steps 35-49).
RECIPE = TrainRecipe(
    name="paper", optimiser="adam", lr=1e-3, momentum=0.9, beta2=0.999, epochs=1000, batch_size=1,
    class_weights=CLASS_WEIGHTS, source=PAPER,
    notes="a batch is the whole graph (1 item); the unknown-label nodes stay in the graph, out of the loss. "
          "The paper has no validation split: the engine's per-epoch score on the test steps is only logged, "
          "and the last checkpoint is the one tested",
)

_DESCRIPTIONS = {
    "gcn": "Weber et al.'s two-layer GCN (hidden 100) for illicit-transaction detection on Elliptic.",
    "skip-gcn": "Skip-GCN: Weber et al.'s GCN with a linear skip from the input features to the output.",
}
_NUM_PARAMS = {"gcn": 16_902, "skip-gcn": 17_234}

MODELS = tuple(
    ModelSpec(
        name=f"elliptic-{variant}", domain="graph", task="node-classification", paper=PAPER,
        builder="zoo_graph.models.elliptic:build_elliptic", example_input="zoo_graph.models.gcn:example_input",
        bad_input="zoo_graph.models.gcn:bad_input", num_params=_NUM_PARAMS[variant], default_config=config,
        explain_layer=EXPLAIN_LAYER, explain_reshape=EXPLAIN_RESHAPE,
        tags=("gcn", "elliptic", "anti-money-laundering"), recipes=(RECIPE,), license="Apache-2.0",
        description=_DESCRIPTIONS[variant],
    )
    for variant, config in VARIANTS.items()
)
