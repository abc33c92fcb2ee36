"""The Hub path end to end: the real huggingface_hub client against a LocalHub on 127.0.0.1."""

import hashlib
import io
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save
from zoo_core_fixtures import SpecPlugin, build_tiny_convnet, tiny_spec

import zoo
from zoo import WeightsSpec
from zoo.errors import CorruptWeightsError, HubError, OfflineError, UnknownNameError, UnsafeWeightsError

REPO = "zoo-test/tiny-convnet"


def _weights_bytes(seed: int) -> bytes:
    torch.manual_seed(seed)
    return save(build_tiny_convnet().state_dict())


@pytest.fixture
def pretrained(local_hub, fresh_registry):
    """A registry model whose 'synthetic' weights live on the local Hub at a pinned commit."""
    data = _weights_bytes(1)
    revision = local_hub.commit(REPO, {"model.safetensors": data, "README.md": b"weights"})
    weights = WeightsSpec(tag="synthetic", repo_id=REPO, revision=revision, sha256=hashlib.sha256(data).hexdigest(),
                          dataset="noise", metrics={"top1": 0.25}, license="mit")
    zoo.register_plugin(SpecPlugin(tiny_spec(weights=(weights,))), name="tiny")
    return data, weights


def _expected_state(data):
    from safetensors.torch import load

    return load(data)


def test_pretrained_load_downloads_verifies_and_uses_the_pinned_revision(local_hub, pretrained):
    data, weights = pretrained
    local_hub.commit(REPO, {"model.safetensors": _weights_bytes(2)}, "retrain")  # main moves on
    model = zoo.load("tiny-convnet", pretrained=True)
    assert not model.training and model.zoo_weights == "synthetic"
    for key, value in _expected_state(data).items():
        assert torch.equal(model.state_dict()[key], value)
    assert zoo.list_models(pretrained=True, plugin="tiny") == ["tiny-convnet.synthetic"]
    assert zoo.info("tiny-convnet.synthetic")["weights"][0]["metrics"] == {"top1": 0.25}


def test_a_warm_cache_load_makes_no_request(local_hub, pretrained):
    zoo.load("tiny-convnet.synthetic", pretrained=True)
    before = len(local_hub.requests)
    zoo.load("tiny-convnet.synthetic", pretrained=True)
    assert len(local_hub.requests) == before


def test_offline_uses_the_cache_and_explains_a_miss(local_hub, pretrained, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="HF_HUB_OFFLINE"):
        zoo.load("tiny-convnet", pretrained=True)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    zoo.download("tiny-convnet.synthetic")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    local_hub.stop()
    assert zoo.load("tiny-convnet", pretrained=True).zoo_weights == "synthetic"


def test_a_corrupted_cache_file_is_fetched_again(local_hub, pretrained):
    data, _ = pretrained
    path = zoo.download("tiny-convnet.synthetic")
    blob = Path(os.path.realpath(path))
    blob.write_bytes(blob.read_bytes()[:100])
    gets = local_hub.count("GET", "resolve")
    model = zoo.load("tiny-convnet", pretrained=True)
    assert local_hub.count("GET", "resolve") == gets + 1
    assert torch.equal(model.head.weight, _expected_state(data)["head.weight"])


def test_a_corrupted_cache_file_offline_is_a_clear_error(local_hub, pretrained, monkeypatch):
    path = zoo.download("tiny-convnet.synthetic")
    Path(os.path.realpath(path)).write_bytes(b"garbage")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CorruptWeightsError, match="cannot be fetched again"):
        zoo.load("tiny-convnet", pretrained=True)


def test_a_file_that_does_not_match_the_pinned_sha256_is_never_loaded(local_hub, pretrained):
    local_hub.tamper(REPO, "model.safetensors", _weights_bytes(3))
    with pytest.raises(CorruptWeightsError, match="differs from the one this model's plugin pinned"):
        zoo.load("tiny-convnet", pretrained=True)


def test_unknown_tag_and_missing_weights(local_hub, pretrained):
    with pytest.raises(UnknownNameError, match="has weights tags"):
        zoo.load("tiny-convnet.imagenet", pretrained=True)
    zoo.register_plugin(SpecPlugin(tiny_spec(name="tiny-bare")), name="bare")
    with pytest.raises(UnknownNameError, match="no pretrained weights"):
        zoo.load("tiny-bare", pretrained=True)


def test_publish_then_load_by_hub_uri_and_revision(local_hub, fresh_registry, tmp_path):
    zoo.register_plugin(SpecPlugin(tiny_spec()), name="tiny")
    first = zoo.load("tiny-convnet").eval()
    uri = zoo.publish(zoo.save(first, tmp_path / "first"), repo_id="me/tiny")
    second = zoo.load("tiny-convnet").eval()
    latest = zoo.publish(zoo.save(second, tmp_path / "second"), repo_id="me/tiny")
    assert uri.startswith("hf://me/tiny@") and uri != latest
    assert torch.equal(zoo.load(uri).head.weight, first.head.weight)
    assert torch.equal(zoo.load("hf://me/tiny").head.weight, second.head.weight)
    card = local_hub.repos["me/tiny"].resolve("main").files["README.md"].decode()
    assert "library_name: zoo" in card


def test_publish_refuses_a_broken_folder(local_hub, fresh_registry, tmp_path):
    zoo.register_plugin(SpecPlugin(tiny_spec()), name="tiny")
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    (folder / "model.safetensors").write_bytes(b"broken")
    with pytest.raises(CorruptWeightsError):
        zoo.publish(folder, repo_id="me/broken")
    assert "me/broken" not in local_hub.repos


def test_a_hub_repo_with_only_a_pickle_is_refused(local_hub, fresh_registry):
    zoo.register_plugin(SpecPlugin(tiny_spec()), name="tiny")
    buffer = io.BytesIO()
    torch.save(build_tiny_convnet().state_dict(), buffer)
    config = b'{"zoo_model": "tiny-convnet", "config": {}}'
    local_hub.commit("me/pickled", {"config.json": config, "pytorch_model.bin": buffer.getvalue()})
    with pytest.raises(UnsafeWeightsError, match="safetensors only"):
        zoo.load("hf://me/pickled")


def test_missing_repo_and_revision_are_hub_errors(local_hub, fresh_registry):
    with pytest.raises(HubError, match="not found"):
        zoo.load("hf://me/nothing-here")
    local_hub.commit("me/exists", {"config.json": b"{}"})
    with pytest.raises(HubError, match="revision not found"):
        zoo.load("hf://me/exists@v9")


def test_converter_reads_an_authors_checkpoint_weights_only(local_hub, fresh_registry):
    state = build_tiny_convnet().state_dict()
    authors = {"module." + k: v for k, v in state.items()}
    buffer = io.BytesIO()
    torch.save({"model": authors, "epoch": 3}, buffer)
    revision = local_hub.commit("authors/tiny", {"ckpt.pth": buffer.getvalue()})
    weights = WeightsSpec(tag="authors", repo_id="authors/tiny", revision=revision, filename="ckpt.pth",
                          sha256=hashlib.sha256(buffer.getvalue()).hexdigest(),
                          converter="test_hub:strip_module_prefix")
    zoo.register_plugin(SpecPlugin(tiny_spec(weights=(weights,))), name="tiny")
    model = zoo.load("tiny-convnet.authors", pretrained=True)
    assert torch.equal(model.head.weight, state["head.weight"])


def strip_module_prefix(checkpoint):
    return {k.removeprefix("module."): v for k, v in checkpoint["model"].items()}


def _cache_files_claiming(cache: Path, sha256: str) -> list[Path]:
    """Every cache entry named after ``sha256`` or linking to such a blob, whatever bytes it holds."""
    found = []
    for path in cache.rglob("*"):
        target = Path(os.path.realpath(path))
        if (path.name == sha256 or target.name == sha256) and path.exists():
            found.append(path)
    return found


def test_a_tampered_download_leaves_nothing_in_the_cache_that_claims_the_good_file(local_hub, pretrained):
    data, weights = pretrained
    local_hub.tamper(REPO, "model.safetensors", _weights_bytes(3))
    with pytest.raises(CorruptWeightsError):
        zoo.load("tiny-convnet", pretrained=True)
    cache = Path(os.environ["HF_HUB_CACHE"])
    assert not _cache_files_claiming(cache, weights.sha256)
    snapshot = cache / "models--zoo-test--tiny-convnet" / "snapshots" / weights.revision / "model.safetensors"
    assert not snapshot.exists()
    for path in cache.rglob("*"):  # nothing left holds the tampered bytes under any name
        assert not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != hashlib.sha256(
            _weights_bytes(3)).hexdigest()
    # the mirror is repaired: the next load fetches the good bytes and keeps them
    local_hub.tamper(REPO, "model.safetensors", None)
    model = zoo.load("tiny-convnet", pretrained=True)
    assert torch.equal(model.head.weight, _expected_state(data)["head.weight"])
    claiming = _cache_files_claiming(cache, weights.sha256)
    assert claiming and all(Path(os.path.realpath(p)).read_bytes() == data for p in claiming)


def test_a_tampered_hub_repo_is_evicted_too(local_hub, fresh_registry, tmp_path):
    zoo.register_plugin(SpecPlugin(tiny_spec()), name="tiny")
    uri = zoo.publish(zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved"), repo_id="me/tiny")
    local_hub.tamper("me/tiny", "model.safetensors", _weights_bytes(3))
    with pytest.raises(CorruptWeightsError, match="sha256"):
        zoo.load(uri)
    snapshots = Path(os.environ["HF_HUB_CACHE"]) / "models--me--tiny" / "snapshots"
    assert not list(snapshots.rglob("model.safetensors"))
