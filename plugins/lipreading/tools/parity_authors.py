"""Check the port and the converters against the authors' own code, on shared weights.

    python plugins/lipreading/tools/parity_authors.py --td3net /tmp/authors/td3net --mpc001 /tmp/authors/mpc001 \
        [--dump-keys plugins/lipreading/tests/data/author_keys.json.gz]

``--td3net`` / ``--mpc001`` are checkouts of github.com/Leebh-kor/TD3Net-… and
github.com/mpc001/Lipreading_using_Temporal_Convolutional_Networks (only their model code is
imported; einops must be importable for TD3Net). For every registered model the authors' network is
built with the matching config, given random weights and random BatchNorm statistics, its state
dict is passed through our converter and loaded strictly into our model, and both run on the same
clip in eval mode: the script prints the largest logit difference (relative to the largest logit
when that exceeds 1) and fails above 1e-5.

``--dump-keys`` writes the authors' state-dict key names and shapes (no values), which the converter
tests use so that they run without the authors' code.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import types

import torch

import zoo
from zoo.building import build_with_weights, merge_config
from zoo.registry import get_registry
from zoo_lipreading.convert import from_mpc001, from_td3net


def _package(root: str) -> None:
    """Make ``lipreading`` the authors' package without running its ``__init__`` (which pulls their
    data loaders and librosa): only the model modules are imported."""
    package = types.ModuleType("lipreading")
    package.__path__ = [f"{root}/lipreading"]
    sys.modules["lipreading"] = package


def _td3net_models(root: str) -> dict:
    # model.py imports timm and fvcore at the top for options we do not use (EfficientNet, FLOPs).
    sys.modules.setdefault("timm", types.ModuleType("timm"))
    fvcore, fvcore_nn = types.ModuleType("fvcore"), types.ModuleType("fvcore.nn")
    fvcore_nn.FlopCountAnalysis = None
    sys.modules.setdefault("fvcore", fvcore)
    sys.modules.setdefault("fvcore.nn", fvcore_nn)
    _package(root)
    import yaml
    from lipreading.model import TD3Net_Lipreading
    from lipreading.modules import TD3Net

    models = {}
    for name, size, boundary in (("td3net-base", "base", False), ("td3net-best", "best", False),
                                 ("td3net-best-wb", "best", True)):
        with open(f"{root}/td3net_configs/td3net_config_{size}.yaml") as handle:
            config = yaml.safe_load(handle)
        options = dict(growth_rate=config["growth_rate"], num_layers=config["num_layers"],
                       num_td2_blocks=config["num_td2_blocks"], out_block=config["out_block"],
                       block_comp=config["block_comp"], trans_comp_factor=config["trans_comp_factor"],
                       kernel_size=config["kernel_size"], is_cbr=config["is_cbr"], dropout_p=config["dropout_p"])
        model = TD3Net_Lipreading(emb_size=512, backbone_type="resnet", relu_type="prelu", **options)
        if boundary:  # the authors' repo has no boundary input path: its back-end simply sees 513 channels
            model.backend_network = TD3Net(in_ch=513, relu_type="prelu", **options)

            def forward(x, boundaries, model=model):
                features = torch.cat([model.emd_network(x), boundaries.unsqueeze(1)], dim=1)
                return model.cls_layer(model.backend_network(features))

            models[name] = (model, forward, from_td3net)
        else:
            models[name] = (model, lambda x, model=model: model(x), from_td3net)
    for module in [m for m in sys.modules if m == "lipreading" or m.startswith("lipreading.")]:
        del sys.modules[module]
    return models


def _mpc001_models(root: str) -> dict:
    _package(root)
    from lipreading.model import Lipreading

    def load(name):
        with open(f"{root}/configs/{name}.json") as handle:
            return json.load(handle)

    ms, dc, dcb = load("lrw_resnet18_mstcn"), load("lrw_resnet18_dctcn"), load("lrw_resnet18_dctcn_boundary")
    tcn = dict(num_layers=ms["tcn_num_layers"], kernel_size=ms["tcn_kernel_size"], dropout=ms["tcn_dropout"],
               dwpw=ms["tcn_dwpw"], width_mult=ms["tcn_width_mult"])

    def dense(cfg):
        return dict(block_config=cfg["densetcn_block_config"], growth_rate_set=cfg["densetcn_growth_rate_set"],
                    reduced_size=cfg["densetcn_reduced_size"], kernel_size_set=cfg["densetcn_kernel_size_set"],
                    dilation_size_set=cfg["densetcn_dilation_size_set"], squeeze_excitation=cfg["densetcn_se"],
                    dropout=cfg["densetcn_dropout"])

    models = {}
    for name, cfg, options in (("ms-tcn", ms, dict(tcn_options=tcn)), ("dc-tcn", dc, dict(densetcn_options=dense(dc))),
                               ("dc-tcn-wb", dcb, dict(densetcn_options=dense(dcb), use_boundary=True))):
        model = Lipreading(backbone_type="resnet", relu_type=cfg["relu_type"], num_classes=500, **options)

        def forward(x, boundaries=None, model=model):
            extra = {} if boundaries is None else {"boundaries": boundaries.unsqueeze(-1)}
            return model(x, lengths=[x.shape[2]] * x.shape[0], **extra)

        models[name] = (model, forward, from_mpc001)
    for module in [m for m in sys.modules if m == "lipreading" or m.startswith("lipreading.")]:
        del sys.modules[module]
    return models


def _calibrate(model: torch.nn.Module, forward, inputs, generator: torch.Generator) -> None:
    """Random PReLU slopes and BN affines, and BN statistics taken from one pass over the clip, so that
    eval-mode activations stay in range through the dense stacks (random statistics blow them up)."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.PReLU):
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) * 0.5)
        for norm in norms:
            norm.weight.copy_(1 + 0.2 * torch.randn(norm.weight.shape, generator=generator))
            norm.bias.copy_(0.1 * torch.randn(norm.bias.shape, generator=generator))
            norm.momentum = 1.0
        model.train()
        forward(*inputs)
    for norm in norms:
        norm.momentum = 0.1
    model.eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--td3net", required=True)
    parser.add_argument("--mpc001", required=True)
    parser.add_argument("--dump-keys")
    parser.add_argument("--frames", type=int, default=29)
    args = parser.parse_args()
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    models = {**_td3net_models(args.td3net), **_mpc001_models(args.mpc001)}
    keys, worst = {}, 0.0
    x = torch.randn(1, 1, args.frames, 88, 88, generator=generator)
    boundaries = torch.zeros(1, args.frames)
    boundaries[:, args.frames // 4: 3 * args.frames // 4] = 1
    for name, (theirs, forward, convert) in models.items():
        spec = get_registry().model(name)
        inputs = (x, boundaries) if spec.default_config.get("use_boundary") else (x,)
        _calibrate(theirs, forward, inputs, generator)
        state = theirs.state_dict()
        keys[name] = [[key, list(value.shape)] for key, value in state.items()]
        ours = build_with_weights(spec, merge_config(spec), convert({"model_state_dict": state}), source=name)
        with torch.no_grad():
            expected, got = forward(*inputs), ours(*inputs)
        difference = (expected - got).abs().max().item() / max(1.0, expected.abs().max().item())
        worst = max(worst, difference)
        print(f"{name:16s} {len(state):5d} author keys -> {len(ours.state_dict()):5d} ours; "
              f"max |logit difference| / max(1, max |logit|) = {difference:.2e} "
              f"(logits up to {expected.abs().max().item():.2f})")
    if args.dump_keys:
        with gzip.open(args.dump_keys, "wt") as handle:
            json.dump(keys, handle, separators=(",", ":"))
        print(f"wrote {args.dump_keys}")
    print(f"zoo {zoo.__version__}: worst difference {worst:.2e}")
    return 0 if worst < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
