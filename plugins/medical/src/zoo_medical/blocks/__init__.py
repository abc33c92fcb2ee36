"""Reusable network blocks in the style of ``monai.networks.blocks``."""
