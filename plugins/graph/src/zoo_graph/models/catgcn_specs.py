"""CatGCN, torch-free: the paper, the authors' Tencent-age settings and the registered model."""

from __future__ import annotations

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper(title="CatGCN: Graph Convolutional Networks with Categorical Node Features", arxiv="2009.05303",
              venue="IEEE TKDE 2023", code="https://github.com/TachiChan/CatGCN")

# The authors' Tencent-age settings (p = 1, K = 6, α = 0.4, dropout 0.3, no hidden MLP layers). The
# Tencent data is not public: the vocabulary of 10,000 ids and the 5 classes are placeholders.
# degree "out": their propagation normalises by out-degrees (the old GCNConv.norm).
VARIANTS: dict[str, dict] = {
    "tencent-age": {"num_features": 10000, "num_classes": 5, "field_dim": 64, "diag_probe": 1.0, "grn_units": [],
                    "nfm_units": [], "hops": 6, "balance_ratio": 0.4, "dropout": 0.3, "degree": "out"},
}
DEFAULT = "tencent-age"

# The authors' Tencent-age training (sh/txn_age/CatGCN.sh and clustergnn.py of TachiChan/CatGCN): Adam lr 0.1 with
# weight decay 1e-4, full-batch steps, NLL on the model's log-probabilities, up to 9999 epochs stopped after 10
# without a lower validation loss, the state with the lowest validation loss kept.
RECIPE = TrainRecipe(
    name="tencent-age", optimiser="adam", lr=0.1, momentum=0.9, beta2=0.999, weight_decay=1e-4, epochs=9999,
    batch_size=1, select="val-loss", patience=10, source=PAPER,
    notes="a batch is the whole graph; the authors weigh the NLL by inverse class frequency of their data "
          "(class_weights= with the data's values), and the Tencent data is not public, so the recipe runs on a "
          "(train, validation) pair of graphs passed to zoo.train",
)

MODELS = (
    ModelSpec(
        name="catgcn", domain="graph", task="node-classification", paper=PAPER,
        builder="zoo_graph.models.catgcn:build_catgcn", example_input="zoo_graph.models.catgcn:example_input",
        bad_input="zoo_graph.models.catgcn:bad_input", num_params=644_810, default_config=VARIANTS[DEFAULT],
        tags=("categorical-features", "user-profiling"), license="Apache-2.0", recipes=(RECIPE,),
        description="CatGCN with the authors' Tencent-age settings; vocabulary size and class count are "
                    "placeholders (the Tencent data is not public).",
    ),
)
