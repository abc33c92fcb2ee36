"""The architectures of zoo-vision: per family a torch module and a torch-free ``*_specs`` module."""
