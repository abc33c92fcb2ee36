"""LightGCN, torch-free: the paper, the default (Amazon-CDs-sized) variant and the registered model."""

from __future__ import annotations

from zoo import ModelSpec, TrainRecipe
from zoo_graph.data.recsys import LIGHTGCN as PAPER
from zoo_graph.data.recsys import SIZES

_USERS, _ITEMS = SIZES["amazon-cds"]
# the paper's d = 64 and K = 3 layers
VARIANTS: dict[str, dict] = {"amazon-cds": {"num_users": _USERS, "num_items": _ITEMS, "embedding_dim": 64,
                                            "num_layers": 3}}
DEFAULT = "amazon-cds"
_CONFIG = VARIANTS[DEFAULT]

# LightGCN's training (arXiv:2002.02126 §4.1.2 and the authors' defaults): Adam lr 1e-3, batch 2048, L2 1e-4 on the
# batch's layer-0 embeddings, BPR with one sampled negative per positive, 1,000 epochs; Recall@20 over all items.
RECIPE = TrainRecipe(
    name="paper", optimiser="adam", lr=1e-3, momentum=0.9, beta2=0.999, epochs=1000, batch_size=2048, loss="data",
    prepare="zoo_graph.recsys.lightgcn:prepare", options={"lambda_reg": 1e-4}, source=PAPER,
    notes="the authors evaluate every 10 epochs and report the best; the engine evaluates every epoch",
)

MODELS = (
    ModelSpec(
        name="lightgcn", domain="graph", task="recommendation", paper=PAPER,
        builder="zoo_graph.models.lightgcn:build_lightgcn", example_input="zoo_graph.models.lightgcn:example_input",
        bad_input="zoo_graph.models.lightgcn:bad_input",
        num_params=(_CONFIG["num_users"] + _CONFIG["num_items"]) * _CONFIG["embedding_dim"], default_config=_CONFIG,
        recipes=(RECIPE,),
        tags=("recommendation", "collaborative-filtering", "torch-geometric", "amazon-cds"), license="Apache-2.0",
        description="torch_geometric's LightGCN (3 layers, d = 64) on a user-item bipartite graph, Amazon-CDs "
                    "sizes; the baseline UltraGCN is measured against.",
    ),
)
