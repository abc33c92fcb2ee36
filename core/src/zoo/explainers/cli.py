"""``zoo explain NAME INPUT --method grad-cam --out cam.png``.

INPUT is read only from formats that cannot run code: an image (``.png``, ``.jpg``/``.jpeg``,
read with matplotlib; scaled to [0, 1] and normalised with the weights' ``mean``/``std``
preprocessing when declared), a ``.npy`` array (``allow_pickle=False``) or a ``.safetensors``
file: the tensor named ``input`` or its only tensor, else all its tensors as keyword arguments of
the model (``x`` and ``edge_index`` for a graph network). Arrays are used as they are, batch axis
included. ``--out`` ending in ``.png`` draws the maps over the input; ending in ``.safetensors``
or ``.npy`` stores the maps themselves (per node or per point, for maps that are not pictures).
Images in and pictures out need matplotlib: ``pip install 'zoo-core[explain]'``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from zoo.errors import ExplainError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def add_explain_command(subparsers) -> None:
    parser = subparsers.add_parser("explain", help="explain a model's prediction on an input and save the picture",
                                   description=_plain(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="model name (name or name.tag), hf:// repo or folder written by zoo.save")
    parser.add_argument("input", help="an image (.png/.jpg), a .npy array or a .safetensors file")
    parser.add_argument("--method", default="grad-cam", help="explainer (see `zoo plugins`; default grad-cam)")
    parser.add_argument("--target-layer", default=None, help="module name (default: the model's explain_layer)")
    parser.add_argument("--targets", type=int, nargs="+", default=None, help="class per sample (default: predicted)")
    parser.add_argument("--pretrained", action="store_true", help="load the model's pretrained weights")
    parser.add_argument("--out", default="cam.png", help="output picture (default cam.png)")
    parser.set_defaults(func=run_explain)


def _plain(text: str) -> str:
    """A docstring as a terminal shows it: RST literals (````x````) without their backquotes."""
    return re.sub(r"``([^`]+)``", r"\1", text).strip()


def _preprocessing(name: str) -> dict:
    from zoo.api import registered_model
    from zoo.references import parse_reference

    reference = parse_reference(name)
    if reference.kind != "registry":
        return {}
    spec = registered_model(reference)
    weights = spec.get_weights(reference.tag) if reference.tag else spec.default_weights
    return dict(weights.preprocessing) if weights is not None else {}


def read_input(path: Path, preprocessing: dict):
    """The model input stored at ``path`` -> (tensor, display image or None)."""
    import numpy as np
    import torch

    suffix = path.suffix.lower()
    if not path.is_file():
        raise ExplainError(f"input {str(path)!r} does not exist")
    if suffix in IMAGE_SUFFIXES:
        from zoo.explainers.framework import require_matplotlib

        require_matplotlib(f"reading the image {path.name}")
        from matplotlib import image

        raw = np.asarray(image.imread(path))
        # matplotlib gives PNGs as floats in [0, 1] and JPEGs as 8-bit integers.
        array = raw.astype(np.float32) / 255.0 if raw.dtype == np.uint8 else raw.astype(np.float32)
        if array.ndim == 2:
            array = array[..., None]
        array = array[..., :3]  # drop an alpha channel
        picture = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]
        tensor = picture
        if "mean" in preprocessing and "std" in preprocessing:
            mean = torch.tensor(preprocessing["mean"], dtype=torch.float32).reshape(1, -1, 1, 1)
            std = torch.tensor(preprocessing["std"], dtype=torch.float32).reshape(1, -1, 1, 1)
            tensor = (picture - mean) / std
        return tensor, picture
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as error:
            raise ExplainError(f"{path}: not a plain numeric .npy array ({error})") from None
        return torch.from_numpy(np.ascontiguousarray(array)).float(), None
    if suffix == ".safetensors":
        from safetensors.torch import load_file

        tensors = load_file(path)
        if "input" in tensors:
            return tensors["input"].float(), None
        if len(tensors) == 1:
            return next(iter(tensors.values())).float(), None
        # Several named inputs (features and an integer edge index, say) keep their dtypes.
        return {key: value.float() if value.is_floating_point() else value for key, value in tensors.items()}, None
    raise ExplainError(f"unsupported input {path.name!r}: give a .png/.jpg image, a .npy array or a .safetensors file")


def run_explain(args: argparse.Namespace) -> int:
    import zoo

    x, picture = read_input(Path(args.input), _preprocessing(args.name))
    model = zoo.load(args.name, pretrained=args.pretrained)
    explanation = zoo.explain(model, x, method=args.method, target_layer=args.target_layer, targets=args.targets)
    out = Path(args.out)
    if out.suffix.lower() in {".npy", ".safetensors"}:
        write_maps(explanation, out)
    else:
        images = picture if picture is not None else (x if getattr(x, "ndim", 0) in (4, 5) else None)
        try:
            out = explanation.save(out, images)
        except ExplainError as error:
            raise ExplainError(f"{error}; write the maps themselves with --out maps.safetensors") from None
    classes = explanation.targets.tolist() if explanation.targets is not None else "-"
    print(f"wrote {out} ({explanation.method}, layer {explanation.target_layer}, classes {classes})")
    return 0


def write_maps(explanation, out: Path) -> None:
    """The maps (and, for point/voxel models, each point's sample and coordinates) as tensors."""
    import numpy as np

    if out.suffix.lower() == ".npy":
        np.save(out, explanation.maps.detach().cpu().numpy(), allow_pickle=False)
        return
    from safetensors.torch import save_file

    tensors = {"maps": explanation.maps}
    for name in ("targets", "batch", "coords"):
        value = getattr(explanation, name)
        if value is not None:
            tensors[name] = value
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(out))
