"""SN-Net on DeiT-Ti/S/B anchors: what the family is (torch-free; the architecture module reads it)."""

from __future__ import annotations

from zoo import FeatureLevel, ModelSpec, Paper, TrainRecipe
from zoo_vision.models import deit_specs

PAPER = Paper(
    title="Stitchable Neural Networks", arxiv="2302.06586", venue="CVPR 2023",
    code="https://github.com/ziplab/SN-Net",
)

# The authors' DeiT setting (stitching_deit/config/deit_stitching.json): anchors DeiT-Ti/S/B (ordered by
# size), stitching windows of 2 blocks sliding by 1, "nearest" stitching (Ti-S and S-B only, never Ti-B,
# never all three), giving 3 anchors + 2 x 34 stitches = 71 configurations.
ANCHORS = ("tiny", "small", "base")
KERNEL_SIZE = 2
STRIDE = 1
NEAREST = True
IMAGE_SIZE = 224
# The authors' stitched forward ends with timm's ``forward_head``, which skips the end anchor's final
# LayerNorm (anchors alone keep it); their released weights were trained and their FLOPs table measured so.
TAIL_NORM = False
LS_INIT_SAMPLES = 100  # images whose features initialise the stitching layers by least squares

# The three DeiTs (114,335,736) and 11 stitching layers per anchor pair: 11 x Linear(192 -> 384) and
# 11 x Linear(384 -> 768).
NUM_PARAMS = 118_403_448

# The authors' ImageNet-1k results per configuration id (stitching_deit/results/stitches_res.txt): fvcore
# FLOPs at 224 x 224 (one multiply-add counted once, LayerNorm 5 per element), the parameter count of
# their get_model_size (which leaves out the front anchor's class token and position embedding and counts
# the end anchor's unused final norm in stitched configurations), top-1 accuracy in %.
RESULTS = (
    (1_258_411_200, 5_717_416, 70.56),  # 0
    (4_608_338_304, 22_050_664, 79.46),  # 1
    (17_582_740_224, 86_567_656, 81.93),  # 2
    (4_696_010_496, 22_345_960, 79.02),  # 3
    (4_316_862_720, 20_571_496, 79.05),  # 4
    (4_798_437_888, 22_790_824, 79.11),  # 5
    (4_419_290_112, 21_016_360, 79.14),  # 6
    (4_040_142_336, 19_241_896, 78.37),  # 7
    (4_521_717_504, 21_461_224, 78.88),  # 8
    (4_142_569_728, 19_686_760, 78.84),  # 9
    (3_763_421_952, 17_912_296, 78.2),  # 10
    (4_244_997_120, 20_131_624, 78.61),  # 11
    (3_865_849_344, 18_357_160, 78.43),  # 12
    (3_486_701_568, 16_582_696, 77.88),  # 13
    (3_968_276_736, 18_802_024, 78.46),  # 14
    (3_589_128_960, 17_027_560, 78.23),  # 15
    (3_209_981_184, 15_253_096, 77.49),  # 16
    (3_691_556_352, 17_472_424, 78.06),  # 17
    (3_312_408_576, 15_697_960, 77.65),  # 18
    (2_933_260_800, 13_923_496, 76.48),  # 19
    (3_414_835_968, 16_142_824, 77.26),  # 20
    (3_035_688_192, 14_368_360, 76.8),  # 21
    (2_656_540_416, 12_593_896, 74.84),  # 22
    (3_138_115_584, 14_813_224, 76.49),  # 23
    (2_758_967_808, 13_038_760, 75.63),  # 24
    (2_379_820_032, 11_264_296, 73.42),  # 25
    (2_861_395_200, 13_483_624, 75.17),  # 26
    (2_482_247_424, 11_709_160, 74.07),  # 27
    (2_103_099_648, 9_934_696, 72.6),  # 28
    (2_584_674_816, 12_154_024, 73.76),  # 29
    (2_205_527_040, 10_379_560, 73.04),  # 30
    (1_826_379_264, 8_605_096, 71.78),  # 31
    (2_307_954_432, 10_824_424, 72.95),  # 32
    (1_928_806_656, 9_049_960, 72.19),  # 33
    (1_549_658_880, 7_275_496, 71.09),  # 34
    (2_031_234_048, 9_494_824, 72.14),  # 35
    (1_652_086_272, 7_720_360, 71.36),  # 36
    (17_961_426_432, 88_190_440, 81.92),  # 37
    (16_505_958_912, 81_102_568, 81.9),  # 38
    (18_340_574_208, 89_964_904, 82.04),  # 39
    (16_885_106_688, 82_877_032, 82.0),  # 40
    (15_429_639_168, 75_789_160, 81.98),  # 41
    (17_264_254_464, 84_651_496, 81.98),  # 42
    (15_808_786_944, 77_563_624, 82.03),  # 43
    (14_353_319_424, 70_475_752, 81.96),  # 44
    (16_187_934_720, 79_338_088, 81.98),  # 45
    (14_732_467_200, 72_250_216, 82.03),  # 46
    (13_276_999_680, 65_162_344, 81.86),  # 47
    (15_111_614_976, 74_024_680, 81.97),  # 48
    (13_656_147_456, 66_936_808, 81.91),  # 49
    (12_200_679_936, 59_848_936, 81.62),  # 50
    (14_035_295_232, 68_711_272, 81.79),  # 51
    (12_579_827_712, 61_623_400, 81.65),  # 52
    (11_124_360_192, 54_535_528, 81.5),  # 53
    (12_958_975_488, 63_397_864, 81.67),  # 54
    (11_503_507_968, 56_309_992, 81.49),  # 55
    (10_048_040_448, 49_222_120, 81.25),  # 56
    (11_882_655_744, 58_084_456, 81.35),  # 57
    (10_427_188_224, 50_996_584, 81.18),  # 58
    (8_971_720_704, 43_908_712, 80.67),  # 59
    (10_806_336_000, 52_771_048, 81.12),  # 60
    (9_350_868_480, 45_683_176, 80.81),  # 61
    (7_895_400_960, 38_595_304, 79.96),  # 62
    (9_730_016_256, 47_457_640, 80.53),  # 63
    (8_274_548_736, 40_369_768, 79.97),  # 64
    (6_819_081_216, 33_281_896, 79.06),  # 65
    (8_653_696_512, 42_144_232, 79.99),  # 66
    (7_198_228_992, 35_056_360, 79.3),  # 67
    (5_742_761_472, 27_968_488, 78.96),  # 68
    (7_577_376_768, 36_830_824, 79.22),  # 69
    (6_121_909_248, 29_742_952, 79.1),  # 70
)

# The authors' recipe (config/deit_stitching.json over main.py's DeiT defaults, 8 GPUs x 128): AdamW,
# lr 5e-5 · batch / 512 (batch 1024 -> 1e-4), weight decay 0.05, 50 epochs, cosine to 1e-6 after 5 warm-up
# epochs, label smoothing 0.1, stochastic depth 0.1, all weights fine-tuned; each training step runs one
# configuration drawn uniformly (the model does it in train mode).
PAPER_RECIPE = TrainRecipe(
    name="paper", optimiser="adamw", lr=1e-4, momentum=0.9, beta2=0.999, weight_decay=0.05, epochs=50,
    batch_size=1024, schedule="cosine", warmup_epochs=5, min_lr=1e-6, loss="cross-entropy", label_smoothing=0.1,
    augmentation="resized-crop-flip", source=PAPER,
    notes="start from ImageNet DeiT anchors and init_stitches() on 100 training images; not applied: hard "
          "distillation from RegNetY-160 (alpha 0.5), RandAugment (m9, mstd 0.5), Mixup 0.8 / CutMix 1.0, "
          "random erasing 0.25; the warm-up starts at 1e-7 in the authors' code",
)

_MODULE = "zoo_vision.models.snnet"

MODELS = (
    ModelSpec(
        name="snnet-deit", domain="vision", task="classification", paper=PAPER,
        builder=f"{_MODULE}:build_snnet", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=NUM_PARAMS,
        default_config={"anchors": list(ANCHORS), "num_classes": 1000, "in_chans": 3, "img_size": IMAGE_SIZE,
                        "drop_path": 0.1, "kernel_size": KERNEL_SIZE, "stride": STRIDE, "nearest": NEAREST,
                        "tail_norm": TAIL_NORM, "config_id": 0},
        # An identity the tokens entering the final block pass through, whichever anchor that block
        # belongs to in the selected configuration (as deit-*'s blocks.11.norm1 input).
        # the default configuration (id 0) is the DeiT-Ti anchor alone: its blocks a quarter of the depth apart;
        # features_only keeps the modules that configuration runs, so select the configuration before extracting
        features=tuple(FeatureLevel(f"anchors.0.blocks.{deit_specs.DEPTH * k // 4 - 1}",
                                    deit_specs.VARIANTS[ANCHORS[0]]["dim"], deit_specs.PATCH, prefix_tokens=1)
                       for k in range(1, 5)),
        explain_layer="last_block_input",
        explain_reshape="zoo.explainers.reshapes:vit_tokens",
        input_shape="[B, 3, H, W] with H and W multiples of 16 (224 x 224 as trained)",
        tags=("transformer", "vit", "stitching", "dynamic", "imagenet", "2d"),
        license="apache-2.0",
        recipes=(PAPER_RECIPE,),
        description="Stitchable network of DeiT-Ti/S/B: 71 configurations from 1.26 to 18.34 GFLOPs "
                    "(ImageNet top-1 70.6 to 82.0, authors' table), chosen at run time with select().",
    ),
)
