"""A third-party plugin, installed by pip, used end to end through the public API only."""

import os
import subprocess
import sys
import textwrap


def run_with_plugin(site, code, **env):
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]), **env)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env=environment, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_example_plugin_registers_a_model_a_dataset_and_an_explainer(example_plugin_site, tmp_path):
    out = run_with_plugin(example_plugin_site, f"""
        import gzip, struct
        import numpy as np, torch, zoo
        from zoo.errors import DatasetNotFoundError, InputShapeError
        from zoo.testing import check_dataset_spec, check_explainer_spec, check_model, model_specs

        assert zoo.list_models("example-*") == ["example-lenet5"], zoo.list_models()
        assert "example-mnist" in zoo.list_datasets() and "occlusion" in zoo.list_explainers()
        [spec] = model_specs(plugin="example")
        check_model(spec)
        check_dataset_spec(zoo.registry.get_registry().dataset("example-mnist"))
        check_explainer_spec(zoo.registry.get_registry().explainer("occlusion"))

        root = r"{tmp_path}"
        images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
        with gzip.open(root + "/train-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\\0\\0\\x08\\x03" + struct.pack(">III", 5, 28, 28) + images.tobytes())
        with open(root + "/train-labels-idx1-ubyte", "wb") as f:
            f.write(b"\\0\\0\\x08\\x01" + struct.pack(">I", 5) + bytes([3, 1, 4, 1, 5]))
        data = zoo.dataset("example-mnist", root=root, split="train")
        image, label = data[2]
        assert len(data) == 5 and label == 4 and tuple(image.shape) == (1, 32, 32)
        assert torch.equal((image[0, 2:30, 2:30] * 255).round().byte(), torch.from_numpy(images[2]))
        try:
            zoo.dataset("example-mnist", root=root, split="test")
        except DatasetNotFoundError as error:
            assert "yann.lecun.com" in str(error)
        else:
            raise AssertionError("a missing split was accepted")

        model = zoo.load("example-lenet5").eval()
        x = torch.stack([data[i][0] for i in range(3)])
        occlusion = zoo.explain(model, x, method="occlusion")
        cam = zoo.explain(model, x)  # Grad-CAM at the spec's default layer
        assert occlusion.maps.shape == cam.maps.shape == (3, 32, 32)
        assert 0 <= float(cam.maps.min()) and float(cam.maps.max()) <= 1
        try:
            model(torch.zeros(1, 1, 28, 28))
        except InputShapeError as error:
            print("rejected:", error)
        print("OK")
    """)
    assert "rejected: example-lenet5: input must have shape [B, C=1, 32, 32]" in out and out.endswith("OK\n")


def test_the_example_plugin_is_listed_by_the_cli_without_torch(example_plugin_site):
    out = run_with_plugin(example_plugin_site, """
        import sys
        from zoo.cli import main
        main(["list", "example-*"]); main(["plugins"])
        print("torch imported" if "torch" in sys.modules else "no torch")
    """)
    assert "example-lenet5" in out and "zoo-example-plugin" in out and out.endswith("no torch\n")
