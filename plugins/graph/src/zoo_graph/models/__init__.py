"""Model families of the graph plugin, one module per family."""
