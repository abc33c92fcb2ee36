"""zoo-spiking: spiking neural networks for the zoo.

Models (registered by :mod:`zoo_spiking.plugin`, built lazily):

* E-3DSNN (``edge-3dsnn``, ``-s``, ``-m``, ``-l``, ``edge-3dsnn-seg``): Qiu et al., "Efficient 3D
  Recognition with Event-driven Spike Sparse Convolution", AAAI 2025, arXiv:2412.07360.
* Meta-SpikeFormer (``meta-spikeformer-15m``, ``-31m``, ``-55m``): Yao et al., "Spike-driven
  Transformer V2: Meta Spiking Neural Network Architecture Inspiring the Design of Next-generation
  Neuromorphic Chips", ICLR 2024, arXiv:2404.03663.

Importing this package imports no torch; the submodules ``blocks``, ``models`` and ``data`` do.
"""

__version__ = "0.1.0"
