"""The README's tour, runnable offline: `make demo`.

Lists every model, loads and runs one, saves and reloads it bit-exactly, publishes it to a Hub
(a local one on 127.0.0.1, since the demo runs with no network) and loads it back by its hf://
address, explains a 3-D segmentation with Grad-CAM, then runs each plugin's own demo
(plugins/*/examples/demo.py).
Pictures go to demo-out/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import zoo

OUT = Path(__file__).resolve().parents[1] / "demo-out"


def section(title: str) -> None:
    print(f"\n== {title}")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    section("what is installed")
    started = time.perf_counter()
    names = zoo.list_models()
    print(f"{len(names)} models listed in {(time.perf_counter() - started) * 1e3:.0f} ms "
          f"(torch imported: {'torch' in sys.modules})")
    domains = Counter(zoo.info(name)["domain"] for name in names)
    print("by domain:", dict(sorted(domains.items())))
    print("explainers:", ", ".join(zoo.list_explainers()))
    print("3-D U-Nets:", zoo.list_models("*unet*3d", domain="medical"))
    details = zoo.info("edge-3dsnn")
    print(f"edge-3dsnn: {details['paper']['title']} (arXiv:{details['paper']['arxiv']}), "
          f"{details['num_params']:,} parameters")

    section("load, run, save, reload")
    import torch

    model = zoo.load("scse-unet-3d").eval()
    x = torch.randn(1, 1, 32, 32, 32)
    with torch.no_grad():
        y = model(x)
    count = sum(p.numel() for p in model.parameters())
    print(f"scse-unet-3d: {count:,} params; input {list(x.shape)} -> {list(y.shape)}")
    with tempfile.TemporaryDirectory() as folder:
        zoo.save(model, folder)
        print("saved:", sorted(os.listdir(folder)))
        again = zoo.load(folder)
        with torch.no_grad():
            print("reloaded output is bit-identical:", torch.equal(again(x), y))

        section("publish to a Hub and load by hf:// address")
        from huggingface_hub.utils import disable_progress_bars

        from zoo.testing import LocalHub

        disable_progress_bars()

        with LocalHub() as hub, tempfile.TemporaryDirectory() as cache:
            os.environ.update(HF_ENDPOINT=hub.url, HF_HUB_CACHE=cache)
            uri = zoo.publish(folder, repo_id="demo/scse-unet-3d")
            print("published:", uri)
            from_hub = zoo.load(uri)
            with torch.no_grad():
                print("loaded from the Hub, output bit-identical:", torch.equal(from_hub(x), y))

    section("explain a 3-D segmentation (Grad-CAM, per class)")
    explanation = zoo.explain(model, x, method="grad-cam", targets=[1])
    print(f"maps {list(explanation.maps.shape)} in [{float(explanation.maps.min()):.2f}, "
          f"{float(explanation.maps.max()):.2f}] at layer {explanation.target_layer}")
    picture = explanation.save(OUT / "scse-unet-3d-gradcam.png", images=x)
    print("overlay (middle slice):", picture)

    # Each plugin of the repo shows itself with its own demo (they all take --out).
    for demo in sorted((Path(__file__).resolve().parents[1] / "plugins").glob("*/examples/demo.py")):
        section(f"zoo-{demo.parents[1].name}: {demo.relative_to(demo.parents[3])}")
        subprocess.run([sys.executable, str(demo), "--out", str(OUT)], check=True)


if __name__ == "__main__":
    main()
