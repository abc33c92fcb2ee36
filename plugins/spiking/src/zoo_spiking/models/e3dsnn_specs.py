"""E-3DSNN, what the family is (torch-free): the paper, the sizes and the registered models.

Qiu et al., "Efficient 3D Recognition with Event-driven Spike Sparse Convolution", AAAI 2025,
arXiv:2412.07360. The architecture is :mod:`zoo_spiking.models.e3dsnn`, which reads the same
``VARIANTS``.
"""

from __future__ import annotations

from zoo.specs import ModelSpec, Paper
from zoo.training.recipe import TrainRecipe

PAPER = Paper(
    "Efficient 3D Recognition with Event-driven Spike Sparse Convolution",
    arxiv="2412.07360", venue="AAAI 2025", code="https://github.com/bollossom/E-3DSNN",
)

# Sizes T and S are the authors' ModelNet40 configs, M and L are defined in their energy script;
# "seg" is their SemanticKITTI U-Net (M's encoder and a 256-wide decoder). A variant with
# ``dec_channels`` builds the U-Net.
VARIANTS: dict[str, dict] = {
    "t": dict(embed_channels=16, enc_channels=[16, 32, 64, 128], enc_depth=[1, 1, 1, 1]),
    "s": dict(embed_channels=24, enc_channels=[24, 48, 96, 160], enc_depth=[1, 1, 1, 1]),
    "m": dict(embed_channels=64, enc_channels=[64, 128, 128, 256], enc_depth=[2, 2, 2, 2]),
    "l": dict(embed_channels=64, enc_channels=[96, 192, 288, 384], enc_depth=[2, 2, 2, 2]),
    "seg": dict(embed_channels=64, enc_channels=[64, 128, 128, 256], enc_depth=[2, 2, 2, 2],
                dec_channels=[256, 256, 256, 256]),
}

# The authors' ModelNet40 recipe (bollossom/E-3DSNN classify_seg/configs/modelnet40/cls-E3DSNN-v1m1-0-T.py,
# declared for all four sizes; Pointcept steps MultiStepLR per iteration at fractions of the run): SGD Nesterov, lr 0.1,
# momentum 0.9, wd 1e-3, 300 epochs, MultiStepLR x0.1 at 60 % and 80 % of the run, total batch 16, cross-entropy with
# label smoothing 0.2, fp32. RandomScale/RandomShift are applied by the ModelNet40 reader per item.
MODELNET40_RECIPE = TrainRecipe(
    name="modelnet40", optimiser="sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3, epochs=300,
    batch_size=16, schedule="multistep", milestones=(0.6, 0.8), gamma=0.1, loss="cross-entropy",
    label_smoothing=0.2, precision="fp32", source=PAPER,
    notes="augmentation (scale 0.9-1.1, shift +-0.2) is done by the modelnet40 reader; the authors' test-time "
          "voxel sampling is random, ours keeps the first point of each voxel",
)

_MODULE = "zoo_spiking.models.e3dsnn"
_CLASSIFIER_INPUT = "(input: coords [N, 3] int, feats [N, 6] = xyz + normal, batch [N])."

# (name, variant, parameters computed from the authors' constructors, description)
_CLASSIFIERS = (
    ("edge-3dsnn", "t", 1_874_216, "E-3DSNN-T, the paper's 1.87M ModelNet40 model (91.7% top-1 reported)"),
    ("edge-3dsnn-s", "s", 3_271_144, "E-3DSNN-S (3.27M)"),
    ("edge-3dsnn-m", "m", 17_330_600, "E-3DSNN-M (17.33M)"),
    ("edge-3dsnn-l", "l", 46_574_248, "E-3DSNN-L (46.57M)"),
)


def _spec(name: str, variant: str, num_params: int, description: str, **overrides) -> ModelSpec:
    fields = dict(
        name=name, domain="spiking", task="point-cloud-classification", paper=PAPER,
        builder=f"{_MODULE}:build_e3dsnn", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=num_params,
        default_config=dict(variant=variant, in_channels=6, num_classes=40),
        explain_layer="enc.3", explain_reshape=f"{_MODULE}:sparse_points",
        tags=("snn", "point-cloud", "sparse-conv", "modelnet40"), recipes=(MODELNET40_RECIPE,),
        description=description,
    )
    return ModelSpec(**{**fields, **overrides})


MODELS: tuple[ModelSpec, ...] = (
    *(_spec(name, variant, params, f"{text}: integer-spike sparse 3-D CNN on voxelised points {_CLASSIFIER_INPUT}")
      for name, variant, params, text in _CLASSIFIERS),
    _spec("edge-3dsnn-seg", "seg", 20_049_683,
          "E-3DSNN U-Net (SemanticKITTI config, 19 classes): per-voxel logits [N, 19] "
          "(input: coords [N, 3] int, feats [N, 4] = xyz + strength, batch [N]).",
          task="point-cloud-segmentation", default_config=dict(variant="seg", in_channels=4, num_classes=19),
          explain_layer="dec.0", tags=("snn", "point-cloud", "sparse-conv", "semantic-kitti"), recipes=(),
          no_recipe="point-cloud segmentation is scored by per-point mIoU over voxelised scans, which the "
                    "engine does not compute, and the zoo has no SemanticKITTI reader to train on"),
)
