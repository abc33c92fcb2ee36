"""The B-cosification fine-tuning recipe (torch-free): what :func:`zoo_vision.bcosification.finetune` runs.

Arya, Rao, Böhle & Schiele, "B-cosification: Transforming Deep Neural Networks to be Inherently
Interpretable", NeurIPS 2024, arXiv:2411.00715. Values of the authors' CNN configurations
(``bcos/experiments/ImageNet/bcosification/experiment_parameters.py``): Adam at lr 1e-4, cosine
annealing over 90 epochs with no warm-up, batch 64 per GPU x 4 GPUs, ``B = 2`` fixed, adaptive gradient
clipping, BCE with uniform off-labels (``1/C``), RandomResizedCrop 224 + flip, no mean/std in the data
pipeline (the model normalises the ``[x, 1-x]`` encoding itself).
"""

from __future__ import annotations

from zoo.specs import Paper
from zoo.training.recipe import TrainRecipe

PAPER = Paper("B-cosification: Transforming Deep Neural Networks to be Inherently Interpretable", arxiv="2411.00715",
              venue="NeurIPS 2024", code="https://github.com/shrebox/B-cosification")

# adaptive gradient clipping of the B-cos training code (``use_agc=True``): clip factor and epsilon
AGC_CLIP_FACTOR = 0.01
AGC_EPS = 1e-3

BCOSIFICATION_RECIPE = TrainRecipe(
    name="bcosification",
    optimiser="adam",
    lr=1e-4,
    epochs=90,
    batch_size=256,
    schedule="cosine",
    loss="bce",
    augmentation="resized-crop-flip",
    source=PAPER,
    notes="Fine-tuning of a B-cosified CNN (zoo_vision.bcosify). The loss is BCE with logits against one-hot "
          "targets whose off values are 1/C (zoo_vision.bcosification.uniform_off_labels_bce); gradients are "
          f"clipped adaptively (clip factor {AGC_CLIP_FACTOR}, eps {AGC_EPS}); inputs are [x, 1-x] with x in [0, 1]. "
          "zoo_vision.bcosification.finetune runs it.",
)
