"""Training recipes shared by several vision families, torch-free.

ConViT and PVT v1/v2 train with DeiT's ImageNet recipe (Touvron et al., "Training data-efficient image
transformers & distillation through attention", arXiv:2012.12877, ``facebookresearch/deit`` main.py
defaults): AdamW, lr 5e-4 x batch / 512 (1e-3 at the global batch 1024), weight decay 0.05, 300
epochs, cosine to 1e-5 after 5 warm-up epochs, label smoothing 0.1, AMP. Its RandAugment, mixup 0.8,
CutMix 1.0 and random erasing 0.25 are not zoo augmentations: the recipe keeps the random-resized crop
and flip, and the notes say so.
"""

from __future__ import annotations

from zoo import Paper, TrainRecipe

DEIT = Paper(title="Training data-efficient image transformers & distillation through attention",
             arxiv="2012.12877", venue="ICML 2021", code="https://github.com/facebookresearch/deit")

DEIT_RECIPE = TrainRecipe(
    name="imagenet", optimiser="adamw", lr=1e-3, momentum=0.9, beta2=0.999, eps=1e-8, weight_decay=0.05,
    epochs=300, batch_size=1024, schedule="cosine", warmup_epochs=5, min_lr=1e-5, label_smoothing=0.1,
    augmentation="resized-crop-flip", precision="fp16", source=DEIT,
    notes="DeiT's recipe; RandAugment m9, mixup 0.8, CutMix 1.0 and random erasing 0.25 are left out, "
          "and the weight decay also reaches norms and biases (timm exempts them)",
)


def deit_recipe(paper: Paper, notes: str = "") -> TrainRecipe:
    """DeiT's recipe as the family ``paper`` states it uses."""
    return DEIT_RECIPE.replace(source=paper, notes=f"{notes}; {DEIT_RECIPE.notes}" if notes else DEIT_RECIPE.notes)
