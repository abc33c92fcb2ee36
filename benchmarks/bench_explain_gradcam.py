"""zoo.explain against pytorch-grad-cam (PyPI ``grad-cam``) in one process: parity and speed.

    .venv/bin/python benchmarks/bench_explain_gradcam.py [--batch 8] [--size 224] [--repeats 3]

On a randomly initialised ResNet-50 (torchvision layout, 25,557,032 parameters, defined below
because torchvision cannot be installed beside torch 2.13 CPU here) and one batch of random
images, it times Grad-CAM, Grad-CAM++ and Eigen-CAM of both libraries side by side (alternating,
best of ``--repeats`` and the median ratio of adjacent pairs), a bare ``no_grad`` forward for
scale, and prints the largest absolute
difference between the maps (Eigen-CAM up to the sign of the first singular vector, see
``zoo.explainers.cam.eigencam_map``). The parity test in ``core/tests/test_explain_parity.py``
imports :func:`resnet50` and :func:`import_pytorch_grad_cam` from this file.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
import types

import torch
from torch import nn


def install_torchvision_stand_in() -> bool:
    """Make ``import pytorch_grad_cam`` work without torchvision.

    pytorch-grad-cam imports ``torchvision.transforms`` (Compose, Normalize, ToTensor; used only by
    its ``preprocess_image`` helper), ``torchvision.transforms.functional.resize`` (SESS) and
    ``torchvision`` (``ops.box_iou``, only for detection targets) at import time. PyPI's
    torchvision does not work beside torch 2.13 CPU, so when it is missing this inserts a module
    holding just those names; calling any of them raises, so nothing silently uses a fake. Returns
    whether it did.
    """
    try:
        importlib.import_module("torchvision")
        return False
    except Exception:  # noqa: BLE001 - any import failure means: use the stand-in
        _drop_torchvision_modules()

    def unavailable(name: str):
        def call(*args, **kwargs):
            raise RuntimeError(f"torchvision.{name} is a stand-in (torchvision is not installed)")
        return call

    torchvision = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    ops = types.ModuleType("torchvision.ops")
    for name in ("Compose", "Normalize", "ToTensor"):
        setattr(transforms, name, unavailable(f"transforms.{name}"))
    functional.resize = unavailable("transforms.functional.resize")
    ops.box_iou = unavailable("ops.box_iou")
    transforms.functional = functional
    torchvision.transforms, torchvision.ops = transforms, ops
    sys.modules.update({"torchvision": torchvision, "torchvision.transforms": transforms,
                        "torchvision.transforms.functional": functional, "torchvision.ops": ops})
    return True


def _drop_torchvision_modules() -> None:
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]


# every pytorch-grad-cam module the tests and this script use, imported while the stand-in is there
GRAD_CAM_MODULES = ("pytorch_grad_cam", "pytorch_grad_cam.metrics.road", "pytorch_grad_cam.utils.image",
                    "pytorch_grad_cam.utils.svd_on_activations", "pytorch_grad_cam.utils.model_targets")


def import_pytorch_grad_cam():
    """pytorch-grad-cam, its modules imported beside a torchvision stand-in that is removed again: left in
    ``sys.modules`` it would pass for torchvision to every later importer (mmengine reads its version)."""
    standing_in = install_torchvision_stand_in()
    try:
        for name in GRAD_CAM_MODULES:
            importlib.import_module(name)
    finally:
        if standing_in:
            _drop_torchvision_modules()
    return sys.modules["pytorch_grad_cam"]


class Bottleneck(nn.Module):
    """torchvision's ResNet v1.5 bottleneck: the stride sits on the 3×3 convolution."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    """ResNet-50 (He et al., arXiv:1512.03385) in torchvision's module layout and initialisation."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(64, 3)
        self.layer2 = self._layer(128, 4, 2)
        self.layer3 = self._layer(256, 6, 2)
        self.layer4 = self._layer(512, 3, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def _layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50(num_classes: int = 1000) -> ResNet50:
    return ResNet50(num_classes)


def eigen_difference(ours: torch.Tensor, theirs, flipped) -> float:
    """Largest per-image difference, each image compared with whichever sign pytorch-grad-cam's
    LAPACK happened to pick."""
    theirs, flipped = torch.as_tensor(theirs), torch.as_tensor(flipped)
    same = (ours - theirs).abs().flatten(1).amax(1)
    other = (ours - flipped).abs().flatten(1).amax(1)
    return float(torch.minimum(same, other).max())


def pytorch_grad_cam_eigen_flipped(pgc, model, layer, x):
    """pytorch-grad-cam's Eigen-CAM pipeline with the projection negated (the other SVD sign)."""
    from pytorch_grad_cam.utils.image import scale_cam_image
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

    captured = []
    handle = layer.register_forward_hook(lambda m, i, o: captured.append(o.detach().numpy()))
    with torch.no_grad():
        model(x)
    handle.remove()
    import numpy as np

    cam = np.maximum(-get_2d_projection(captured[0]), 0)
    cam = scale_cam_image(cam, (x.shape[-1], x.shape[-2]))
    return scale_cam_image(cam)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import zoo

    pgc = import_pytorch_grad_cam()
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    model = resnet50().eval()
    x = torch.randn(args.batch, 3, args.size, args.size)
    targets = [(7 * i + 281) % 1000 for i in range(args.batch)]
    print(f"ResNet-50 ({sum(p.numel() for p in model.parameters()):,} params), batch {args.batch} at "
          f"{args.size}x{args.size}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"pytorch-grad-cam {importlib.metadata.version('grad-cam')}")

    def bare_forward():
        with torch.no_grad():
            return model(x)

    methods = [("grad-cam", pgc.GradCAM), ("grad-cam++", pgc.GradCAMPlusPlus), ("eigen-cam", pgc.EigenCAM)]
    times: dict[str, dict[str, list[float]]] = {name: {"zoo": [], "pgc": []} for name, _ in methods}
    forward: list[float] = []
    maps = {}
    # The runs interleave (forward, then zoo and pytorch-grad-cam per method, repeated) so that
    # load from other jobs on a shared machine hits both libraries alike.
    for _ in range(args.repeats):
        forward.append(timed(bare_forward)[0])
        for name, cls in methods:
            t, ours = timed(zoo.explain, model, x, method=name, target_layer="layer4", targets=targets)
            times[name]["zoo"].append(t)
            with cls(model=model, target_layers=[model.layer4]) as cam:
                t, theirs = timed(cam, input_tensor=x, targets=[ClassifierOutputTarget(c) for c in targets])
            times[name]["pgc"].append(t)
            maps[name] = (ours.maps, theirs)
    print(f"bare forward (no_grad): best {min(forward):.2f} s, median {statistics.median(forward):.2f} s")

    print("\n| method | pytorch-grad-cam (s) | zoo (s) | speed-up (best) | speed-up (median of pairs) "
          "| max abs diff |\n|---|---|---|---|---|---|")
    for name, _ in methods:
        ours, theirs = maps[name]
        if name == "eigen-cam":
            flipped = pytorch_grad_cam_eigen_flipped(pgc, model, model.layer4, x)
            diff = eigen_difference(ours, theirs, flipped)
        else:
            diff = float((ours - torch.as_tensor(theirs)).abs().max())
        zoo_t, pgc_t = times[name]["zoo"], times[name]["pgc"]
        pairs = statistics.median(p / z for p, z in zip(pgc_t, zoo_t))
        print(f"| {name} | {min(pgc_t):.2f} | {min(zoo_t):.2f} | {min(pgc_t) / min(zoo_t):.2f}x | {pairs:.2f}x "
              f"| {diff:.1e} |")


if __name__ == "__main__":
    main()
