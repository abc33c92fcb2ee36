"""Reusable layers of zoo-graph (import torch): EvolveGCN's weight-evolving recurrent blocks."""

from zoo_graph.blocks.evolving import MatrixGate, MatrixGRU, TopKSummary

__all__ = ["MatrixGRU", "MatrixGate", "TopKSummary"]
