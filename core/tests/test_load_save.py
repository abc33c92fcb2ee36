import json

import pytest
import torch
from safetensors.torch import save_file
from zoo_core_fixtures import SpecPlugin, tiny_spec

import zoo
from zoo.errors import ConfigError, CorruptWeightsError, InputShapeError, StateDictMismatchError, UnsafeWeightsError


@pytest.fixture
def tiny(fresh_registry):
    zoo.register_plugin(SpecPlugin(tiny_spec()), name="tiny")


def test_build_and_load_random_init_use_the_default_config_and_overrides(tiny):
    model = zoo.load("tiny-convnet")
    assert model.training and model.zoo_name == "tiny-convnet"
    assert sum(p.numel() for p in model.parameters()) == tiny_spec().num_params
    wide = zoo.load("tiny-convnet", num_classes=7)
    assert wide.head.out_features == 7 and wide.zoo_config["num_classes"] == 7
    with pytest.raises(ConfigError, match="bad config"):
        zoo.load("tiny-convnet", no_such_option=1)


def test_save_then_load_a_folder_is_bit_exact(tiny, tmp_path):
    model = zoo.load("tiny-convnet").eval()
    folder = zoo.save(model, tmp_path / "saved")
    assert {p.name for p in folder.iterdir()} == {"config.json", "model.safetensors", "README.md"}
    saved = json.loads((folder / "config.json").read_text())
    assert saved["zoo_model"] == "tiny-convnet" and saved["config"]["width"] == 8
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: zoo\nlicense: mit") and "arXiv:0000.00000" in card
    loaded = zoo.load(str(folder))
    assert not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(model(x), loaded(x))


def test_loading_builds_on_meta_and_adopts_the_file_tensors(tiny, tmp_path, monkeypatch):
    model = zoo.load("tiny-convnet")
    folder = zoo.save(model, tmp_path / "saved")
    calls = []
    original = torch.nn.init.kaiming_uniform_
    monkeypatch.setattr(torch.nn.init, "kaiming_uniform_", lambda tensor, *a, **k: calls.append(tensor.device)
                        or original(tensor, *a, **k))
    zoo.load(str(folder))
    assert calls and all(device.type == "meta" for device in calls)


def test_a_mismatched_state_dict_names_the_keys(tiny, tmp_path):
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    state = {k: v for k, v in zoo.load("tiny-convnet", width=4).state_dict().items() if not k.startswith("head")}
    state["extra.weight"] = torch.zeros(1)
    save_file(state, str(folder / "model.safetensors"))
    config = json.loads((folder / "config.json").read_text())
    config.pop("weights_sha256")
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(StateDictMismatchError) as caught:
        zoo.load(str(folder))
    message = str(caught.value)
    assert "missing (head.bias, head.weight)" in message
    assert "unexpected (extra.weight)" in message
    assert "features.0.weight: model [8, 3, 3, 3] vs file [4, 3, 3, 3]" in message


def test_a_changed_weights_file_is_detected(tiny, tmp_path):
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (folder / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CorruptWeightsError, match="does not match the sha256"):
        zoo.load(str(folder))


def test_a_truncated_file_is_a_clear_error(tiny, tmp_path):
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    (folder / "model.safetensors").write_bytes(b"\x10\x00\x00")
    config = json.loads((folder / "config.json").read_text())
    config.pop("weights_sha256")
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CorruptWeightsError, match="not a readable safetensors file"):
        zoo.load(str(folder))


def test_a_pickled_checkpoint_is_refused_and_never_unpickled(tiny, tmp_path):
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "executed"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"state": Exploit()}, folder / "pytorch_model.bin")
    with pytest.raises(UnsafeWeightsError, match="pytorch_model.bin"):
        zoo.load(str(folder))
    assert not marker.exists()


def test_config_overrides_are_refused_for_saved_models(tiny, tmp_path):
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    with pytest.raises(ConfigError, match="fixed by its weights"):
        zoo.load(str(folder), num_classes=3)


def test_not_a_zoo_folder(tiny, tmp_path):
    with pytest.raises(ConfigError, match="no such directory"):
        zoo.load(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json"):
        zoo.load(str(tmp_path / "empty"))


def test_wrong_input_shape_is_a_zoo_error(tiny):
    model = zoo.load("tiny-convnet")
    with pytest.raises(InputShapeError, match=r"tiny-convnet: input must have shape \[B, C=3, H, W\]"):
        model(torch.randn(2, 1, 8, 8))
    with pytest.raises(InputShapeError, match="4 dimensions"):
        model(torch.randn(3, 8, 8))


def test_save_needs_a_zoo_model_or_a_name():
    with pytest.raises(ConfigError, match="pass name= and config="):
        zoo.save(torch.nn.Linear(2, 2), "/tmp/never-written")


def _misaligned_copy(state_dict, offset=40):
    """Every tensor copied into one byte buffer at ``offset`` bytes past a 64-byte boundary, as a
    memory-mapped safetensors file hands them out."""
    sizes = [t.numel() * t.element_size() for t in state_dict.values()]
    slot = 64 * (max(sizes) // 64 + 2)
    buffer = torch.empty(slot * len(sizes) + 64, dtype=torch.uint8)
    start = (-buffer.data_ptr()) % 64 + offset
    out = {}
    for index, (key, tensor) in enumerate(state_dict.items()):
        begin = start + index * slot
        view = buffer[begin:begin + sizes[index]].view(tensor.dtype).view(tensor.shape)
        view.copy_(tensor)
        out[key] = view
    return out


def test_weights_at_unaligned_addresses_are_adopted_aligned(tiny):
    """oneDNN/MKL choose kernels by the weights' alignment: the same file adopted where the memory
    map happens to put it gave outputs 2.4e-6 apart on some CPUs. Whatever the addresses of the
    tensors handed in, the loaded model's tensors are fresh, 64-byte aligned and contiguous, on
    every machine (the property, not this CPU's kernels, is what is asserted)."""
    from zoo.building import build_with_weights, merge_config
    from zoo.registry import get_registry

    model = zoo.load("tiny-convnet").eval()
    unaligned = _misaligned_copy(model.state_dict())
    assert all(t.data_ptr() % 64 == 40 for t in unaligned.values())
    unaligned["head.weight"] = unaligned["head.weight"].t().contiguous().t()  # a converter's transposed view
    spec = get_registry().model("tiny-convnet")
    loaded = build_with_weights(spec, merge_config(spec), unaligned, source="test")
    for key, tensor in loaded.state_dict().items():
        assert tensor.data_ptr() % 64 == 0 and tensor.is_contiguous(), key
        assert torch.equal(tensor, model.state_dict()[key]), key
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(model(x), loaded(x))


def test_a_safetensors_file_is_read_into_aligned_memory(tiny, tmp_path):
    from safetensors.torch import load_file

    from zoo.serialization import read_safetensors

    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    mapped = load_file(str(folder / "model.safetensors"))
    read = read_safetensors(folder / "model.safetensors")
    assert read.keys() == mapped.keys()
    for key, tensor in read.items():
        assert tensor.data_ptr() % 64 == 0 and tensor.dtype == mapped[key].dtype and torch.equal(tensor, mapped[key])


def test_a_bare_name_never_resolves_to_a_folder(tiny, tmp_path, monkeypatch):
    from zoo.errors import UnknownNameError

    monkeypatch.chdir(tmp_path)
    zoo.save(zoo.load("tiny-convnet"), tmp_path / "tiny-convnet")
    (tmp_path / "mine").mkdir()
    assert zoo.load("tiny-convnet").training  # the registry model, not the folder beside it
    assert not zoo.load("./tiny-convnet").training  # the folder: weights, eval mode
    assert not zoo.load(f"file://{tmp_path}/tiny-convnet").training
    with pytest.raises(UnknownNameError, match="load the folder as './mine'"):
        zoo.load("mine")
    assert zoo.info("./tiny-convnet")["saved"]["zoo_model"] == "tiny-convnet"


@pytest.mark.parametrize(("text", "kind"), [
    ("gcn", "registry"), ("edge-3dsnn.modelnet40", "registry"), ("./gcn", "folder"), ("/abs/x", "folder"),
    ("~/x", "folder"), ("out/x", "folder"), ("file:///tmp/x", "folder"), ("hf://org/repo@abc", "hub"),
])
def test_references_are_classified_by_their_spelling(text, kind):
    from zoo.references import parse_reference

    assert parse_reference(text).kind == kind
