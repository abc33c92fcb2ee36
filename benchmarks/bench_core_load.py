"""Warm-cache `zoo.load(name, pretrained=True)` vs loading the same file by hand.

The by-hand baseline is the least a loader can do: build the bare module on the meta device,
`safetensors.torch.load_file` and `load_state_dict(assign=True)`. zoo adds the registry lookup, the
Hub cache lookup at the pinned revision (no network), the sha256 check (a stat-stamp once verified),
the strict key/shape check, the model bookkeeping — and it reads the weights into fresh, 64-byte
aligned memory, where the baseline adopts views into a memory map whose pages are read only when
the first forward pass touches them (and at unaligned addresses, which change oneDNN's kernels and
the outputs' last bits). So two comparisons are printed: the load alone, and the load followed by
the first forward pass on the spec's example input, where both sides have read their weights
(ready to compute: the fair one, the target). Both run in the same process, interleaved, after
`import torch`. Target: zoo ≤ 1.2x the by-hand time, load + first forward.

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
from zoo.building import call_model, instantiate, merge_config
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

        def by_hand_aligned():
            # the cheapest by-hand load that computes what the saved model computed: misaligned views cloned
            state = {k: v.clone() if v.data_ptr() % 64 else v for k, v in load_file(path).items()}
            with torch.device("meta"):
                model = builder(**config)
            model.load_state_dict(state, assign=True)
            return model.eval()

        def with_zoo():
            return zoo.load(f"{name}.bench", pretrained=True)

        inputs = resolve(spec.example_input)(config)

        def then_forward(load):
            def run():
                with torch.no_grad():
                    call_model(load(), inputs)
            return run

        requests_before = len(hub.requests)
        then_forward(by_hand)(), then_forward(with_zoo)()  # warm imports and caches
        times = {key: [] for key in ("hand", "aligned", "zoo", "hand+fwd", "zoo+fwd")}
        for _ in range(args.runs):
            for key, function in (("hand", by_hand), ("aligned", by_hand_aligned), ("zoo", with_zoo),
                                  ("hand+fwd", then_forward(by_hand)), ("zoo+fwd", then_forward(with_zoo))):
                started = time.perf_counter()
                function()
                times[key].append(time.perf_counter() - started)
        network = len(hub.requests) - requests_before

    size = len(data) / 1e6
    median = {key: statistics.median(values) * 1e3 for key, values in times.items()}
    print(f"model {spec.name}: {spec.num_params:,} params, {size:.1f} MB safetensors, {args.runs} runs interleaved")
    print(f"load alone:            by hand {median['hand']:7.2f} ms   zoo.load {median['zoo']:7.2f} ms   "
          f"ratio {median['zoo'] / median['hand']:.2f}x")
    print(f"load, bit-exact by hand (misaligned tensors cloned) {median['aligned']:7.2f} ms   "
          f"ratio zoo / that {median['zoo'] / median['aligned']:.2f}x")
    ratio = median["zoo+fwd"] / median["hand+fwd"]
    print(f"load + first forward:  by hand {median['hand+fwd']:7.2f} ms   zoo.load {median['zoo+fwd']:7.2f} ms   "
          f"ratio {ratio:.2f}x (target <= 1.2x: {'met' if ratio <= 1.2 else 'MISSED'})")
    print(f"Hub requests during the timed loads: {network}")


if __name__ == "__main__":
    main()
