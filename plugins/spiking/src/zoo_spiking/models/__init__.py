"""Model families of zoo-spiking (one module per family)."""
