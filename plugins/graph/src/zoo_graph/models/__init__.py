"""Model families of the graph plugin: ``<family>.py`` (torch) beside ``<family>_specs.py`` (torch-free)."""
