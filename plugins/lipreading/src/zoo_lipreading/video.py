"""From a video of a face to the words it says: decode (PyAV), resample to LRW's 25 fps, find the
face and its landmarks (mediapipe's face mesh), align each frame to a reference face and cut a 96x96 grey mouth crop
(mpc001's LRW preprocessing), take 29-frame windows, normalise, classify.

    import zoo, zoo_lipreading
    model = zoo.load("td3net-base")                     # or a folder written by zoo.save
    for window in zoo_lipreading.read_lips(model, "talk.mp4"):
        print(window.seconds, window.top)               # [(word, probability), ...] best first

The steps are separate functions (:func:`decode_video`, :func:`resample`, :class:`FaceMesh`,
:func:`mouth_rois`, :func:`clip_windows`, :func:`normalise`) so each can be reused or replaced: pass
``landmarks=`` to :func:`read_lips` to use another detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zoo.errors import ZooError

WINDOW, FPS = 29, 25  # LRW clips: 29 frames at 25 fps
ROI_SIZE = 96  # mpc001 crops 96x96 mouth patches, the model sees their central 88x88
MEAN, STD = 0.421, 0.165  # mpc001's LRW grey-level statistics (after /255)
SMOOTHING = 12  # landmarks are averaged over a window of this many frames before aligning
ALIGNED_SIZE = 256

# Reference positions (in a 256x256 frame) of the eight stable points mpc001 aligns to: nose bridge,
# nose base, the four eye corners and the two mouth corners, read from their 20words_mean_face.npy
# (iBUG-68 points 28, 33, 36, 39, 42, 45, 48, 54).
REFERENCE = ((128.49, 106.92), (128.87, 137.30), (92.52, 94.37), (112.77, 94.94),
             (145.53, 94.53), (166.68, 93.57), (107.17, 157.20), (152.19, 156.99))
# The same points in mediapipe's 468-point face mesh, and the lips (outer and inner contour,
# standing in for iBUG points 48-67, whose mean centres the crop).
MESH_STABLE = (6, 2, 33, 133, 362, 263, 61, 291)
MESH_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146,
             78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)


class VideoError(ZooError, ValueError):
    """A video that cannot be read, holds no face, or is too short to read lips from."""


@dataclass(frozen=True)
class Landmarks:
    """Per-frame points in pixels: ``stable`` [T, 8, 2] (aligned to :data:`REFERENCE`) and ``mouth``
    [T, K, 2] (whose mean centres the crop)."""

    stable: object
    mouth: object


@dataclass(frozen=True)
class WindowReading:
    """The top words of one window of 29 frames at 25 fps: ``start`` is its first frame after
    resampling, ``seconds`` its (start, end) time in the video."""

    start: int
    seconds: tuple
    top: list


def decode_video(path: str | Path):
    """All frames of ``path`` as RGB uint8 ``[T, H, W, 3]`` and the frame rate, via PyAV."""
    import av
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"no video at {str(path)!r}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path} has no video stream")
            stream = container.streams.video[0]
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
            rate = float(stream.average_rate or stream.guessed_rate or 25)
    except av.FFmpegError as error:
        raise VideoError(f"{path} cannot be decoded ({error}); give a video FFmpeg can read (mp4/H.264, ...)") from None
    if not frames:
        raise VideoError(f"{path} holds no decodable frame")
    return np.stack(frames), rate


class FaceMesh:
    """mediapipe's face mesh (its models ship inside the mediapipe wheel; nothing is downloaded).

    Called on RGB frames ``[T, H, W, 3]``, returns :class:`Landmarks`. Frames where no face is found
    take landmarks interpolated from their neighbours, as mpc001 does; no face in any frame is a
    :class:`VideoError`.
    """

    def __init__(self, min_detection_confidence: float = 0.5):
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError as error:
            raise VideoError(f"finding faces needs mediapipe (pip install 'zoo-lipreading[video]'): {error}") from None
        self._mesh = face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False,
                                        min_detection_confidence=min_detection_confidence)

    def __call__(self, frames) -> Landmarks:
        import numpy as np

        height, width = frames.shape[1:3]
        points: list = []
        for frame in frames:
            found = self._mesh.process(np.ascontiguousarray(frame)).multi_face_landmarks
            points.append(None if not found else
                          np.array([(p.x * width, p.y * height) for p in found[0].landmark], dtype=np.float64))
        mesh = interpolate_missing(points)
        return Landmarks(stable=mesh[:, MESH_STABLE], mouth=mesh[:, MESH_LIPS])


def resample(frames, rate: float, target: float = FPS):
    """The frames nearest to the instants ``k / target`` (LRW's models read 25 fps video)."""
    import numpy as np

    if abs(rate - target) < 1e-3:
        return frames
    count = int(len(frames) * target / rate)
    return frames[np.minimum(np.round(np.arange(count) * rate / target).astype(int), len(frames) - 1)]


def interpolate_missing(points: list):
    """``[T]`` arrays or ``None`` -> ``[T, K, 2]``: gaps linearly interpolated, ends held."""
    import numpy as np

    found = [i for i, p in enumerate(points) if p is not None]
    if not found:
        raise VideoError("no face was found in any frame of the video")
    out = np.empty((len(points), *points[found[0]].shape))
    for i in range(len(points)):
        before = max((j for j in found if j <= i), default=None)
        after = min((j for j in found if j >= i), default=None)
        if before is None or after is None or before == after:
            out[i] = points[before if before is not None else after]
        else:
            weight = (i - before) / (after - before)
            out[i] = (1 - weight) * points[before] + weight * points[after]
    return out


def mouth_rois(frames, landmarks: Landmarks, size: int = ROI_SIZE):
    """Grey mouth crops ``[T, size, size]`` uint8, as mpc001 cuts them for LRW.

    Landmarks are smoothed over :data:`SMOOTHING` frames (keeping each frame's own centre), the
    frame is warped by the similarity transform taking the stable points to :data:`REFERENCE`
    (least-median fit, 256x256 output), and the crop is centred on the mean of the mouth points,
    shifted inside the frame when it would cross the border.
    """
    import cv2
    import numpy as np

    reference = np.asarray(REFERENCE, dtype=np.float64)
    stable, mouth = np.asarray(landmarks.stable, np.float64), np.asarray(landmarks.mouth, np.float64)
    if len(stable) != len(frames) or len(mouth) != len(frames):
        raise VideoError(f"landmarks for {len(stable)} frames given for a video of {len(frames)} frames")
    both = np.concatenate([stable, mouth], axis=1)
    half, count, crops = size // 2, len(frames), []
    for t, frame in enumerate(frames):
        margin = min(SMOOTHING // 2, t, count - 1 - t)
        smoothed = both[t - margin:t + margin + 1].mean(axis=0)
        smoothed += both[t].mean(axis=0) - smoothed.mean(axis=0)
        transform = cv2.estimateAffinePartial2D(smoothed[:len(REFERENCE)], reference, method=cv2.LMEDS)[0]
        if transform is None:
            raise VideoError(f"frame {t}: the face landmarks are degenerate, cannot align the face")
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
        aligned = cv2.warpAffine(grey, transform, (ALIGNED_SIZE, ALIGNED_SIZE), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        lips = smoothed[len(REFERENCE):] @ transform[:, :2].T + transform[:, 2]
        cx, cy = np.clip(lips.mean(axis=0), half, ALIGNED_SIZE - half)
        top, left = int(round(cy)) - half, int(round(cx)) - half
        crops.append(aligned[top:top + size, left:left + size])
    return np.stack(crops)


def clip_windows(rois, length: int = WINDOW, stride: int | None = None):
    """``[T, H, W]`` -> ``[N, length, H, W]`` windows starting every ``stride`` frames (default: the
    length; the last window is aligned to the end, so every frame is read) and their start frames."""
    import numpy as np

    count = len(rois)
    if count < length:
        raise VideoError(f"the video has {count} frames at 25 fps; reading a word needs at least {length} "
                         f"({length / FPS:.2f} s, the length of an LRW clip)")
    starts = list(range(0, count - length + 1, stride or length))
    if starts[-1] != count - length:
        starts.append(count - length)
    return np.stack([rois[s:s + length] for s in starts]), starts


def normalise(clips):
    """uint8 ``[N, T, 96, 96]`` -> float ``[N, 1, T, 88, 88]``: mpc001's test transform per clip
    (/255, centre crop 88, (x - 0.421) / 0.165)."""
    import torch

    from zoo_lipreading.data.transforms import lrw_transform

    transform = lrw_transform("test")
    return torch.stack([transform(clip) for clip in clips])


def lrw_words() -> list[str]:
    """The 500 LRW words in the order of mpc001's ``500WordsSortedList.txt`` (the class indices)."""
    from importlib.resources import files

    return files("zoo_lipreading.data").joinpath("lrw500.txt").read_text().split()


def read_lips(model, video, *, top: int = 5, labels: list[str] | None = None, landmarks=None,
              stride: int | None = None, batch_size: int = 8) -> list[WindowReading]:
    """Read the words of ``video`` (a path) with a word classifier such as ``zoo.load("td3net-base")``.

    The video is resampled to 25 fps; returns, per 29-frame window (every ``stride`` frames), the
    ``top`` words and their softmax probabilities. ``labels`` default to LRW's 500 words (LRW-1000
    models need theirs); ``landmarks`` is a callable from the resampled RGB frames to
    :class:`Landmarks` (default :class:`FaceMesh`).
    """
    import torch

    frames, rate = decode_video(video)
    frames = resample(frames, rate)
    if len(frames) < WINDOW:
        clip_windows(frames)  # raises the too-short error before any face search
    points = (landmarks or FaceMesh())(frames)
    clips, starts = clip_windows(mouth_rois(frames, points), stride=stride)
    labels = labels or lrw_words()
    classes = getattr(model, "num_classes", len(labels))
    if len(labels) != classes:
        raise ZooError(f"the model has {classes} classes but {len(labels)} labels were given")
    if getattr(model, "use_boundary", False):
        raise ZooError("word-boundary models need the word's frames marked; read_lips has no boundary to give")
    inputs = normalise(clips)
    model.eval()
    with torch.no_grad():
        probabilities = torch.cat([model(batch).softmax(dim=1) for batch in inputs.split(batch_size)])
    scores, indices = probabilities.topk(min(top, classes), dim=1)
    return [WindowReading(start, (start / FPS, (start + WINDOW) / FPS),
                          [(labels[i], float(s)) for s, i in zip(row_s.tolist(), row_i.tolist())])
            for start, row_s, row_i in zip(starts, scores, indices)]
