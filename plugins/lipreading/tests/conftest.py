import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def _write_video(path, frames, rate=25):
    """RGB uint8 ``[T, H, W, 3]`` -> an MPEG-4 file written by PyAV (test videos are generated, never fetched)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture
def write_video():
    return _write_video
