"""LA-GNN, torch-free: the paper, the authors' Cora settings of LA-GCN, LA-GAT and the CVAE, the models."""

from __future__ import annotations

from zoo import ModelSpec, Paper
from zoo_graph.data.planetoid import SIZES
from zoo_graph.models.gcn_specs import EXPLAIN_RESHAPE

PAPER = Paper(title="Local Augmentation for Graph Neural Networks", arxiv="2109.03856", venue="ICML 2022",
              code="https://github.com/SongtaoLiu0823/LAGNN")

_, _FEATURES, _CLASSES = SIZES["cora"]
# The authors' Cora settings (their cora.sh / README).
VARIANTS: dict[str, dict] = {
    "gcn": {"in_channels": _FEATURES, "hidden_channels": 8, "out_channels": _CLASSES, "concat": 1, "dropout": 0.5},
    "gat": {"in_channels": _FEATURES, "hidden_channels": 8, "out_channels": _CLASSES, "concat": 1, "heads": 4,
            "out_heads": 1, "dropout": 0.6},
    "cvae": {"feature_dim": _FEATURES, "hidden_dim": 256, "latent_dim": 10},
}

_M = "zoo_graph.models.lagnn"


def _classifier(variant: str, num_params: int, description: str, tags: tuple[str, ...]) -> ModelSpec:
    return ModelSpec(
        name=f"la-{variant}", domain="graph", task="node-classification", paper=PAPER,
        builder=f"{_M}:build_lagnn", example_input=f"{_M}:example_input", bad_input=f"{_M}:bad_input",
        num_params=num_params, default_config={"variant": variant, **VARIANTS[variant]},
        explain_layer="hidden", explain_reshape=EXPLAIN_RESHAPE,
        tags=("local-augmentation", *tags, "planetoid", "cora"), license="Apache-2.0", description=description,
    )


MODELS = (
    _classifier("gcn", 23_063, "LA-GCN (Cora settings): parallel GCN branches over the original and CVAE-generated "
                               "features; feed generated features as x_aug (zoo_graph.train.lagnn).", ()),
    _classifier("gat", 92_373, "LA-GAT (Cora settings): the LA-GCN layout with torch_geometric GATConv branches.",
                ("gat",)),
    ModelSpec(
        name="lagnn-cvae", domain="graph", task="feature-generation", paper=PAPER,
        builder=f"{_M}:build_lagnn", example_input=f"{_M}:cvae_example_input", bad_input=f"{_M}:cvae_bad_input",
        num_params=1_477_037, default_config={"variant": "cvae", **VARIANTS["cvae"]},
        tags=("local-augmentation", "vae", "planetoid", "cora"), license="Apache-2.0",
        description="LA-GNN's conditional VAE generating neighbour features from a node's own features (Cora).",
    ),
)
