"""Lipreading model families: ``<family>_specs`` (torch-free: paper, variants, specs) beside ``<family>`` (torch)."""
