"""Training and evaluation for the recommendation models: losses, samplers, top-K metrics."""
