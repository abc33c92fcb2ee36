"""LightGCN, torch-free: the paper, the default (Amazon-CDs-sized) variant and the registered model."""

from __future__ import annotations

from zoo import ModelSpec
from zoo_graph.data.recsys import LIGHTGCN as PAPER
from zoo_graph.data.recsys import SIZES

_USERS, _ITEMS = SIZES["amazon-cds"]
# the paper's d = 64 and K = 3 layers
VARIANTS: dict[str, dict] = {"amazon-cds": {"num_users": _USERS, "num_items": _ITEMS, "embedding_dim": 64,
                                            "num_layers": 3}}
DEFAULT = "amazon-cds"
_CONFIG = VARIANTS[DEFAULT]

MODELS = (
    ModelSpec(
        name="lightgcn", domain="graph", task="recommendation", paper=PAPER,
        builder="zoo_graph.models.lightgcn:build_lightgcn", example_input="zoo_graph.models.lightgcn:example_input",
        bad_input="zoo_graph.models.lightgcn:bad_input",
        num_params=(_CONFIG["num_users"] + _CONFIG["num_items"]) * _CONFIG["embedding_dim"], default_config=_CONFIG,
        tags=("recommendation", "collaborative-filtering", "torch-geometric", "amazon-cds"), license="Apache-2.0",
        description="torch_geometric's LightGCN (3 layers, d = 64) on a user-item bipartite graph, Amazon-CDs "
                    "sizes; the baseline UltraGCN is measured against.",
    ),
)
