"""The core's conformance kit on every model and dataset spec of zoo-medical."""

from zoo.testing import plugin_suite

TestConformance = plugin_suite(
    "medical",
    models={"scse-unet-2d", "scse-unet-3d", "xlstm-unet-bot-2d", "xlstm-unet-bot-3d", "xlstm-unet-enc-2d",
            "xlstm-unet-enc-3d", "medvit-v2-tiny", "medvit-v2-small", "medvit-v2-base", "medvit-v2-large", "pk-yolo",
            "deeporgan-p-convnet"},
    datasets={"medical-decathlon", "medmnist", "mri-slices-yolo", "mri-slices-coco"},
    forbidden=("torch", "monai", "numpy", "nibabel"),
)
