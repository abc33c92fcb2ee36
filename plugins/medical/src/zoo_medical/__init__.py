"""zoo-medical: medical imaging models and dataset readers for zoo, built on MONAI.

Importing this package imports nothing heavy; the models live in ``zoo_medical.models``, the
reusable blocks in ``zoo_medical.blocks`` and the dataset readers in ``zoo_medical.data``.
"""

__version__ = "0.1.0"
