"""Saving over a folder, several processes loading at once, and processes killed half-way (issue 18, 2 and 2b).

The other processes are real ones, forked from a multiprocessing forkserver, talking to the
LocalHub on 127.0.0.1; every wait is bounded, so a regression fails instead of hanging.
"""

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save
from zoo_core_fixtures import SpecPlugin, build_tiny_convnet, tiny_spec

import zoo
from zoo import WeightsSpec
from zoo.errors import ConfigError

REPO = "zoo-test/tiny-convnet"
WORKERS = 8

def _context():
    """Processes forked from a server that imported torch once: fresh interpreters importing torch
    would take most of a minute on a busy machine. The children get the Hub settings passed in."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "zoo", "zoo_core_fixtures"])
    return context


def _hub_env() -> dict:
    return {k: os.environ[k] for k in ("HF_ENDPOINT", "HF_HUB_CACHE", "ZOO_CACHE")}


def _fields(weights: WeightsSpec) -> dict:
    return {k: getattr(weights, k) for k in ("tag", "repo_id", "revision", "sha256")}


def _wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def hub_weights(local_hub, fresh_registry):
    torch.manual_seed(1)
    data = save(build_tiny_convnet().state_dict())
    revision = local_hub.commit(REPO, {"model.safetensors": data})
    weights = WeightsSpec(tag="synthetic", repo_id=REPO, revision=revision, sha256=hashlib.sha256(data).hexdigest())
    zoo.register_plugin(SpecPlugin(tiny_spec(weights=(weights,))), name="tiny")
    return data, weights


def _slow_downloads(local_hub, before_body):
    """Make the LocalHub call ``before_body(handler, body)`` before it sends a weights file's bytes."""
    base = local_hub.server.RequestHandlerClass

    class Handler(base):
        def _send(self, status, body=b"", headers=None, *, head=False):
            if self.command == "GET" and "/resolve/" in self.path and body:
                if before_body(self, status, body, headers):
                    return
            super()._send(status, body, headers, head=head)

    local_hub.server.RequestHandlerClass = Handler


def _blobs(weights: WeightsSpec) -> Path:
    return Path(os.environ["HF_HUB_CACHE"]) / ("models--" + weights.repo_id.replace("/", "--")) / "blobs"


# -- 2: zoo.save ------------------------------------------------------------------------------

@pytest.fixture
def tiny(fresh_registry):
    zoo.register_plugin(SpecPlugin(tiny_spec(), tiny_spec(name="tiny-other")), name="tiny")


def test_save_refuses_another_models_folder_unless_overwrite(tiny, tmp_path):
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    again = zoo.load("tiny-convnet")
    zoo.save(again, folder)  # the same model saved again (a training loop's checkpoint) is replaced
    assert torch.equal(zoo.load(folder).head.weight, again.head.weight)
    other = zoo.load("tiny-other")
    with pytest.raises(ConfigError, match="holds a saved 'tiny-convnet' model; pass overwrite=True"):
        zoo.save(other, folder)
    assert torch.equal(zoo.load(folder).head.weight, again.head.weight)
    zoo.save(other, folder, overwrite=True)
    assert zoo.load(folder).zoo_name == "tiny-other"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]  # no staging folder left behind


def test_save_never_replaces_files_it_did_not_write(tiny, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"files zoo.save did not write \(notes.txt\)"):
        zoo.save(zoo.load("tiny-convnet"), folder, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        zoo.save(zoo.load("tiny-convnet"), tmp_path / "file")


def test_save_into_an_empty_folder_keeps_the_umask(tiny, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    zoo.save(zoo.load("tiny-convnet"), folder)
    mode = folder.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o777 & ~umask


def test_save_without_an_atomic_exchange_still_replaces(tiny, tmp_path, monkeypatch):
    from zoo import serialization

    monkeypatch.setattr(serialization, "_exchange", lambda a, b: False)
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    again = zoo.load("tiny-convnet")
    zoo.save(again, folder)
    assert torch.equal(zoo.load(folder).head.weight, again.head.weight)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]


def test_save_killed_mid_write_leaves_the_previous_folder_intact(tiny, tmp_path):
    from zoo_core_fixtures import save_killed_mid_write_in_child

    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    process = _context().Process(target=save_killed_mid_write_in_child, args=(str(folder),))
    process.start()
    process.join(timeout=60)
    assert process.exitcode == -signal.SIGKILL
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    zoo.load(folder)  # complete and matching its recorded sha256
    # what the killed save left is hidden beside it, never in the folder; the next save works
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "saved"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".saved.zoo-partial-")
    zoo.save(zoo.load("tiny-convnet"), folder)


# -- 2b: concurrent loads and killed downloads -----------------------------------------------

def test_eight_processes_loading_at_once_download_each_file_once(local_hub, hub_weights, tmp_path):
    from zoo_core_fixtures import load_pretrained_in_child

    data, weights = hub_weights

    def slow(handler, status, body, headers):
        time.sleep(0.5)  # the first download is still running when the other processes ask
        return False

    _slow_downloads(local_hub, slow)
    context = _context()
    go, results = tmp_path / "go", context.Queue()
    processes = [context.Process(target=load_pretrained_in_child, args=(_hub_env(), _fields(weights), str(go), results))
                 for _ in range(WORKERS)]
    for process in processes:
        process.start()
    go.touch()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    torch.manual_seed(1)
    assert outcomes == [float(build_tiny_convnet().head.weight.detach().sum())] * WORKERS
    # huggingface_hub's per-blob file lock lets one process download; the others find the blob
    # complete once they hold the lock. Each still asks for the file's metadata (a HEAD) first.
    assert local_hub.count("GET", "/resolve/") == 1
    assert local_hub.count("HEAD", "/resolve/") <= WORKERS
    blobs = sorted(p.name for p in _blobs(weights).iterdir())
    assert blobs == [weights.sha256]
    assert (_blobs(weights) / weights.sha256).read_bytes() == data


def test_a_process_killed_mid_download_leaves_nothing_taken_for_complete(local_hub, hub_weights, tmp_path):
    data, weights = hub_weights
    half_sent, release = threading.Event(), threading.Event()
    stalled = [True]

    def stall(handler, status, body, headers):
        if not stalled[0]:
            return False
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        half_sent.set()
        release.wait(30)
        return True

    _slow_downloads(local_hub, stall)
    from zoo_core_fixtures import load_pretrained_in_child

    go = tmp_path / "go"
    go.touch()
    context = _context()
    results = context.Queue()  # kept here: Process.start drops its reference to the arguments
    process = context.Process(target=load_pretrained_in_child, args=(_hub_env(), _fields(weights), str(go), results))
    process.start()
    try:
        _wait_for(half_sent.is_set, "the server to send half the file")
        _wait_for(lambda: _blobs(weights).exists() and any(p.name.endswith(".incomplete")
                                                           for p in _blobs(weights).iterdir()),
                  "the client's partial file")
        process.kill()  # SIGKILL
        process.join(timeout=30)
    finally:
        release.set()
    assert process.exitcode == -signal.SIGKILL
    assert not (_blobs(weights) / weights.sha256).exists()
    snapshot = _blobs(weights).parent / "snapshots" / weights.revision / "model.safetensors"
    assert not snapshot.exists()
    stalled[0] = False
    gets = local_hub.count("GET", "/resolve/")
    model = zoo.load("tiny-convnet", pretrained=True)
    assert local_hub.count("GET", "/resolve/") == gets + 1
    torch.manual_seed(1)
    assert torch.equal(model.head.weight, build_tiny_convnet().head.weight)
    assert (_blobs(weights) / weights.sha256).read_bytes() == data
