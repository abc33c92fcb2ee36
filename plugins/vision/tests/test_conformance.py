"""The core's conformance kit on every spec of zoo-vision."""

from zoo.testing import plugin_suite

TestConformance = plugin_suite("vision", forbidden=("torch", "numpy"))
