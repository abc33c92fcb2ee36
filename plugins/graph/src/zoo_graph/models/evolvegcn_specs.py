"""EvolveGCN, torch-free: the paper, the authors' Elliptic configs of -H and -O and the registered models."""

from __future__ import annotations

from zoo import ModelSpec, Paper
from zoo_graph.data.elliptic import NUM_FEATURES

PAPER = Paper(title="EvolveGCN: Evolving Graph Convolutional Networks for Dynamic Graphs", arxiv="1902.10191",
              venue="AAAI 2020", code="https://github.com/IBM/EvolveGCN")

# The authors' experiments/parameters_elliptic_egcn_{h,o}.yaml (hidden feats, classifier width);
# flow "target_to_source" is their adjacency (row-sum degrees, node i aggregates its out-neighbours).
VARIANTS: dict[str, dict] = {
    "h": {"in_channels": NUM_FEATURES, "hidden_channels": 76, "classifier_channels": 510, "num_classes": 2,
          "flow": "target_to_source"},
    "o": {"in_channels": NUM_FEATURES, "hidden_channels": 256, "classifier_channels": 307, "num_classes": 2,
          "flow": "target_to_source"},
}
# Their Elliptic training settings (same files): epochs, class weights [licit, illicit]; both with
# Adam lr 1e-3, 5 history steps, train/dev proportions 0.65/0.10 of the time steps, early stopping
# after 100 epochs without a better dev illicit F1, evaluated from epoch 6 on.
RECIPES: dict[str, dict] = {
    "h": {"epochs": 1000, "class_weights": (0.25, 0.75)},
    "o": {"epochs": 800, "class_weights": (0.35, 0.65)},
}

_M = "zoo_graph.models.evolvegcn"
_DESCRIPTIONS = {
    "h": "EvolveGCN-H (GRU-evolved GCN weights, top-k node summary) with the authors' Elliptic config; snapshots "
         "may differ in size.",
    "o": "EvolveGCN-O (weights evolved by a matrix GRU fed with themselves, as in the authors' code) with their "
         "Elliptic config; the unused top-k scorers of their code are dropped.",
}
_NUM_PARAMS = {"h": 314_094, "o": 1_070_195}

MODELS = tuple(
    ModelSpec(
        name=f"evolvegcn-{variant}", domain="graph", task="temporal-node-classification", paper=PAPER,
        builder=f"{_M}:build_evolvegcn", example_input=f"{_M}:example_input", bad_input=f"{_M}:bad_input",
        num_params=_NUM_PARAMS[variant], default_config={"variant": variant, **config},
        tags=("dynamic-graph", "elliptic"), license="Apache-2.0", description=_DESCRIPTIONS[variant],
        no_recipe="a sample is a window of graph snapshots with one step per target snapshot, and the authors "
                  "select on the dev illicit-class F1 with tie re-logging, scoring from epoch 5: "
                  "zoo_graph.train.elliptic.train_evolving runs their loop",
    )
    for variant, config in VARIANTS.items()
)
