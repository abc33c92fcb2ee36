"""zoo-detection: zoo vision backbones inside mmdet detectors, and detectors as zoo models.

``import zoo_detection.backbone`` registers ``ZooBackbone`` in mmdet's ``MODELS`` registry;
``zoo.load("retinanet-pvt-v2-b0")`` builds a detector through mmdet's config system.
"""
