"""The B-cosification fine-tuning recipe (torch-free): what :func:`zoo_vision.bcosification.finetune` runs.

Arya, Rao, Böhle & Schiele, "B-cosification: Transforming Deep Neural Networks to be Inherently
Interpretable", NeurIPS 2024, arXiv:2411.00715. Values of the authors' CNN configurations
(``bcos/experiments/ImageNet/bcosification/experiment_parameters.py``): Adam at lr 1e-4, cosine
annealing over 90 epochs with no warm-up, batch 64 per GPU x 4 GPUs, ``B = 2`` fixed, adaptive gradient
clipping, BCE with uniform off-labels (``1/C``), RandomResizedCrop 224 + flip, no mean/std in the data
pipeline (the model normalises the ``[x, 1-x]`` encoding itself). ViTs
(``bcos/experiments/ImageNet/vit_bcosification/experiment_parameters.py``, the final
``bcosifyv2_{model}_0.001_lrWarmup_gapReorder`` runs): Adam at lr 1e-3, cosine over 90 epochs after a linear
warm-up of 10k steps (50k for the base and large sizes), batch 128 per GPU x 8 (64 x 8 for the big ones),
RandAugment magnitude 10, mixup alpha 0.2, the same loss and clipping.
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

IMAGENET_TRAIN_IMAGES = 1_281_167
# the authors' ViT warm-up is counted in steps: 10k (small sizes) and 50k (base, large) at the global batch,
# 128 (64) per GPU x 8 GPUs (their config's comment says "2048 effective", which 128 x 8 is not; we keep the product)
VIT_WARMUP_STEPS = {"small": 10_000, "big": 50_000}
VIT_BATCH = {"small": 128 * 8, "big": 64 * 8}


def _vit_recipe(size: str) -> TrainRecipe:
    steps_per_epoch = IMAGENET_TRAIN_IMAGES / VIT_BATCH[size]
    return TrainRecipe(
        name=f"bcosification-vit-{size}",
        optimiser="adam",
        lr=1e-3,
        epochs=90,
        batch_size=VIT_BATCH[size],
        schedule="cosine",
        warmup_epochs=round(VIT_WARMUP_STEPS[size] / steps_per_epoch, 2),
        loss="bce",
        augmentation="resized-crop-flip",
        source=PAPER,
        notes=f"Fine-tuning of a B-cosified ViT (zoo_vision.bcosify of a DeiT): {VIT_WARMUP_STEPS[size]} warm-up "
              "steps at the global batch (the authors' warm-up starts at 0.01 of the lr; zoo's linear warm-up at "
              "1/steps); the authors add RandAugment (magnitude 10) and mixup (alpha 0.2) to the crop and flip, "
              "which the caller's data pipeline supplies. Loss and clipping as the CNN recipe.",
    )


# ti/s sizes; base and large ("big" in the authors' configs) have the longer warm-up and the half batch
BCOSIFICATION_VIT_RECIPE = _vit_recipe("small")
BCOSIFICATION_VIT_BIG_RECIPE = _vit_recipe("big")
