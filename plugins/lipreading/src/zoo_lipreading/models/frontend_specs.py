"""The two visual front-ends, torch-free: TD3Net's (3x7x7 stem, PReLU) and mpc001's (5x7x7 stem,
Swish in their released LRW configs). Both feed a ResNet-18 trunk; each outputs 512 features a frame."""

FRONTENDS = {
    "td3net": dict(temporal_kernel=3, act="prelu"),
    "mpc001": dict(temporal_kernel=5, act="swish"),
}
FEATURES = 512
