"""Training recipes of the graph plugin's node-classification models (GCN, LA-GNN, Elliptic)."""
