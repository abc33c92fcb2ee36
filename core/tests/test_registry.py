import subprocess
import sys
import textwrap

import pytest
from zoo_core_fixtures import MalformedPlugin, RaisingPlugin, SpecPlugin, tiny_spec

import zoo
from zoo.errors import NameClashError, PluginError, UnknownNameError
from zoo.registry import get_registry


def test_run_time_plugin_is_listed_and_filtered(fresh_registry):
    zoo.register_plugin(SpecPlugin(tiny_spec(), tiny_spec(name="tiny-segnet", task="segmentation")), name="tiny")
    assert {"tiny-convnet", "tiny-segnet"} <= set(zoo.list_models())
    assert zoo.list_models("tiny-*", task="segmentation") == ["tiny-segnet"]
    assert zoo.list_models("*conv*", domain="testing") == ["tiny-convnet"]
    assert zoo.list_models(domain="no-such-domain") == []
    assert zoo.list_models(plugin="tiny") == ["tiny-convnet", "tiny-segnet"]
    details = zoo.info("tiny-convnet")
    assert details["plugin"] == "tiny" and details["num_params"] == tiny_spec().num_params
    assert details["paper"]["arxiv"] == "0000.00000"
    zoo.unregister_plugin("tiny")
    assert "tiny-convnet" not in zoo.list_models()


def test_unknown_name_suggests_close_matches(fresh_registry):
    zoo.register_plugin(SpecPlugin(tiny_spec()), name="tiny")
    with pytest.raises(UnknownNameError) as caught:
        zoo.info("tiny-convnt")
    assert "did you mean 'tiny-convnet'" in str(caught.value)
    assert caught.value.suggestions[0] == "tiny-convnet"


def test_a_name_clash_names_both_plugins_and_spares_the_rest(fresh_registry):
    zoo.register_plugin(SpecPlugin(tiny_spec(), tiny_spec(name="tiny-other")), name="first")
    zoo.register_plugin(SpecPlugin(tiny_spec()), name="second")
    with pytest.raises(NameClashError, match="'first', 'second'"):
        zoo.load("tiny-convnet")
    assert "tiny-convnet" not in zoo.list_models()
    assert "tiny-other" in zoo.list_models()
    report = {p["name"]: p for p in zoo.plugin_report()}
    assert report["first"]["status"] == report["second"]["status"] == "failed"
    assert "tiny-convnet" in report["second"]["error"]


def test_broken_hooks_are_reported_and_skipped(fresh_registry):
    zoo.register_plugin(RaisingPlugin(), name="raising")
    zoo.register_plugin(MalformedPlugin(), name="malformed")
    zoo.register_plugin(SpecPlugin(tiny_spec()), name="good")
    assert "tiny-convnet" in zoo.list_models()
    report = {p["name"]: p for p in zoo.plugin_report()}
    assert report["raising"]["status"] == "failed" and "this plugin's hook is broken" in report["raising"]["error"]
    assert report["malformed"]["status"] == "failed" and "expected zoo.ModelSpec" in report["malformed"]["error"]
    assert report["good"]["status"] == "ok" and report["good"]["models"] == ["tiny-convnet"]


def test_strict_mode_turns_a_broken_plugin_into_an_error(fresh_registry, monkeypatch):
    monkeypatch.setenv("ZOO_STRICT_PLUGINS", "1")
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "none")  # only run-time plugins, whatever else is installed
    zoo.register_plugin(RaisingPlugin(), name="raising")
    with pytest.raises(PluginError, match="raising"):
        zoo.list_models()


def _install_fake_distribution(root, name, module_source, entry_name):
    """An installed distribution with a zoo.plugins entry point, as pip would leave it."""
    package = root / f"{name}_pkg.py"
    package.write_text(textwrap.dedent(module_source))
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[zoo.plugins]\n{entry_name} = {name}_pkg\n")


def _run(code, root, **env):
    import os

    environment = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=environment, check=False)


GOOD_PLUGIN = """
    import zoo
    @zoo.hookimpl
    def zoo_models():
        return [zoo.ModelSpec(name="fake-good-net", domain="d", task="t", paper=zoo.Paper("p"),
                              builder="x.y:z", example_input="x.y:z", num_params=1)]
"""


def test_entry_point_plugins_import_errors_allow_and_block_lists(tmp_path):
    _install_fake_distribution(tmp_path, "zoo_fake_good", GOOD_PLUGIN, "fakegood")
    _install_fake_distribution(tmp_path, "zoo_fake_broken", "import no_such_module_anywhere\n", "fakebroken")
    listing = "import zoo, json; print(json.dumps([zoo.list_models(), zoo.plugin_report()]))"

    result = _run(listing, tmp_path)
    assert result.returncode == 0, result.stderr
    import json

    models, report = json.loads(result.stdout)
    assert "fake-good-net" in models
    plugins = {p["name"]: p for p in report}
    assert plugins["fakebroken"]["status"] == "failed"
    assert "no_such_module_anywhere" in plugins["fakebroken"]["error"]
    assert plugins["fakegood"]["distribution"] == "zoo_fake_good" and plugins["fakegood"]["version"] == "1.0"

    models, report = json.loads(_run(listing, tmp_path, ZOO_DISABLE_PLUGINS="fakegood").stdout)
    assert "fake-good-net" not in models
    assert {p["name"]: p["status"] for p in report}["fakegood"] == "disabled"

    models, report = json.loads(_run(listing, tmp_path, ZOO_LOAD_PLUGINS="fakegood").stdout)
    statuses = {p["name"]: p["status"] for p in report}
    assert "fake-good-net" in models and statuses["fakebroken"] == "disabled"

    strict = _run(listing, tmp_path, ZOO_STRICT_PLUGINS="1")
    assert strict.returncode != 0 and "PluginError" in strict.stderr and "fakebroken" in strict.stderr


def test_listing_and_info_do_not_import_torch(tmp_path):
    _install_fake_distribution(tmp_path, "zoo_fake_good", GOOD_PLUGIN, "fakegood")
    result = _run("""
        import sys, zoo
        zoo.list_models(); zoo.info("fake-good-net"); zoo.list_models(pretrained=True)
        from zoo.cli import main
        main(["list"]); main(["info", "fake-good-net"])
        print("TORCH" if "torch" in sys.modules else "NO-TORCH")
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("NO-TORCH")


def test_registry_is_cached_per_process(fresh_registry):
    assert get_registry() is get_registry()


def test_hooks_run_through_pluggys_caller_so_tracing_sees_each_plugin():
    import os
    import subprocess
    import sys

    code = "import zoo; print(len(zoo.list_models()))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=dict(os.environ, ZOO_TRACE_HOOKS="1", ZOO_LOAD_PLUGINS="medical"))
    lines = result.stderr.splitlines()
    index = lines.index("zoo: hook zoo_models of medical")
    assert lines[index + 1].startswith("zoo:   returned 12: scse-unet-2d, scse-unet-3d,")
    assert "zoo: hook zoo_explainers of explainers" in lines
