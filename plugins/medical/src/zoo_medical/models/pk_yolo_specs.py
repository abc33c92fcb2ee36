"""What PK-YOLO is: the paper, its configuration, counts and training recipe (torch-free)."""

from __future__ import annotations

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="Pretrained Knowledge Guided YOLO for Brain Tumor Detection in Multiplanar MRI Slices",
    arxiv="2410.21822", venue="WACV 2025", code="https://github.com/mkang315/PK-YOLO",
)
_MODULE = "zoo_medical.models.pk_yolo"

# models/detect/pk-yolo.yaml of the authors' code: YOLOv9-E widths for the main backbone and heads,
# RepViT-M1.5 depths at double width for the knowledge branch, two bottlenecks per RepNCSP.
PAPER_CONFIG = {"num_classes": 2, "in_chans": 3, "widths": [64, 128, 256, 512, 1024],
                "repvit_widths": [128, 256, 512, 1024], "repvit_depths": [5, 6, 26, 5], "csp_depth": 2,
                "image_size": 640}
# Same layout, about 1/8 of the widths and 2 blocks per RepViT stage: for tests and the CPU demo.
TINY_CONFIG = {**PAPER_CONFIG, "widths": [16, 16, 32, 64, 64], "repvit_widths": [16, 32, 64, 64],
               "repvit_depths": [2, 2, 2, 2], "csp_depth": 1, "image_size": 128}

# The authors' models/yolo.py instantiated with nc=2 (paper notes §4b): 109,431,596 parameters, of
# which the RepViT branch is 54,032,896 (it includes the last, unused block of the RepViT).
NUM_PARAMS = 109_431_596
REPVIT_NUM_PARAMS = 54_032_896

TINY_NUM_PARAMS = 1_008_604

# The authors' training (train_dual.py defaults + data/hyps/hyp.scratch-high.yaml): SGD lr0 0.01,
# momentum 0.937, weight decay 5e-4, 3 warm-up epochs, 300 epochs, batch 4 at 640 px, linear decay
# to lr0 x lrf (0.01). The loss is the model's own (PKYOLO.loss: TAL + BCE + CIoU/Focaler + DFL), called
# through the training_loss hook; zoo train validates by mAP@0.5. Mosaic 1.0, mixup 0.15, copy-paste 0.3,
# scale 0.9, translate 0.1, fliplr 0.5 and HSV (0.015, 0.7, 0.4) are not applied by the zoo engine.
PAPER_RECIPE = TrainRecipe(
    name="paper", optimiser="sgd", lr=0.01, momentum=0.937, nesterov=True, weight_decay=5e-4, schedule="poly",
    poly_power=1.0, warmup_epochs=3, epochs=300, batch_size=4,
    loss=f"{_MODULE}:training_loss", source=PAPER,
    notes="detection loss = PKYOLO.loss (task-aligned assignment, BCE, CIoU + Focaler-IoU, DFL; aux x 0.25); "
          "the authors decay linearly to lr x 0.01, zoo's poly(1.0) to 0; YOLO augmentations not applied",
)

MODELS = (
    ModelSpec(
        name="pk-yolo", domain="medical", task="detection", paper=PAPER,
        builder=f"{_MODULE}:build_pk_yolo", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=NUM_PARAMS, default_config=PAPER_CONFIG,
        explain_layer="up_p3",  # the main head's stride-8 GELAN, the finest map the detector reads
        input_shape="[B, 3, H, W] float in [0, 1]; H, W multiples of 32 (640 x 640 in the paper)",
        tags=("detection", "yolo", "repvit", "mri", "2d"), recipes=(PAPER_RECIPE,), license="Apache-2.0",
        description="PK-YOLO: RepViT knowledge branch fused (CBNet) into a YOLOv9-E-style detector with a PGI "
                    "auxiliary head; brain-tumour boxes in axial/coronal/sagittal MRI slices.",
    ),
)
