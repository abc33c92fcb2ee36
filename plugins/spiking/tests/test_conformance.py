"""The core's conformance kit on every model and dataset spec of zoo-spiking."""

from zoo.testing import plugin_suite

TestConformance = plugin_suite(
    "spiking",
    models={"edge-3dsnn", "edge-3dsnn-s", "edge-3dsnn-m", "edge-3dsnn-l", "edge-3dsnn-seg",
            "meta-spikeformer-15m", "meta-spikeformer-31m", "meta-spikeformer-55m"},
    datasets={"modelnet40"},
    forbidden=("torch", "numpy"),
)
