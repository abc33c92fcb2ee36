"""zoo-vision: image classification models for zoo."""
