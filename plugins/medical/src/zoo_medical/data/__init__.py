"""Readers of published medical dataset formats from a local root (they never download)."""
