"""Check the BiPer and LowFormer ports against the authors' own code, on shared weights.

    python plugins/vision/tools/parity_biper_lowformer.py --biper /tmp/authors/BiPer \
        --lowformer /tmp/authors/LowFormer [--dump-keys plugins/vision/tests/data/biper_lowformer_keys.json.gz]

``--biper`` is a checkout of github.com/edmav4/BiPer (its ``imagenet/`` and ``cifar10/`` model code is
imported, with a stand-in for the argparse options module it reads at import: ``freq`` 20, stage 2);
``--lowformer`` a checkout of github.com/altair199797/LowFormer (its standalone ``lowformer_model.py``;
pyyaml must be importable). For every registered BiPer and LowFormer model (LowFormer fused and
unfused) the authors' network gets random weights (BN statistics included), its state dict is loaded
strictly into ours (BiPer: less the unused ``tau`` and ``beta`` tensors) and both run the same input:
the largest logit difference is printed, in eval mode and, for BiPer, in train mode with the input
and weight gradients compared in float64. It fails above 1e-5 (logits, relative to the largest) or
1e-6 (float64 gradients, relative to each tensor's largest; training-mode BN over a batch of 2 cancels
most of some gradients, which leaves 1e-8-size rounding).

Their standalone LowFormer file's unfused MBConv branch names an undefined ``grouping``; the check
runs it with the value its callers use (1).

``--dump-keys`` writes the authors' state-dict key names and shapes (no values), which
``tests/test_biper.py`` and ``tests/test_lowformer.py`` use so that they run without the authors' code.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
import types
from pathlib import Path

import torch

from zoo_vision.models.biper_resnet import build_biper_resnet
from zoo_vision.models.lowformer import build_lowformer
from zoo_vision.models.lowformer_specs import VARIANTS as LOWFORMER

BIPER = {  # ours -> (their folder, module file, constructor, input size)
    "18": ("imagenet", "models_imagenet/resnet.py", "resnet18_1w1a", 224),
    "34": ("imagenet", "models_imagenet/resnet.py", "resnet34_1w1a", 224),
    "20-cifar10": ("cifar10", "models_cifar/resnet.py", "resnet20_1w1a", 32),
    "18-cifar10": ("cifar10", "models_cifar/resnet2.py", "resnet18_1w1a", 32),
}
# the released configs' switches (configs/cls/imagenet/b*.yaml) that change the network
LOWFORMER_FLAGS = {"b0": {"bigit": False}, "b1": {"bigit": True}, "b15": {"bigit": True, "bighead": True},
                   "b3": {"bigit": True, "huge_model": True}}


def _randomise(state: dict, seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for key, tensor in state.items():
        if tensor.is_floating_point():
            tensor = tensor + 0.05 * torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype)
            if key.endswith("running_var"):
                tensor = tensor.abs() + 0.5
        out[key] = tensor
    return out


def _import_biper(root: Path, folder: str, path: str):
    options = types.ModuleType("utils.options")
    options.args = types.SimpleNamespace(freq=20.0, stage2=True)
    utils = types.ModuleType("utils")
    utils.options = options
    for name in [n for n in sys.modules if n.split(".")[0] in ("modules", "utils")]:
        del sys.modules[name]
    sys.modules.update({"utils": utils, "utils.options": options})
    sys.path.insert(0, str(root / folder))
    try:
        spec = importlib.util.spec_from_file_location(f"authors_biper_{folder}_{Path(path).stem}", root / folder / path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return module


def check_biper(root: Path, keys: dict) -> float:
    worst = 0.0
    for variant, (folder, path, constructor, size) in BIPER.items():
        torch.manual_seed(0)
        theirs = getattr(_import_biper(root, folder, path), constructor)().double()
        ours = build_biper_resnet(variant).double()
        state = _randomise({k: v for k, v in theirs.state_dict().items() if not k.endswith((".tau", ".beta"))}, 1)
        keys[f"biper-resnet-{variant}"] = {k: list(v.shape) for k, v in theirs.state_dict().items()}
        theirs.load_state_dict(state, strict=False)
        ours.load_state_dict(state, strict=True)
        x = torch.randn(2, 3, size, size, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
        for train in (False, True):
            theirs.train(train)
            ours.train(train)
            xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
            a, b = theirs(xa), ours(xb)
            a.square().sum().backward()
            b.square().sum().backward()
            logits = ((a - b).abs().max() / a.abs().max().clamp(min=1)).item()
            grads = [(xa.grad, xb.grad)] + [(p.grad, dict(ours.named_parameters())[n].grad)
                                             for n, p in theirs.named_parameters() if p.grad is not None]
            # a tensor whose gradient is zero analytically (the last BN's shift before the batch-normed
            # classifier input) is compared against a floor of 1e-6 of the largest gradient, not its own noise
            floor = 1e-6 * max(g.abs().max().item() for g, _ in grads)
            gradient = max(((g - h).abs().max() / g.abs().max().clamp(min=floor)).item() for g, h in grads)
            theirs.zero_grad()
            ours.zero_grad()
            print(f"biper-resnet-{variant:<11} {'train' if train else 'eval ':<5} logits {logits:.1e}  "
                  f"gradients {gradient:.1e}")
            worst = max(worst, logits / 1e-5, gradient / 1e-6)
    return worst


def check_lowformer(root: Path, keys: dict) -> float:
    source = (root / "lowformer_model.py").read_text()
    pad = "\n" + " " * 16
    source = source.replace(f"grouping=grouping,{pad}use_bias=False,", f"grouping=1,{pad}use_bias=False,")
    namespace = {"__name__": "authors_lowformer"}
    exec(compile(source, str(root / "lowformer_model.py"), "exec"), namespace)
    worst = 0.0
    for variant in LOWFORMER:
        for fused in (True, False):
            torch.manual_seed(0)
            theirs = namespace["lowformer_cls_b1"](name=variant, fastit=fused, bb_convattention=True,
                                                   bb_convin2=True, **LOWFORMER_FLAGS[variant]).eval()
            ours = build_lowformer(variant, fused=fused).eval()
            keys[f"lowformer-{variant}{'' if fused else '-unfused'}"] = {
                k: list(v.shape) for k, v in theirs.state_dict().items()}
            state = _randomise(theirs.state_dict(), 1)
            theirs.load_state_dict(state)
            ours.load_state_dict(state, strict=True)
            x = torch.randn(2, 3, 96, 80, generator=torch.Generator().manual_seed(2))
            with torch.no_grad():
                a, b = theirs(x), ours(x)
            logits = ((a - b).abs().max() / a.abs().max().clamp(min=1)).item()
            print(f"lowformer-{variant:<4} {'fused  ' if fused else 'unfused'} logits {logits:.1e}")
            worst = max(worst, logits / 1e-5)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--biper", type=Path, required=True)
    parser.add_argument("--lowformer", type=Path, required=True)
    parser.add_argument("--dump-keys", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    keys: dict = {}
    worst = max(check_biper(args.biper, keys), check_lowformer(args.lowformer, keys))
    if args.dump_keys:
        args.dump_keys.write_bytes(gzip.compress(json.dumps(keys, sort_keys=True).encode(), mtime=0))
    if worst > 1:
        sys.exit("FAILED: a difference above its tolerance")
    print("all within tolerance")


if __name__ == "__main__":
    main()
