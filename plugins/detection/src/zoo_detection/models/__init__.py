"""The detectors of zoo-detection: per family a builder module and a torch-free ``*_specs`` module."""
