"""Model families of zoo-spiking: per family, the architecture (``<family>.py``) and its torch-free
spec module (``<family>_specs.py``)."""
