"""zoo-graph's hook implementations: metadata only.

This module must import neither torch nor torch_geometric (a test checks it in a fresh
interpreter): every builder, example input and dataset reader is a lazy ``"module:function"``
string. The data modules imported here are light (pathlib and zoo.errors at import time) and
share their layout strings so that spec and missing-files error say the same thing.
"""

from __future__ import annotations

from zoo import DatasetSpec, ModelSpec, Paper, hookimpl
from zoo_graph.data import elliptic, planetoid, recsys

ULTRAGCN = Paper(title="UltraGCN: Ultra Simplification of Graph Convolutional Networks for Recommendation",
                 arxiv="2110.15114", venue="CIKM 2021", code="https://github.com/xue-pai/UltraGCN")
LIGHTGCN = Paper(title="LightGCN: Simplifying and Powering Graph Convolution Network for Recommendation",
                 arxiv="2002.02126", venue="SIGIR 2020", code="https://github.com/kuandeng/LightGCN")
CATGCN = Paper(title="CatGCN: Graph Convolutional Networks with Categorical Node Features", arxiv="2009.05303",
               venue="IEEE TKDE 2023", code="https://github.com/TachiChan/CatGCN")
EVOLVEGCN = Paper(title="EvolveGCN: Evolving Graph Convolutional Networks for Dynamic Graphs", arxiv="1902.10191",
                  venue="AAAI 2020", code="https://github.com/IBM/EvolveGCN")
ELLIPTIC = Paper(title="Anti-Money Laundering in Bitcoin: Experimenting with Graph Convolutional Networks for "
                       "Financial Forensics", arxiv="1908.02591", venue="KDD 2019 Workshop on Anomaly Detection in "
                 "Finance", url="https://www.kaggle.com/datasets/ellipticco/elliptic-data-set")
GCN = Paper(title="Semi-Supervised Classification with Graph Convolutional Networks", arxiv="1609.02907",
            venue="ICLR 2017", code="https://github.com/tkipf/gcn")
LAGNN = Paper(title="Local Augmentation for Graph Neural Networks", arxiv="2109.03856", venue="ICML 2022",
              code="https://github.com/SongtaoLiu0823/LAGNN")
PLANETOID = Paper(title="Revisiting Semi-Supervised Learning with Graph Embeddings", arxiv="1603.08861",
                  venue="ICML 2016", code="https://github.com/kimiyoung/planetoid")

_M = "zoo_graph.models"
_NODES = "zoo_graph.explain:nodes"


def _node_classifier(name, paper, module, builder, num_params, config, description, tags=(), layer="act1"):
    return ModelSpec(
        name=name, domain="graph", task="node-classification", paper=paper,
        builder=f"{_M}.{module}:{builder}", example_input=f"{_M}.gcn:example_input", bad_input=f"{_M}.gcn:bad_input",
        num_params=num_params, default_config=config,
        # The first layer's ReLU output [N_nodes, hidden]: Grad-CAM weighs its channels and gives
        # one value per node; zoo_graph.explain:nodes presents the graph as one sample of N nodes.
        explain_layer=layer, explain_reshape=_NODES, tags=("gcn", *tags), license="Apache-2.0",
        description=description,
    )


def _models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="ultragcn", domain="graph", task="recommendation", paper=ULTRAGCN,
            builder=f"{_M}.ultragcn:ultragcn", example_input=f"{_M}.ultragcn:example_input",
            bad_input=f"{_M}.ultragcn:bad_input", num_params=5_044_288,
            default_config={"num_users": 43169, "num_items": 35648, "embedding_dim": 64, "init_std": 1e-4},
            tags=("recommendation", "collaborative-filtering", "amazon-cds"), license="Apache-2.0",
            description="UltraGCN on Amazon-CDs sizes: user and item embeddings trained with the β-weighted "
                        "constraint loss and the item-item top-K term (zoo_graph.recsys.ultragcn).",
        ),
        ModelSpec(
            name="lightgcn", domain="graph", task="recommendation", paper=LIGHTGCN,
            builder=f"{_M}.lightgcn:lightgcn", example_input=f"{_M}.lightgcn:example_input",
            bad_input=f"{_M}.lightgcn:bad_input", num_params=5_044_288,
            default_config={"num_users": 43169, "num_items": 35648, "embedding_dim": 64, "num_layers": 3},
            tags=("recommendation", "collaborative-filtering", "torch-geometric", "amazon-cds"), license="Apache-2.0",
            description="torch_geometric's LightGCN (3 layers, d = 64) on a user-item bipartite graph, Amazon-CDs "
                        "sizes; the baseline UltraGCN is measured against.",
        ),
        ModelSpec(
            name="catgcn", domain="graph", task="node-classification", paper=CATGCN,
            builder=f"{_M}.catgcn:catgcn", example_input=f"{_M}.catgcn:example_input",
            bad_input=f"{_M}.catgcn:bad_input", num_params=644_810,
            default_config={"num_features": 10000, "num_classes": 5, "field_dim": 64, "diag_probe": 1.0,
                            "grn_units": [], "nfm_units": [], "hops": 6, "balance_ratio": 0.4, "dropout": 0.3},
            tags=("categorical-features", "user-profiling"), license="Apache-2.0",
            description="CatGCN with the authors' Tencent-age settings; vocabulary size and class count are "
                        "placeholders (the Tencent data is not public).",
        ),
        ModelSpec(
            name="evolvegcn-h", domain="graph", task="temporal-node-classification", paper=EVOLVEGCN,
            builder=f"{_M}.evolvegcn:evolvegcn_h", example_input=f"{_M}.evolvegcn:example_input",
            bad_input=f"{_M}.evolvegcn:bad_input", num_params=314_094,
            default_config={"in_channels": 166, "hidden_channels": 76, "classifier_channels": 510, "num_classes": 2},
            tags=("dynamic-graph", "elliptic"), license="Apache-2.0",
            description="EvolveGCN-H (GRU-evolved GCN weights, top-k node summary) with the authors' Elliptic "
                        "config; snapshots may differ in size.",
        ),
        ModelSpec(
            name="evolvegcn-o", domain="graph", task="temporal-node-classification", paper=EVOLVEGCN,
            builder=f"{_M}.evolvegcn:evolvegcn_o", example_input=f"{_M}.evolvegcn:example_input",
            bad_input=f"{_M}.evolvegcn:bad_input", num_params=1_070_195,
            default_config={"in_channels": 166, "hidden_channels": 256, "classifier_channels": 307, "num_classes": 2},
            tags=("dynamic-graph", "elliptic"), license="Apache-2.0",
            description="EvolveGCN-O (weights evolved by a matrix GRU fed with themselves, as in the authors' "
                        "code) with their Elliptic config; the unused top-k scorers of their code are dropped.",
        ),
        _node_classifier("gcn", GCN, "gcn", "gcn", 23_063,
                         {"in_channels": 1433, "hidden_channels": 16, "out_channels": 7, "dropout": 0.5},
                         "Kipf & Welling's two-layer GCN (torch_geometric GCNConv), Cora setting.",
                         tags=("planetoid", "cora")),
        _node_classifier("elliptic-gcn", ELLIPTIC, "elliptic", "elliptic_gcn", 16_902,
                         {"in_channels": 166, "hidden_channels": 100, "num_classes": 2, "dropout": 0.0},
                         "Weber et al.'s two-layer GCN (hidden 100) for illicit-transaction detection on Elliptic.",
                         tags=("elliptic", "anti-money-laundering")),
        _node_classifier("elliptic-skip-gcn", ELLIPTIC, "elliptic", "elliptic_skip_gcn", 17_234,
                         {"in_channels": 166, "hidden_channels": 100, "num_classes": 2, "dropout": 0.0},
                         "Skip-GCN: Weber et al.'s GCN with a linear skip from the input features to the output.",
                         tags=("elliptic", "anti-money-laundering")),
        ModelSpec(
            name="la-gcn", domain="graph", task="node-classification", paper=LAGNN,
            builder=f"{_M}.lagnn:la_gcn", example_input=f"{_M}.lagnn:example_input",
            bad_input=f"{_M}.lagnn:bad_input", num_params=23_063,
            default_config={"in_channels": 1433, "hidden_channels": 8, "out_channels": 7, "concat": 1,
                            "dropout": 0.5},
            explain_layer="hidden", explain_reshape=_NODES, tags=("local-augmentation", "planetoid", "cora"),
            license="Apache-2.0",
            description="LA-GCN (Cora settings): parallel GCN branches over the original and CVAE-generated "
                        "features; feed generated features as x_aug (zoo_graph.train.lagnn).",
        ),
        ModelSpec(
            name="la-gat", domain="graph", task="node-classification", paper=LAGNN,
            builder=f"{_M}.lagnn:la_gat", example_input=f"{_M}.lagnn:example_input",
            bad_input=f"{_M}.lagnn:bad_input", num_params=92_373,
            default_config={"in_channels": 1433, "hidden_channels": 8, "out_channels": 7, "concat": 1, "heads": 4,
                            "out_heads": 1, "dropout": 0.6},
            explain_layer="hidden", explain_reshape=_NODES, tags=("local-augmentation", "gat", "planetoid", "cora"),
            license="Apache-2.0",
            description="LA-GAT (Cora settings): the LA-GCN layout with torch_geometric GATConv branches.",
        ),
        ModelSpec(
            name="lagnn-cvae", domain="graph", task="feature-generation", paper=LAGNN,
            builder=f"{_M}.lagnn:lagnn_cvae", example_input=f"{_M}.lagnn:cvae_example_input",
            bad_input=f"{_M}.lagnn:cvae_bad_input", num_params=1_477_037,
            default_config={"feature_dim": 1433, "hidden_dim": 256, "latent_dim": 10},
            tags=("local-augmentation", "vae", "planetoid", "cora"), license="Apache-2.0",
            description="LA-GNN's conditional VAE generating neighbour features from a node's own features (Cora).",
        ),
    ]


def _recsys(name: str, builder: str, users_items: str, paper: Paper) -> DatasetSpec:
    return DatasetSpec(
        name=name, domain="graph", task="recommendation", builder=f"zoo_graph.data.recsys:{builder}",
        layout=recsys.LAYOUT, homepage=recsys.HOMEPAGE, splits=("all", "train", "test"), paper=paper,
        description=f"{users_items}; the LightGCN/UltraGCN text format.",
    )


def _datasets() -> list[DatasetSpec]:
    specs = [
        DatasetSpec(
            name=f"planetoid-{key}", domain="graph", task="node-classification",
            builder=f"zoo_graph.data.planetoid:{key}", layout=planetoid.layout(key), homepage=planetoid.HOMEPAGE,
            splits=("public",), paper=PLANETOID,
            description=f"{title} citation graph with the public Planetoid split (read from the raw files).",
        )
        for key, title in (("cora", "Cora"), ("citeseer", "CiteSeer"), ("pubmed", "PubMed"))
    ]
    specs += [
        _recsys("amazon-cds", "amazon_cds", "Amazon-CDs, 43,169 users x 35,648 items (UltraGCN split)", ULTRAGCN),
        _recsys("amazon-electronics", "amazon_electronics", "Amazon-Electronics, 1,435 users x 1,522 items",
                ULTRAGCN),
        _recsys("gowalla", "gowalla", "Gowalla check-ins (LightGCN split)", LIGHTGCN),
        _recsys("yelp2018", "yelp2018", "Yelp2018 (LightGCN split; not PyG's GraphSAINT Yelp)", LIGHTGCN),
        _recsys("amazon-book", "amazon_book", "Amazon-Book (LightGCN split)", LIGHTGCN),
        DatasetSpec(
            name="elliptic", domain="graph", task="node-classification", builder="zoo_graph.data.elliptic:elliptic",
            layout=elliptic.LAYOUT, homepage=elliptic.HOMEPAGE, splits=("all", "train", "test"), paper=ELLIPTIC,
            description="Elliptic Bitcoin transactions: 166 features (time step first), temporal split at step 34.",
        ),
    ]
    return specs


@hookimpl
def zoo_models() -> list[ModelSpec]:
    return _models()


@hookimpl
def zoo_datasets() -> list[DatasetSpec]:
    return _datasets()
