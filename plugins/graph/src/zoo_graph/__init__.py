"""zoo-graph: graph and recommendation models for zoo, built on torch-geometric.

Importing this package imports nothing heavy; models live in ``zoo_graph.models.<family>``
and the dataset readers in ``zoo_graph.data``. The plugin's hook implementations (metadata
only) are in ``zoo_graph.plugin``.
"""

__version__ = "0.1.0"
