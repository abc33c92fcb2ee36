"""Small COCO-format data for demos and tests."""
