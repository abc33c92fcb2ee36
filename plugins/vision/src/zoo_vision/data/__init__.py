"""Dataset readers of zoo-vision: local files in published layouts, never downloaded."""
