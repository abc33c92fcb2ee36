"""UltraGCN, torch-free: the paper, its per-dataset settings and the registered model."""

from __future__ import annotations

from zoo import ModelSpec, TrainRecipe
from zoo_graph.data.recsys import SIZES
from zoo_graph.data.recsys import ULTRAGCN as PAPER

# Per-dataset settings of the paper / authors' configs: model part (dim, init std) and training part.
PAPER_CONFIGS: dict[str, dict] = {
    "amazon-book": dict(embedding_dim=64, init_std=1e-4, lr=1e-3, batch_size=1024, w1=1e-8, w2=1.0, w3=1.0, w4=1e-8,
                        negative_num=500, negative_weight=500.0, gamma=1e-4, lambda_=2.75, ii_neighbor_num=10,
                        early_stop=15, sift_pos=False),
    "yelp2018": dict(embedding_dim=64, init_std=1e-4, lr=1e-3, batch_size=1024, w1=1e-8, w2=1.0, w3=1e-8, w4=1.0,
                     negative_num=800, negative_weight=300.0, gamma=1e-4, lambda_=5e-4, ii_neighbor_num=10,
                     early_stop=15, sift_pos=False),
    "gowalla": dict(embedding_dim=64, init_std=1e-4, lr=1e-4, batch_size=512, w1=1e-6, w2=1.0, w3=1e-6, w4=1.0,
                    negative_num=1500, negative_weight=300.0, gamma=1e-4, lambda_=5e-4, ii_neighbor_num=10,
                    early_stop=150, sift_pos=False),
    "ml-1m": dict(embedding_dim=128, init_std=1e-3, lr=1e-3, batch_size=1024, w1=1e-7, w2=1.0, w3=1e-7, w4=1.0,
                  negative_num=200, negative_weight=200.0, gamma=1e-4, lambda_=1e-3, ii_neighbor_num=10,
                  early_stop=50, sift_pos=False),
    "amazon-cds": dict(embedding_dim=64, init_std=1e-4, lr=1e-3, batch_size=1024, w1=1e-7, w2=1.0, w3=1e-7, w4=1.0,
                       negative_num=1000, negative_weight=1000.0, gamma=1e-4, lambda_=1.0, ii_neighbor_num=10,
                       early_stop=15, sift_pos=False),
    "amazon-electronics": dict(embedding_dim=64, init_std=1e-3, lr=1e-3, batch_size=2048, w1=1e-7, w2=1.0, w3=1e-7,
                               w4=1.0, negative_num=75, negative_weight=75.0, gamma=5e-5, lambda_=1e-7,
                               ii_neighbor_num=10, early_stop=250, sift_pos=True),
}


def _model_part(dataset: str) -> dict:
    users, items = SIZES[dataset]
    settings = PAPER_CONFIGS[dataset]
    return {"num_users": users, "num_items": items, "embedding_dim": settings["embedding_dim"],
            "init_std": settings["init_std"]}


VARIANTS: dict[str, dict] = {"amazon-cds": _model_part("amazon-cds")}
DEFAULT = "amazon-cds"


def _num_params(config: dict) -> int:
    return (config["num_users"] + config["num_items"]) * config["embedding_dim"]


def _recipe(dataset: str) -> TrainRecipe:
    """The authors' config for ``dataset`` as a recipe: Adam at its lr and batch, at most 2,000 epochs, stopped after
    ``early_stop`` evaluations without a better Recall@20; the loss weights, negatives and embedding sizes go to
    :func:`zoo_graph.recsys.ultragcn.prepare` as options."""
    settings = PAPER_CONFIGS[dataset]
    return TrainRecipe(
        name=dataset, optimiser="adam", lr=settings["lr"], momentum=0.9, beta2=0.999, epochs=2000,
        batch_size=settings["batch_size"], patience=settings["early_stop"], loss="data",
        prepare="zoo_graph.recsys.ultragcn:prepare", source=PAPER,
        options={k: v for k, v in settings.items() if k not in ("lr", "batch_size", "early_stop")},
        notes="the authors evaluate every 5 epochs up to epoch 50 and then every epoch; the engine every epoch, and "
              "it drops the last partial batch of an epoch",
    )


# The first recipe is the default: Amazon-CDs, the default config's sizes.
RECIPES = tuple(_recipe(dataset) for dataset in ("amazon-cds", *(d for d in PAPER_CONFIGS if d != "amazon-cds")))

MODELS = (
    ModelSpec(
        name="ultragcn", domain="graph", task="recommendation", paper=PAPER,
        builder="zoo_graph.models.ultragcn:build_ultragcn", example_input="zoo_graph.models.ultragcn:example_input",
        bad_input="zoo_graph.models.ultragcn:bad_input", num_params=_num_params(VARIANTS[DEFAULT]),
        default_config=VARIANTS[DEFAULT], recipes=RECIPES,
        tags=("recommendation", "collaborative-filtering", "amazon-cds"), license="Apache-2.0",
        description="UltraGCN on Amazon-CDs sizes: user and item embeddings trained with the β-weighted "
                    "constraint loss and the item-item top-K term (zoo_graph.recsys.ultragcn).",
    ),
)
