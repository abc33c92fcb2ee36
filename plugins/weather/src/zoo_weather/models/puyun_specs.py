"""What PuYun *is*, torch-free: the paper, the assumed hyper-parameters, the model specs.

PuYun: "Medium-Range Global Weather Forecasting Using Large Kernel Attention Convolutional
Networks", arXiv:2409.02123. Exact interface, approximate architecture: the I/O contract (two
69-channel states in physical units and a 12-value time embedding in, the state 6 h later out) is
the one of the authors' ai-models plugin; the internals are not published (no code, ONNX weights on
request), so the network below is a VAN-style LKA fully convolutional network on a patch-embedded
latent whose hyper-parameters are *assumed* (FuXi analogues) and listed in :data:`ASSUMED`.
"""

from __future__ import annotations

from zoo import ModelSpec, Paper, TrainRecipe

PAPER = Paper(
    title="PuYun: Medium-Range Global Weather Forecasting Using Large Kernel Attention Convolutional Networks",
    arxiv="2409.02123", code="https://github.com/Yu-Kai-dev/ai-models-puyun",
)

# Every hyper-parameter the paper does not give, with the value we take and why.
ASSUMED = {
    "patch_size": (4, "FuXi's 4×4 spatial cube embedding; the paper says only 'patch embedding'"),
    "embed_dim": (512, "latent width; FuXi uses 1536 with transformers, a CNN is cheaper per channel"),
    "depth": (24, "number of VAN/LKA blocks on the half-resolution latent (FuXi: 48 Swin blocks)"),
    "mlp_ratio": (4, "VAN's ratio for the 1×1 → DW3×3 → 1×1 feed-forward"),
    "layer_scale": (1e-2, "VAN's layer-scale initial value"),
    "u_shape": (True, "FuXi's U-Transformer: stride-2 down, blocks, transposed-conv up with a skip"),
    "residual": (True, "the network predicts the 6-h change of the normalised state"),
    "row_padding": ("replicate", "721 rows are padded to a multiple of 2·patch at the poles and cropped back"),
    "normalization": ("per channel", "mean/std buffers inside the model (the ONNX files take physical units)"),
}
ARCHITECTURE = {key: value for key, (value, _) in ASSUMED.items()
                if key in ("patch_size", "embed_dim", "depth", "mlp_ratio", "layer_scale")}

# The cascade: same network, fine-tuned per lead-time window (days), switched at steps 20 and 40.
VARIANTS = {
    "short": {"stage": "short", "lead_days": (0, 5), **ARCHITECTURE},
    "medium": {"stage": "medium", "lead_days": (5, 10), **ARCHITECTURE},
    "long": {"stage": "long", "lead_days": (10, 15), **ARCHITECTURE},
}
# The registered default grid is the smallest (the conformance kit runs it on CPU); the paper's
# grid is grid="0.25". The network is fully convolutional: the parameter count does not depend on it.
DEFAULT_GRID = "5.625"
NUM_PARAMS = 76_703_824  # every stage, every grid; checked on the meta device by the tests

_MODULE = "zoo_weather.models.puyun"

FUXI = Paper(title="FuXi: A cascade machine learning forecasting system for 15-day global weather forecast",
             arxiv="2306.12873", venue="npj Climate and Atmospheric Science 2023",
             code="https://github.com/tpys/FuXi")
# PuYun publishes no training values; like the architecture, the recipe is FuXi's (arXiv:2306.12873 §"Training"),
# the model PuYun compares itself with: AdamW (beta2 0.95), lr 2.5e-4, weight decay 0.1, batch 8, 40,000 one-step
# iterations (as 40 "epochs" of 1,000 steps), the latitude-weighted L1 (zoo_weather.training), validation on the
# last tenth of the archive, the state with the lowest validation loss kept.
FUXI_RECIPE = TrainRecipe(
    name="fuxi-pretrain", optimiser="adamw", lr=2.5e-4, momentum=0.9, beta2=0.95, weight_decay=0.1, epochs=40,
    steps_per_epoch=1000, batch_size=8, schedule="cosine", loss="zoo_weather.training:latitude_weighted_l1",
    prepare="zoo_weather.training:hold_out_last", options={"validation_fraction": 0.1}, select="val-loss",
    source=FUXI,
    notes="PuYun's own values are not published; FuXi's cascade then fine-tunes each stage autoregressively "
          "(zoo_weather.training.fine_tune, rollout > 1), which is not this one-step recipe",
)


def _spec(stage: str) -> ModelSpec:
    variant = VARIANTS[stage]
    config = {key: value for key, value in variant.items() if key != "lead_days"}
    first, last = variant["lead_days"]
    return ModelSpec(
        name=f"puyun-{stage}", domain="weather", task="forecasting", paper=PAPER,
        builder=f"{_MODULE}:build_puyun", example_input=f"{_MODULE}:example_input",
        bad_input=f"{_MODULE}:bad_input", num_params=NUM_PARAMS,
        default_config={**config, "grid": DEFAULT_GRID},
        explain_layer=f"blocks.{ARCHITECTURE['depth'] - 1}",
        tags=("lka", "van", "cascade", "medium-range", "approximate-architecture"),
        license="apache-2.0", recipes=(FUXI_RECIPE,),
        description=f"PuYun-{stage.title()} (days {first}-{last} of the cascade): exact interface "
                    "(2×69 channels + 12-value time embedding → state at t+6h), approximate architecture "
                    "(VAN-style LKA blocks on a 4×4 patch-embedded latent; assumed hyper-parameters listed).",
    )


MODELS = tuple(_spec(stage) for stage in VARIANTS)
