"""Warm-cache `zoo.load(name, pretrained=True)` vs loading the same file by hand.

The by-hand baseline is the least a loader can do: build the bare module on the meta device, read
the safetensors file and `load_state_dict(assign=True)`. zoo adds the registry lookup, the Hub
cache lookup at the pinned revision (no network), the sha256 check (a stat-stamp once verified),
the strict key/shape check and the model bookkeeping. Both run in the same process, interleaved,
after `import torch`. Target: zoo ≤ 1.2x the by-hand time.

The weights are a random init of the model, published to a LocalHub on 127.0.0.1 and fetched
once through the real huggingface_hub client, as a user's first `zoo download` would.

    python benchmarks/bench_core_load.py [--model scse-unet-3d] [--runs 30]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import statistics
import tempfile
import time

import torch
from safetensors.torch import load_file, save

import zoo
from zoo.building import instantiate, merge_config
from zoo.registry import get_registry
from zoo.specs import resolve
from zoo.testing import LocalHub


class BenchPlugin:
    def __init__(self, spec):
        self.spec = spec

    @zoo.hookimpl
    def zoo_models(self):
        return [self.spec]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None, help="a registered model (default: the largest one below 60M)")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    specs = get_registry().models()
    if args.model:
        spec = get_registry().model(args.model)
    else:
        spec = max((s for s in specs if s.num_params < 60e6), key=lambda s: s.num_params)
    config = merge_config(spec)
    data = save(instantiate(spec, config).state_dict())
    with tempfile.TemporaryDirectory() as cache, LocalHub() as hub:
        os.environ.update(HF_ENDPOINT=hub.url, HF_HUB_CACHE=f"{cache}/hub", ZOO_CACHE=f"{cache}/zoo",
                          HF_HUB_DISABLE_PROGRESS_BARS="1")
        revision = hub.commit(f"bench/{spec.name}", {"model.safetensors": data})
        weights = zoo.WeightsSpec(tag="bench", repo_id=f"bench/{spec.name}", revision=revision,
                                  sha256=hashlib.sha256(data).hexdigest())
        name = f"{spec.name}-bench"
        zoo.register_plugin(BenchPlugin(dataclasses.replace(spec, name=name, weights=(weights,))), name="bench")
        path = zoo.download(f"{name}.bench")
        builder = resolve(spec.builder)

        def by_hand():
            with torch.device("meta"):
                model = builder(**config)
            model.load_state_dict(load_file(path), assign=True)
            return model.eval()

        def with_zoo():
            return zoo.load(f"{name}.bench", pretrained=True)

        requests_before = len(hub.requests)
        by_hand(), with_zoo()  # warm imports and caches
        hand, ours = [], []
        for _ in range(args.runs):
            for function, sink in ((by_hand, hand), (with_zoo, ours)):
                started = time.perf_counter()
                function()
                sink.append(time.perf_counter() - started)
        network = len(hub.requests) - requests_before

    size = len(data) / 1e6
    print(f"model {spec.name}: {spec.num_params:,} params, {size:.1f} MB safetensors, {args.runs} runs interleaved")
    print(f"by hand (meta build + load_file + assign): median {statistics.median(hand) * 1e3:7.2f} ms  "
          f"min {min(hand) * 1e3:7.2f} ms")
    print(f"zoo.load(pretrained=True), warm cache:     median {statistics.median(ours) * 1e3:7.2f} ms  "
          f"min {min(ours) * 1e3:7.2f} ms")
    ratio = statistics.median(ours) / statistics.median(hand)
    print(f"ratio zoo / by hand: {ratio:.2f}x (target <= 1.2x: {'met' if ratio <= 1.2 else 'MISSED'}); "
          f"Hub requests during the timed loads: {network}")


if __name__ == "__main__":
    main()
