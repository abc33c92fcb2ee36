"""Representative nnU-Net plans for xLSTM-UNet (plain data, no torch: the plugin module reads them).

The paper's exact plans are per dataset: these are a 3-D AMOS-like abdomen MR plan (14 classes) and
a 2-D endoscopy-like RGB plan (8 classes). The enc patch sizes of the registered specs are small
(CPU tests; the parallel mLSTM needs S^2 memory): pass the plan's patch_size to train.
"""

PLAN_3D = {"spatial_dims": 3, "in_channels": 1, "out_channels": 14, "features": [32, 64, 128, 256, 320, 320],
           "strides": [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]], "kernel_sizes": 3,
           "n_blocks_per_stage": 2, "n_conv_per_stage_decoder": 2, "deep_supervision": False}
PLAN_2D = {"spatial_dims": 2, "in_channels": 3, "out_channels": 8, "features": [32, 64, 128, 256, 512, 512, 512],
           "strides": [[1, 1], [2, 2], [2, 2], [2, 2], [2, 2], [2, 2], [2, 2]], "kernel_sizes": 3,
           "n_blocks_per_stage": 2, "n_conv_per_stage_decoder": 2, "deep_supervision": False}
