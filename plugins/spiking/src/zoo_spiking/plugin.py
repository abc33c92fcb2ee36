"""zoo-spiking's hook implementations: metadata only (no torch, no model code is imported here)."""

from __future__ import annotations

import zoo
from zoo.specs import DatasetSpec, ModelSpec, Paper

E3DSNN_PAPER = Paper(
    "Efficient 3D Recognition with Event-driven Spike Sparse Convolution",
    arxiv="2412.07360", venue="AAAI 2025", code="https://github.com/bollossom/E-3DSNN",
)
SPIKEFORMER_PAPER = Paper(
    "Spike-driven Transformer V2: Meta Spiking Neural Network Architecture Inspiring the Design of "
    "Next-generation Neuromorphic Chips",
    arxiv="2404.03663", venue="ICLR 2024", code="https://github.com/BICLab/Spike-Driven-Transformer-V2",
)

_E3 = "zoo_spiking.models.e3dsnn"
_SF = "zoo_spiking.models.spikeformer"

# (name, config, parameters, description). Sizes T and S are the authors' ModelNet40 configs;
# M and L are defined in their energy script. Counts were computed from their constructors.
_E3DSNN_SIZES = (
    ("edge-3dsnn", dict(embed_channels=16, enc_channels=[16, 32, 64, 128], enc_depth=[1, 1, 1, 1]), 1_874_216,
     "E-3DSNN-T, the paper's 1.87M ModelNet40 model (91.7% top-1 reported)"),
    ("edge-3dsnn-s", dict(embed_channels=24, enc_channels=[24, 48, 96, 160], enc_depth=[1, 1, 1, 1]), 3_271_144,
     "E-3DSNN-S (3.27M)"),
    ("edge-3dsnn-m", dict(embed_channels=64, enc_channels=[64, 128, 128, 256], enc_depth=[2, 2, 2, 2]), 17_330_600,
     "E-3DSNN-M (17.33M)"),
    ("edge-3dsnn-l", dict(embed_channels=64, enc_channels=[96, 192, 288, 384], enc_depth=[2, 2, 2, 2]), 46_574_248,
     "E-3DSNN-L (46.57M)"),
)

_SPIKEFORMER_SIZES = (
    ("meta-spikeformer-15m", [64, 128, 256, 360], 15_112_208),
    ("meta-spikeformer-31m", [96, 192, 384, 480], 31_333_864),
    ("meta-spikeformer-55m", [128, 256, 512, 640], 55_350_248),
)


@zoo.hookimpl
def zoo_models() -> list[ModelSpec]:
    specs = [
        ModelSpec(
            name=name, domain="spiking", task="point-cloud-classification", paper=E3DSNN_PAPER,
            builder=f"{_E3}:E3DSNN", example_input=f"{_E3}:example_input", bad_input=f"{_E3}:bad_input",
            num_params=params, default_config=dict(in_channels=6, num_classes=40, **config),
            explain_layer="enc.3", explain_reshape=f"{_E3}:sparse_points",
            tags=("snn", "point-cloud", "sparse-conv", "modelnet40"),
            description=f"{description}: integer-spike sparse 3-D CNN on voxelised points "
                        "(input: coords [N, 3] int, feats [N, 6] = xyz + normal, batch [N]).",
        )
        for name, config, params, description in _E3DSNN_SIZES
    ]
    specs.append(ModelSpec(
        name="edge-3dsnn-seg", domain="spiking", task="point-cloud-segmentation", paper=E3DSNN_PAPER,
        builder=f"{_E3}:E3DSNNSeg", example_input=f"{_E3}:example_input", bad_input=f"{_E3}:bad_input",
        num_params=20_049_683,
        default_config=dict(in_channels=4, num_classes=19, embed_channels=64, enc_channels=[64, 128, 128, 256],
                            enc_depth=[2, 2, 2, 2], dec_channels=[256, 256, 256, 256]),
        explain_layer="dec.0", explain_reshape=f"{_E3}:sparse_points",
        tags=("snn", "point-cloud", "sparse-conv", "semantic-kitti"),
        description="E-3DSNN U-Net (SemanticKITTI config, 19 classes): per-voxel logits [N, 19] "
                    "(input: coords [N, 3] int, feats [N, 4] = xyz + strength, batch [N]).",
    ))
    specs += [
        ModelSpec(
            name=name, domain="spiking", task="image-classification", paper=SPIKEFORMER_PAPER,
            builder=f"{_SF}:MetaSpikeFormer", example_input=f"{_SF}:example_input", bad_input=f"{_SF}:bad_input",
            num_params=params,
            default_config=dict(embed_dim=embed, num_heads=8, in_channels=3, num_classes=1000, T=1),
            explain_layer="block4.1", explain_reshape="zoo.explainers.reshapes:time_major",
            tags=("snn", "transformer", "imagenet"),
            description=f"Meta-SpikeFormer ({params / 1e6:.2f}M, 6+2 spike-driven transformer blocks): "
                        "[B, 3, H, W] images (or [B, T, C, H, W] frames) -> [B, 1000]; T time steps in the config.",
        )
        for name, embed, params in _SPIKEFORMER_SIZES
    ]
    return specs


MODELNET40_LAYOUT = (
    "modelnet40_shape_names.txt, modelnet40_{train,test}.txt, <class>/<class>_NNNN.txt "
    "(modelnet40_normal_resampled: 10,000 'x,y,z,nx,ny,nz' lines per shape) "
    "or <class>/{train,test}/<class>_NNNN.off (ModelNet40 meshes)"
)


@zoo.hookimpl
def zoo_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="modelnet40", domain="spiking", task="point-cloud-classification",
            builder="zoo_spiking.data.modelnet40:ModelNet40", layout=MODELNET40_LAYOUT,
            homepage="https://modelnet.cs.princeton.edu/ (meshes); modelnet40_normal_resampled.zip "
                     "from the PointNet++ authors (resampled points with normals)",
            splits=("train", "test"),
            paper=Paper("3D ShapeNets: A Deep Representation for Volumetric Shapes", arxiv="1406.5670",
                        venue="CVPR 2015"),
            description="40 CAD classes (9,843 train / 2,468 test). E-3DSNN preprocessing: 8,192 points by "
                        "farthest-point sampling, unit sphere, voxel 0.01, features xyz + normal.",
        ),
    ]
