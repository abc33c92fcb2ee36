"""zoo-vision: image classification for zoo (ConViT, PVT v1/v2, ECA-Net, Inception-v4, VanillaNet)."""
