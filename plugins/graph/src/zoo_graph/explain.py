"""Explainer support for graph models: node activations as a one-sample grid.

zoo's CAM framework works on ``[B, C, *S]``. A GCN layer outputs ``[N_nodes, C]`` for one graph,
so :func:`nodes` re-indexes it to ``[1, C, N_nodes]``: the graph is the sample and the nodes its
single spatial axis, and Grad-CAM returns one importance value per node (maps ``[1, N_nodes]``).
"""

from __future__ import annotations


def nodes(features):
    """``[N, C]`` node activations → ``[1, C, N]`` (pure re-indexing, applied to gradients alike)."""
    from zoo.errors import ExplainError

    if features.ndim != 2:
        raise ExplainError(f"node reshape expects [N_nodes, C] activations, got {list(features.shape)}")
    return features.t().unsqueeze(0)
