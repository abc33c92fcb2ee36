"""Draw the documentation's pictures into docs/figures/ (and docs/explain/).

    .venv/bin/python docs/make_figures.py            # every figure (about 3 minutes on one CPU thread)
    .venv/bin/python docs/make_figures.py dice cora  # only these
    .venv/bin/python docs/make_figures.py --planetoid ~/data/planetoid cora

Not run by ``make docs``: the PNGs are committed. The benchmark plots draw the figures recorded on
the benchmark pages (each function names its page and the command that measured them); the other
pictures train a small model for a few seconds and explain it, deterministically on one thread.
Needs the repo's plugins (zoo-graph, zoo-spiking) and matplotlib (``zoo-core[explain]``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt

DOCS = Path(__file__).resolve().parent
FIGURES = DOCS / "figures"
ZOO, REFERENCE = "#1f77b4", "#999999"


def _save(figure, name: str) -> None:
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / name
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"wrote {path.relative_to(DOCS.parent)} ({path.stat().st_size / 1e3:.0f} kB)")


def speedups() -> None:
    """docs/benchmarks.md (listing), docs/explain.md (Grad-CAM parity), docs/plugins/spiking.md (sparse conv)."""
    versus = [  # (what, reference, recorded speed-up: median for listing, best times for the CAMs)
        ("list models\n(cold process)", "timm", 31.2),
        ("Grad-CAM", "pytorch-grad-cam", 3.42),
        ("Grad-CAM++", "pytorch-grad-cam", 3.41),
        ("Eigen-CAM", "pytorch-grad-cam", 3.73),
    ]
    occupancy = [1, 5, 20]  # % of a 64^3 grid, 32 -> 32 channels, kernel 3
    sparse_reused, sparse_with_rulebook = [500.7, 90.6, 2.4], [99.3, 11.4, 1.2]

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    labels = [w[0] for w in versus]
    ratios = [w[2] for w in versus]
    bars = left.barh(labels, ratios, color=ZOO)
    left.bar_label(bars, [f"{r:.1f}x vs {w[1]}" for r, w in zip(ratios, versus)], padding=4)
    left.set_xscale("log")
    left.set_xlim(1, 300)
    left.axvline(1, color=REFERENCE, lw=1)
    left.invert_yaxis()
    left.set_xlabel("speed-up of zoo over the reference library (log scale)")
    left.set_title("zoo vs timm and pytorch-grad-cam")

    right.plot(occupancy, sparse_reused, "o-", color=ZOO, label="sparse conv, rulebook reused")
    right.plot(occupancy, sparse_with_rulebook, "s--", color=ZOO, alpha=0.6,
               label="sparse conv + building its rulebook")
    right.axhline(1, color=REFERENCE, lw=1, label="dense conv3d")
    right.axhline(5, color="#d62728", lw=1, ls=":", label="target at 5% occupancy: 5x")
    right.set_yscale("log")
    right.set_xticks(occupancy, [f"{o}%" for o in occupancy])
    right.set_xlabel("active voxels (occupancy of the 64³ grid)")
    right.set_ylabel("speed-up over dense conv3d")
    right.set_title("zoo-spiking: submanifold sparse conv vs dense")
    right.legend(fontsize=8)
    _save(figure, "speedups.png")


def memory() -> None:
    """docs/plugins/graph.md (evaluation memory) and docs/plugins/spiking.md (sparse conv memory)."""
    n = [2_500, 5_000, 10_000, 20_000, 40_000]  # users = items
    dense_mask_mb = [24, 95, 381, 1_526, 6_104]
    ours_mb = [30.8, 52.7, 95.4, 177.2, 345.5]
    occupancy, dense_mb, sparse_mb = [1, 5, 20], [192.0, 192.0, 192.0], [3.5, 22.5, 166.3]

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    left.loglog(n, dense_mask_mb, "s--", color=REFERENCE, label="a dense users x items float mask")
    left.loglog(n, ours_mb, "o-", color=ZOO, label="zoo-graph's evaluation, peak extra memory")
    left.set_xticks(n, [f"{v // 1000}k" if v % 1000 == 0 else f"{v / 1000:.1f}k" for v in n])
    left.minorticks_off()
    left.set_xlabel("users = items")
    left.set_ylabel("MB")
    left.set_title("Recall@20 evaluation: linear in users + items")
    left.legend(fontsize=8)

    right.plot(occupancy, dense_mb, "s--", color=REFERENCE, label="dense conv3d")
    right.plot(occupancy, sparse_mb, "o-", color=ZOO, label="sparse conv")
    right.set_xticks(occupancy, [f"{o}%" for o in occupancy])
    right.set_xlabel("active voxels (occupancy of the 64³ grid)")
    right.set_ylabel("MB allocated by one forward")
    right.set_title("zoo-spiking: memory grows with the active voxels")
    right.legend(fontsize=8)
    _save(figure, "memory.png")


def dice() -> None:
    """docs/plugins/medical.md: bench_medical_train_phantom.py --epochs 12 (validation after each epoch)."""
    steps = [8 * e for e in range(1, 13)]
    scse_dice = [0.147, 0.257, 0.435, 0.644, 0.761, 0.825, 0.844, 0.879, 0.843, 0.860, 0.929, 0.861]
    unet_dice = [0.119, 0.252, 0.410, 0.586, 0.747, 0.800, 0.834, 0.855, 0.845, 0.890, 0.907, 0.862]
    scse_hd95 = [52.9, 53.8, 53.7, 52.7, 37.2, 29.5, 16.0, 15.0, 15.6, 15.2, 14.0, 15.2]
    unet_hd95 = [51.9, 51.9, 51.0, 49.6, 39.0, 31.6, 24.1, 16.0, 16.0, 15.3, 14.9, 15.4]

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    left.plot(steps, scse_dice, "o-", color=ZOO, label="scse-unet-3d")
    left.plot(steps, unet_dice, "s--", color=REFERENCE, label="MONAI UNet (no scSE)")
    left.axhline(0.8, color="#d62728", lw=1, ls=":")
    left.set_ylim(0, 1)
    left.set_xlabel("training steps (batches of two 32³ crops)")
    left.set_ylabel("validation Dice")
    left.set_title("NIfTI phantoms through zoo.dataset('medical-decathlon')")
    left.legend()
    right.plot(steps, scse_hd95, "o-", color=ZOO, label="scse-unet-3d")
    right.plot(steps, unet_hd95, "s--", color=REFERENCE, label="MONAI UNet (no scSE)")
    right.set_xlabel("training steps")
    right.set_ylabel("validation HD95 (mm, lower is better)")
    right.set_title("Hausdorff distance, 95th percentile")
    right.legend()
    _save(figure, "dice.png")


def recall() -> None:
    """docs/plugins/graph.md: bench_graph_ultragcn.py on Amazon-Electronics, 120 s each, 6 checkpoints
    (the run of 2026-12-02 recorded there, one torch thread, machine under load)."""
    # (training seconds, Recall@20) at each checkpoint of the doubling schedule
    lightgcn = [(3.8, 0.0992), (7.5, 0.0972), (15.0, 0.1105), (30.1, 0.1171), (60.1, 0.1218), (120.1, 0.1270)]
    ultragcn = [(3.8, 0.0160), (7.9, 0.0185), (15.0, 0.0198), (30.5, 0.0336), (60.3, 0.0852), (120.0, 0.0910)]
    figure, axes = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    for points, label, style, colour in ((lightgcn, "LightGCN (PyG)", "s--", REFERENCE),
                                         (ultragcn, "UltraGCN", "o-", ZOO)):
        axes.plot(*zip(*points), style, color=colour, label=label)
    axes.set_xscale("log")
    axes.set_xlabel("training time (s, log scale; evaluation excluded)")
    axes.set_ylabel("test Recall@20")
    axes.set_title("Amazon-Electronics, same CPU budget for both")
    axes.legend()
    _save(figure, "recall-vs-time.png")


def e3dsnn() -> None:
    """The tour's spiking demo: E-3DSNN trained on built-in shapes, Grad-CAM per input voxel."""
    import importlib.util
    import tempfile

    import torch

    import zoo

    spec = importlib.util.spec_from_file_location("demo", DOCS.parent / "plugins" / "spiking" / "examples" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    with tempfile.TemporaryDirectory() as run:  # demo.train runs zoo.train into a run folder
        model, _ = demo.train(120, Path(run) / "edge-3dsnn")
    demo.recalibrate_batchnorm(model)
    test = demo.ShapesDataset("test", num_points=demo.POINTS, grid_size=demo.GRID, samples_per_class=5)
    figure = plt.figure(figsize=(12, 4.6), layout="constrained")
    for column, shape in enumerate(("torus", "cone", "pyramid")):
        coords, feats, label = test[demo.SHAPE_NAMES.index(shape)]
        x = demo.collate([(coords, feats)])
        model.eval()
        with torch.no_grad():
            predicted = int(model(*x).argmax(1))
        explanation = zoo.explain(model, x, method="grad-cam")
        per_voxel = explanation.maps[model.feature_index]
        axes = figure.add_subplot(1, 3, column + 1, projection="3d")
        xyz = coords.float().numpy()
        points = axes.scatter(xyz[:, 0], xyz[:, 1], xyz[:, 2], c=per_voxel.numpy(), cmap="jet", vmin=0, vmax=1, s=6)
        axes.set_title(f"{shape} -> predicted {demo.SHAPE_NAMES[predicted]}")
        axes.set_axis_off()
    figure.colorbar(points, ax=figure.axes, shrink=0.7, label="Grad-CAM (layer enc.3), per input voxel")
    _save(figure, "edge-3dsnn-gradcam.png")


def cora(root: Path) -> None:
    """A GCN trained on Cora's public split; Grad-CAM of one test node's prediction over its 2-hop neighbourhood."""
    import networkx as nx
    import torch
    from matplotlib import patheffects

    import zoo

    torch.manual_seed(0)
    data = zoo.dataset("planetoid-cora", root=root)
    model = zoo.build("gcn")
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(200):
        model.train()
        logits = model(data.x, data.edge_index)
        loss = torch.nn.functional.cross_entropy(logits[data.train_mask], data.y[data.train_mask])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        predicted = model(data.x, data.edge_index).argmax(1)
    accuracy = float((predicted[data.test_mask] == data.y[data.test_mask]).float().mean())

    graph = nx.Graph()
    graph.add_edges_from(data.edge_index.t().tolist())
    # a correctly classified test node whose 2-hop neighbourhood is big enough to show, small enough to read
    for node in data.test_mask.nonzero().flatten().tolist():
        hood = nx.ego_graph(graph, node, radius=2)
        if 18 <= hood.number_of_nodes() <= 32 and predicted[node] == data.y[node]:
            break
    c = int(predicted[node])
    explanation = zoo.explain(model, (data.x, data.edge_index), targets=lambda out: out[node:node + 1, c])
    # Grad-CAM weighs every node's activations; only the 2-hop neighbourhood feeds the node's logit,
    # so the picture is scaled to the neighbourhood's largest value.
    importance = explanation.maps.reshape(-1)
    importance = importance / importance[list(hood.nodes)].max()

    figure, axes = plt.subplots(figsize=(7.5, 6), layout="constrained")
    order = sorted(hood.nodes)
    positions = nx.kamada_kawai_layout(hood)
    nx.draw_networkx_edges(hood, positions, ax=axes, alpha=0.4)
    drawn = nx.draw_networkx_nodes(hood, positions, nodelist=order, ax=axes, cmap="jet", vmin=0, vmax=1,
                                   node_color=[float(importance[v]) for v in order], node_size=260,
                                   edgecolors=["black" if v == node else "none" for v in order],
                                   linewidths=[3 if v == node else 0 for v in order])
    texts = nx.draw_networkx_labels(hood, positions, labels={v: str(int(data.y[v])) for v in order}, font_size=8,
                                    font_color="white", ax=axes)
    for text in texts.values():
        text.set_path_effects([patheffects.withStroke(linewidth=2, foreground="black")])
    figure.colorbar(drawn, ax=axes, shrink=0.8, label="Grad-CAM on act1 for the outlined node's class")
    axes.set_title(f"GCN on Cora (test accuracy {accuracy:.1%}): why node {node} is class {c}\n"
                   f"its 2-hop neighbourhood; numbers are the true classes")
    axes.set_axis_off()
    _save(figure, "cora-gcn-gradcam.png")


def overlays() -> None:
    """docs/explain.md's example: a small CNN told squares from crosses, Grad-CAM and Eigen-CAM overlays."""
    import torch
    from torch import nn

    import zoo

    torch.manual_seed(0)

    def shapes(n, size=48):
        x = torch.randn(n, 3, size, size) * 0.3
        y = torch.randint(0, 2, (n,))
        for i in range(n):
            r, c = torch.randint(4, size - 16, (2,)).tolist()
            if y[i] == 0:
                x[i, :, r:r + 12, c:c + 12] += 1.5
            else:
                x[i, :, r + 5:r + 7, c:c + 12] += 1.5
                x[i, :, r:r + 12, c + 5:c + 7] += 1.5
        return x, y

    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 2),
    )
    optimiser = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(300):
        x, y = shapes(64)
        loss = nn.functional.cross_entropy(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    x, y = shapes(4)
    for method in ("grad-cam", "eigen-cam"):
        explanation = zoo.explain(model.eval(), x, method=method, target_layer="7", targets=y.tolist())
        path = explanation.save(DOCS / "explain" / f"{method}.png", x)
        print(f"wrote {path.relative_to(DOCS.parent)} ({path.stat().st_size / 1e3:.0f} kB)")


def efficient() -> None:
    """docs/plugins/vision-efficient.md: BiPer's binariser (drawn by zoo_vision's own autograd function) and
    LowFormer fused vs unfused, recorded by bench_vision_lowformer.py (batch 2, 224 px, CPU time, 1 thread)."""
    import torch

    from zoo_vision.blocks import biper_binarize

    freq = 20.0
    w = torch.linspace(-0.4, 0.4, 2001).requires_grad_()
    binary = biper_binarize(w, freq)
    binary.sum().backward()
    names = ["B0", "B1", "B1.5", "B3"]
    gmacs = {"fused": [0.944, 1.411, 2.574, 6.099], "unfused": [0.419, 0.589, 1.057, 3.041]}
    ms = {"fused": [49.7, 73.2, 113.9, 277.1], "unfused": [43.2, 61.6, 75.5, 208.9]}

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    x = w.detach()
    left.plot(x, torch.sin(freq * x), color=REFERENCE, label="sin(ω₀w): the surrogate")
    left.plot(x, binary.detach(), color=ZOO, label="sign(sin(ω₀w)): the binary weight")
    left.plot(x, w.grad / freq, color="#d62728", linestyle="--", label="∂b/∂w ÷ ω₀ = cos(ω₀w)")
    left.set(xlabel="latent weight w", title=f"BiPer binariser, ω₀ = {freq:g}")
    left.set_ylim(-2.0, 1.15)
    left.legend(loc="lower center", fontsize=8, ncol=2)
    for form, marker in (("fused", "o"), ("unfused", "s")):
        right.plot(gmacs[form], ms[form], marker=marker, label=f"{form}", color=ZOO if form == "fused" else REFERENCE)
    for name, macs, time in zip(names, gmacs["fused"], ms["fused"]):
        right.annotate(name, (macs, time), textcoords="offset points", xytext=(4, -12), fontsize=8)
    right.set(xlabel="GMACs per image (224 px)", ylabel="ms per batch of 2 (CPU time, 1 thread)",
              title="LowFormer: fused (released) vs unfused")
    right.legend()
    _save(figure, "efficient.png")


FIGURES_BY_NAME = {f.__name__: f for f in (speedups, memory, dice, recall, e3dsnn, cora, overlays, efficient)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planetoid", type=Path, default=DOCS.parent.parent / "shared" / "data" / "planetoid",
                        help="folder holding Cora's ind.cora.* files (default: ../shared/data/planetoid)")
    parser.add_argument("names", nargs="*", help=f"figures to draw, of {', '.join(FIGURES_BY_NAME)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(FIGURES_BY_NAME))
    if unknown:
        parser.error(f"unknown figures {unknown}; known: {', '.join(FIGURES_BY_NAME)}")
    import torch

    torch.set_num_threads(1)
    for name in args.names or FIGURES_BY_NAME:
        FIGURES_BY_NAME[name](*([args.planetoid] if name == "cora" else []))
    return 0


if __name__ == "__main__":
    sys.exit(main())
