"""GCN and Skip-GCN for anti-money-laundering on the Elliptic Bitcoin graph.

Weber et al., "Anti-Money Laundering in Bitcoin: Experimenting with Graph Convolutional Networks
for Financial Forensics", KDD'19 Workshop on Anomaly Detection in Finance (arXiv:1908.02591).
Two GCN layers with 100 hidden units on the 166 "all features" (time step included), two
classes (licit, illicit); trained with Adam (lr 1e-3, 1000 epochs) and a weighted cross entropy
(licit 0.3, illicit 0.7) on time steps 1-34, tested on 35-49 with the illicit-class F1.
Skip-GCN adds a linear skip connection from the input features to the output layer.
"""

from __future__ import annotations

from zoo_graph.models.elliptic_specs import VARIANTS
from zoo_graph.models.gcn import GCN


def build_elliptic(skip: bool = False, **config) -> GCN:
    """Builder: Weber et al.'s GCN (16,902 parameters) or, with ``skip``, Skip-GCN (17,234 parameters).

    Skip-GCN is the GCN plus a bias-free input-to-output linear skip.
    Input (x [N, 166], edge_index [2, E]) → logits [N, 2].
    """
    settings = {**VARIANTS["skip-gcn" if skip else "gcn"], **config}
    return GCN(settings["in_channels"], settings["hidden_channels"], settings["num_classes"], settings["dropout"],
               skip=skip)
