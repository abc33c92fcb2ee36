"""What a new user hit (issue 18, items 3-11): raw tracebacks where a zoo.errors message belongs,
and problems that stayed silent."""

import json
import socket
import warnings

import pytest
from zoo_core_fixtures import RaisingPlugin, SpecPlugin, tiny_spec

import zoo
from zoo.cli import main
from zoo.errors import HubError


@pytest.fixture
def tiny(fresh_registry, monkeypatch):
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "none")
    zoo.register_plugin(SpecPlugin(tiny_spec(), tiny_spec(name="tiny-segnet", task="segmentation")), name="tiny")


@pytest.fixture
def unreachable_hub(monkeypatch, tmp_path):
    """HF_ENDPOINT on a loopback port nothing listens on: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "zoo-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return f"http://127.0.0.1:{port}"


# -- 3: publish to an unreachable Hub ---------------------------------------------------------

def test_publish_to_an_unreachable_hub_is_a_hub_error(tiny, unreachable_hub, tmp_path, capsys):
    folder = zoo.save(zoo.load("tiny-convnet"), tmp_path / "saved")
    with pytest.raises(HubError, match="could not reach " + unreachable_hub):
        zoo.publish(folder, repo_id="me/x")
    assert main(["publish", str(folder), "--repo", "me/x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: publishing to me/x failed") and "Traceback" not in err
    assert len(err.splitlines()) == 1


# -- 4: matplotlib is an extra ----------------------------------------------------------------

def test_pictures_without_matplotlib_name_the_extra(tmp_path, monkeypatch):
    import sys

    import torch

    from zoo.errors import MissingDependencyError
    from zoo.explainers import Explanation
    from zoo.explainers.cli import read_input

    image = tmp_path / "x.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` meets when it is absent
    explanation = Explanation(maps=torch.rand(1, 4, 4), method="grad-cam")
    with pytest.raises(MissingDependencyError, match=r"pip install 'zoo-core\[explain\]'"):
        explanation.save(tmp_path / "cam.png")
    with pytest.raises(ImportError, match="explain"):
        explanation.overlay()
    with pytest.raises(MissingDependencyError, match="reading the image x.png"):
        read_input(image, {})


def test_saved_pictures_have_a_colour_bar(tmp_path):
    import torch
    from matplotlib import image

    from zoo.explainers import Explanation

    maps = torch.linspace(0, 1, 64).reshape(1, 8, 8).repeat(2, 1, 1)
    path = Explanation(maps=maps, method="grad-cam", targets=torch.tensor([1, 2])).save(tmp_path / "cam.png")
    picture = image.imread(path)
    height, width = picture.shape[:2]
    assert height >= 300 and width > 2 * height  # two large panels side by side, then the bar
    # the colour bar's right-hand strip holds jet's blue-to-red ramp top to bottom
    column = picture[:, int(width * 0.9):, :3]
    reds, blues = column[..., 0] - column[..., 2], column[..., 2] - column[..., 0]
    assert (reds > 0.5).any() and (blues > 0.5).any()


# -- 5: a device this machine does not have ---------------------------------------------------

def test_a_device_this_torch_cannot_use_is_a_device_error(tiny, monkeypatch):
    import torch

    from zoo.errors import DeviceError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only machine, wherever this runs
    with pytest.raises(DeviceError, match="'cuda' is not available.*Load on 'cpu'"):
        zoo.load("tiny-convnet", device="cuda")
    with pytest.raises(DeviceError, match="not a torch device"):
        zoo.load("tiny-convnet", device="gpu0")
    assert next(zoo.load("tiny-convnet", device="cpu").parameters()).device.type == "cpu"


# -- 8: broken plugins and unknown plugin names are not silent --------------------------------

def test_list_with_a_broken_plugin_hints_and_exits_non_zero(tiny, capsys):
    assert main(["list"]) == 0
    zoo.register_plugin(RaisingPlugin(), name="raising")
    assert main(["list"]) == 1
    captured = capsys.readouterr()
    assert "tiny-convnet" in captured.out
    assert "1 plugin(s) failed to load (raising)" in captured.err and "zoo plugins" in captured.err
    assert main(["list", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["name"] == "tiny-convnet"


def test_an_unknown_name_in_zoo_load_plugins_is_warned(fresh_registry, monkeypatch, capsys):
    from zoo.plugins import PluginWarning
    from zoo.registry import get_registry, reset_registry

    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "explainer,nonexistent")
    reset_registry()
    with pytest.warns(PluginWarning) as caught:
        get_registry()
    messages = sorted(str(w.message) for w in caught)
    assert "names 'explainer'" in messages[0] and "did you mean 'explainers'?" in messages[0]
    assert "names 'nonexistent', which no installed plugin provides" in messages[1]
    reset_registry()
    assert main(["list"]) == 0  # the warning is one line on stderr, without a source location
    err = capsys.readouterr().err
    assert "zoo: warning: ZOO_LOAD_PLUGINS names 'nonexistent'" in err and "plugins.py" not in err
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "none")
    reset_registry()
    with warnings.catch_warnings():  # "none" is the documented way to load no installed plugin
        warnings.simplefilter("error")
        get_registry()


# -- 9: zoo doctor and the Hub ----------------------------------------------------------------

def _pinned(local_hub, repo="zoo-test/tiny-convnet", on_hub=True):
    import hashlib

    data = b"weights"
    revision = local_hub.commit(repo, {"model.safetensors": data}) if on_hub else "a" * 40
    return zoo.WeightsSpec(tag="synthetic", repo_id=repo, revision=revision, sha256=hashlib.sha256(data).hexdigest())


def test_doctor_finds_the_local_hub_reachable(local_hub, fresh_registry, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "none")
    zoo.register_plugin(SpecPlugin(tiny_spec(weights=(_pinned(local_hub),))), name="tiny")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"Hub endpoint: {local_hub.url} reachable, serves zoo-test/tiny-convnet@" in out
    assert "no problems found" in out
    assert local_hub.count("HEAD", "/resolve/") == 1


def test_doctor_without_weights_still_finds_the_hub(local_hub, tiny, capsys):
    assert main(["doctor"]) == 0
    assert f"{local_hub.url} reachable (answered HTTP 404)" in capsys.readouterr().out


def test_doctor_reports_a_hub_missing_the_pinned_file(local_hub, fresh_registry, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "none")
    zoo.register_plugin(SpecPlugin(tiny_spec(weights=(_pinned(local_hub, "me/absent", on_hub=False),))),
                        name="tiny")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "reachable, but it does not serve me/absent@aaaaaaaaaaaa/model.safetensors (HTTP 404)" in out
    assert "1 problem(s) found" in out


def test_doctor_with_the_hub_unreachable_exits_non_zero(tiny, unreachable_hub, capsys):
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert f"Hub endpoint: {unreachable_hub} NOT reachable" in out and "HF_HUB_OFFLINE=1" in out
    assert "1 problem(s) found" in out and "no problems found" not in out


# -- 10: what zoo list / info / explain --help show -------------------------------------------

@pytest.fixture
def wide_tag(fresh_registry, monkeypatch):
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "none")
    wide = zoo.WeightsSpec(tag="wide", repo_id="me/wide", revision="b" * 40, sha256="c" * 64, config={"width": 64},
                           license="cc-by-4.0")
    same = zoo.WeightsSpec(tag="same", repo_id="me/same", revision="b" * 40, sha256="d" * 64, config={"width": 8})
    zoo.register_plugin(SpecPlugin(tiny_spec(weights=(wide, same), input_shape="[B, 3, H, W] float"),
                                   # never built: a tag with the default config is not counted again
                                   tiny_spec(name="tiny-unbuildable", builder="zoo_core_fixtures:no_such_builder",
                                             weights=(same,))), name="tiny")


def test_a_weights_tag_shows_its_own_configs_parameter_count(wide_tag, capsys):
    from zoo_core_fixtures import tiny_params

    assert main(["list", "--pretrained"]) == 0
    rows = {line.split()[0]: line.split()[3] for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows == {"tiny-convnet.wide": "2.2K", "tiny-convnet.same": "276", "tiny-unbuildable.same": "276"}
    assert main(["list", "--pretrained", "--json"]) == 0
    counts = {r["name"]: r["num_params"] for r in json.loads(capsys.readouterr().out)}
    assert counts["tiny-convnet.wide"] == tiny_params(width=64) == 2180
    assert main(["info", "tiny-convnet.wide"]) == 0
    out = capsys.readouterr().out
    assert "params: 276 (default config)" in out
    assert 'weights tiny-convnet.wide (default): me/wide@bbbbbbbbbbbb params=2,180 config={"width": 64}' in out
    assert "input: [B, 3, H, W] float" in out and "license: mit" in out
    assert zoo.info("tiny-convnet")["weights"][0]["num_params"] == 2180


def test_small_counts_are_not_zero_thousands():
    from zoo.cli import _human

    assert [_human(n) for n in (1, 999, 1000, 25_218, 4_900_681)] == ["1", "999", "1.0K", "25.2K", "4.90M"]


def test_explain_help_has_no_rst_markup(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["explain", "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "``" not in out and "--method" in out and "zoo-core[explain]" in out
    assert "an image (.png, .jpg/.jpeg" in out  # the docstring's paragraphs are kept as written


# -- 11: zoo download draws a progress bar on a terminal --------------------------------------

DOWNLOAD = """
import sys, zoo
from zoo.cli import main
weights = zoo.WeightsSpec(tag="big", repo_id="me/big", revision=sys.argv[1], sha256=sys.argv[2])
spec = zoo.ModelSpec(name="big-net", domain="testing", task="classification", paper=zoo.Paper("A big file"),
                     builder="nowhere:build", example_input="nowhere:example", num_params=1, weights=(weights,))
zoo.register_plugin(type("P", (), {"zoo_models": zoo.hookimpl(lambda self: [spec])})(), name="big")
sys.exit(main(["download", "big-net"]))
"""


def _download_in(local_hub, terminal: bool) -> tuple[int, bytes]:
    """Run `zoo download` in a fresh interpreter, its output on a pseudo-terminal or a pipe."""
    import hashlib
    import os
    import pty
    import subprocess
    import sys

    data = bytes(range(256)) * (6_000_000 // 256)  # 6 MB, as the file
    revision = local_hub.commit("me/big", {"model.safetensors": data})
    argv = [sys.executable, "-c", DOWNLOAD, revision, hashlib.sha256(data).hexdigest()]
    env = dict(os.environ, ZOO_LOAD_PLUGINS="none")
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    if not terminal:
        done = subprocess.run(argv, env=env, capture_output=True, timeout=60)
        return done.returncode, done.stderr
    pid, fd = pty.fork()  # a terminal nobody sized: it reports 0 columns, as the did
    if pid == 0:
        os.execve(sys.executable, argv, env)
    output = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output


def test_download_draws_a_labelled_bar_on_a_terminal(local_hub):
    code, output = _download_in(local_hub, terminal=True)
    assert code == 0
    text = output.decode()
    assert "big-net.big: 100%|" in text and "6.00M/6.00M" in text
    assert not text.startswith("\r\n")  # not the blank first line of a zero-width bar


def test_download_draws_no_bar_into_a_pipe(local_hub):
    code, stderr = _download_in(local_hub, terminal=False)
    assert code == 0 and b"%|" not in stderr
