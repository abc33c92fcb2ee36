"""The core's conformance kit on every model and dataset spec of zoo-graph."""

from zoo.testing import plugin_suite

TestConformance = plugin_suite(
    "graph",
    models={"ultragcn", "lightgcn", "catgcn", "evolvegcn-h", "evolvegcn-o", "gcn", "elliptic-gcn",
            "elliptic-skip-gcn", "la-gcn", "la-gat", "lagnn-cvae", "mt-text-gcn"},
    datasets={"planetoid-cora", "planetoid-citeseer", "planetoid-pubmed", "amazon-cds", "amazon-electronics",
              "gowalla", "yelp2018", "amazon-book", "elliptic", "text-folder"},
    forbidden=("torch", "torch_geometric", "numpy", "scipy", "sklearn"),
)
