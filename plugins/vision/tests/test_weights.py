"""The pinned ImageNet weights: their facts, and the whole download -> verify -> convert -> load path
through the local Hub with files of exactly timm's keys and shapes."""

from __future__ import annotations

import dataclasses
import hashlib
import io

import pytest
import torch

import zoo
from zoo.errors import CorruptWeightsError, UnsafeWeightsError
from zoo_vision.models import convit_specs, pvt_v2_specs


class _Plugin:
    def __init__(self, spec):
        self.spec = spec

    @zoo.hookimpl
    def zoo_models(self):
        return [self.spec]


@pytest.fixture
def register():
    names = []

    def add(spec):
        names.append(zoo.register_plugin(_Plugin(spec), name=f"test-{spec.name}"))

    yield add
    for name in names:
        zoo.unregister_plugin(name)


def _serve(hub, spec, data: bytes, name: str):
    """``spec`` renamed, its weights pinned to a local-Hub commit of ``data`` (all else as registered)."""
    weights = spec.weights[0]
    commit = hub.commit(weights.repo_id, {weights.filename: data})
    pinned = dataclasses.replace(weights, revision=commit, sha256=hashlib.sha256(data).hexdigest())
    return dataclasses.replace(spec, name=name, weights=(pinned,))


def test_the_pins_are_those_read_from_the_hub():
    b0 = zoo.info("pvt-v2-b0")["weights"][0]
    assert (b0["repo_id"], b0["revision"], b0["filename"]) == (
        "timm/pvt_v2_b0.in1k", "49dc8313e71a48d663725f72de23fcffffd09485", "model.safetensors")
    assert b0["sha256"] == "d0927f8c963fa7ae1ca6cd459449a076a954c561245ca6025103fceffd2df34c"
    assert b0["preprocessing"]["crop_pct"] == 0.9 and b0["license"] == "apache-2.0"
    ti = zoo.info("convit-ti")["weights"][0]
    assert (ti["repo_id"], ti["revision"], ti["filename"], ti["converted"]) == (
        "timm/convit_tiny.fb_in1k", "fc81905f258732e94e40076f0f80a109685996b9", "pytorch_model.bin", True)
    assert ti["sha256"] == "31bf3d57d91da954675df2d22841993a9c25805dd96acc9228459066dfda7de1"


def test_pvt_v2_b0_loads_timm_safetensors_through_the_hub(local_hub, register, timm, photo, exercised):
    from safetensors.torch import save

    torch.manual_seed(0)
    reference = exercised(timm.create_model("pvt_v2_b0")).eval()
    data = save({k: v.contiguous() for k, v in reference.state_dict().items()})
    spec = _serve(local_hub, pvt_v2_specs.MODELS[0], data, "pvt-v2-b0-hub-test")
    register(spec)

    model = zoo.load("pvt-v2-b0-hub-test", pretrained=True)
    assert model.zoo_weights == "in1k" and not model.training
    with torch.no_grad():
        assert (model(photo) - reference(photo)).abs().max().item() <= 1e-5
    assert local_hub.count("GET", "model.safetensors") == 1


def test_a_tampered_file_is_refused(local_hub, register, timm):
    from safetensors.torch import save

    reference = timm.create_model("pvt_v2_b0")
    data = save({k: v.contiguous() for k, v in reference.state_dict().items()})
    spec = _serve(local_hub, pvt_v2_specs.MODELS[0], data, "pvt-v2-b0-tamper-test")
    register(spec)
    local_hub.tamper(spec.weights[0].repo_id, "model.safetensors", data[:-4] + b"\0\0\0\0")
    with pytest.raises(CorruptWeightsError):
        zoo.load("pvt-v2-b0-tamper-test", pretrained=True)


def test_convit_ti_pickle_is_read_weights_only_and_converted(local_hub, register, timm, photo, exercised):
    torch.manual_seed(0)
    reference = exercised(timm.create_model("convit_tiny")).eval()
    buffer = io.BytesIO()
    torch.save(reference.state_dict(), buffer)
    spec = _serve(local_hub, convit_specs.MODELS[0], buffer.getvalue(), "convit-ti-hub-test")
    register(spec)

    model = zoo.load("convit-ti-hub-test", pretrained=True)
    with torch.no_grad():
        assert (model(photo) - reference(photo)).abs().max().item() <= 1e-5


class _Payload:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_a_pickle_with_code_is_never_unpickled(local_hub, register):
    buffer = io.BytesIO()
    torch.save({"cls_token": torch.zeros(1), "payload": _Payload()}, buffer)
    spec = _serve(local_hub, convit_specs.MODELS[0], buffer.getvalue(), "convit-ti-unsafe-test")
    register(spec)
    with pytest.raises(UnsafeWeightsError):
        zoo.load("convit-ti-unsafe-test", pretrained=True)
