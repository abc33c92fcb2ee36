"""Readers for the published on-disk formats of the graph plugin's datasets (never download)."""
