"""The core's conformance kit on every detector of zoo-detection (counts, forward, save/load, bad input)."""

from zoo.testing import plugin_suite

TestConformance = plugin_suite(
    "detection",
    models={"retinanet-pvt-v2-b0", "fcos-pvt-v2-b0"},
    forbidden=("torch", "numpy", "mmdet", "mmengine", "mmcv"),
)
