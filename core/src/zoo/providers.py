"""Which distribution provides a model name that is not installed, for the first-party plugins.

Only used to improve an unknown-name error ("provided by zoo-medical, which is not installed");
zoo never installs anything by itself. ``tests/test_providers.py`` checks this table against the
registry of the repo's plugins.
"""

from __future__ import annotations

import fnmatch

PROVIDERS: dict[str, tuple[str, ...]] = {
    "zoo-medical": ("scse-unet-*", "xlstm-unet-*", "medvit-v2-*", "pk-yolo", "deeporgan-*"),
    "zoo-graph": ("ultragcn*", "lightgcn*", "catgcn*", "evolvegcn-*", "elliptic-*", "gcn", "la-gcn*", "la-gat*",
                  "lagnn-*", "mt-text-gcn*"),
    "zoo-spiking": ("edge-3dsnn*", "meta-spikeformer-*"),
    "zoo-vision": ("convit-*", "pvt-v1-*", "pvt-v2-*", "eca-resnet-*", "inception-v4*", "vanillanet-*", "bcos-*",
                   "deit-*", "snnet-*", "biper-resnet-*", "lowformer-*"),
    "zoo-lipreading": ("td3net-*", "ms-tcn*", "dc-tcn*"),
    "zoo-weather": ("puyun-*",),
    "zoo-detection": ("retinanet-*", "fcos-*"),
}


def provider_of(name: str) -> str | None:
    for distribution, patterns in PROVIDERS.items():
        if any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
            return distribution
    return None
