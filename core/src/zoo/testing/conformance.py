"""The conformance kit: what every spec of a plugin must satisfy.

Run it from your plugin's tests::

    from zoo.testing import check_model, model_specs

    @pytest.mark.parametrize("spec", model_specs(plugin="medical"), ids=lambda s: s.name)
    def test_conformance(spec):
        check_model(spec)

Each check raises :class:`ConformanceError` saying which rule failed and why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from zoo.building import call_model
from zoo.errors import DatasetNotFoundError, ExplainError, InputShapeError, ZooError
from zoo.registry import get_registry
from zoo.specs import DatasetSpec, ExplainerSpec, ModelSpec, resolve


class ConformanceError(AssertionError):
    """A spec breaks a rule of the plugin contract."""


def model_specs(plugin: str | None = None) -> list[ModelSpec]:
    """The registered model specs, optionally only those of one plugin (its entry-point name)."""
    registry = get_registry()
    return [s for s in registry.models() if plugin is None or registry.plugin_of("model", s.name) == plugin]


def dataset_specs(plugin: str | None = None) -> list[DatasetSpec]:
    registry = get_registry()
    return [s for s in registry.datasets() if plugin is None or registry.plugin_of("dataset", s.name) == plugin]


def explainer_specs(plugin: str | None = None) -> list[ExplainerSpec]:
    registry = get_registry()
    return [s for s in registry.explainers() if plugin is None or registry.plugin_of("explainer", s.name) == plugin]


def _tensors(value) -> list:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for key in sorted(value) for t in _tensors(value[key])]
    return [t for t in (getattr(value, name, None) for name in ("logits", "out", "features")) if t is not None]


def drop_batch_dimension(inputs):
    """The example input with the first dimension of its first tensor removed."""
    import torch

    if isinstance(inputs, torch.Tensor):
        return inputs[0]
    if isinstance(inputs, tuple):
        index = next(i for i, v in enumerate(inputs) if isinstance(v, torch.Tensor))
        return inputs[:index] + (inputs[index][0],) + inputs[index + 1:]
    if isinstance(inputs, dict):
        key = next(k for k, v in inputs.items() if isinstance(v, torch.Tensor))
        return {**inputs, key: inputs[key][0]}
    raise ConformanceError(f"cannot derive a wrong-shaped input from {type(inputs).__name__}; declare bad_input")


def _fail(spec: ModelSpec, rule: str, detail: str) -> ConformanceError:
    return ConformanceError(f"model {spec.name!r} breaks '{rule}': {detail}")


def check_model(spec: ModelSpec, *, forward: bool = True, round_trip: bool = True) -> None:
    """Build, count, run, save/load bit-exactly and reject a wrong-shaped input."""
    import torch

    from zoo.building import instantiate, merge_config

    config = merge_config(spec)
    meta_model = instantiate(spec, config, meta=True)
    counted = sum(p.numel() for p in meta_model.parameters())
    if counted != spec.num_params:
        raise _fail(spec, "declared parameter count", f"the spec says {spec.num_params:,}, the model has {counted:,}")
    if spec.explain_layer is not None:
        from zoo.explainers.framework import find_layer

        try:  # the explainers' own lookup, so "decoder.-1" style paths are checked as they will be used
            find_layer(meta_model, spec.explain_layer)
        except ExplainError:
            raise _fail(spec, "explain_layer exists", f"no sub-module named {spec.explain_layer!r}") from None
    if spec.explain_reshape is not None:
        resolve(spec.explain_reshape)
    if not forward:
        return

    torch.manual_seed(0)
    model = instantiate(spec, config).eval()
    inputs = resolve(spec.example_input)(config)
    with torch.no_grad():
        output = call_model(model, inputs)
    outputs = _tensors(output)
    if not outputs:
        raise _fail(spec, "forward returns tensors", f"got {type(output).__name__}")
    if any(t.is_floating_point() and not torch.isfinite(t).all() for t in outputs):
        raise _fail(spec, "finite output", "the example input gives NaN or inf")

    bad = resolve(spec.bad_input)(config) if spec.bad_input else drop_batch_dimension(inputs)
    try:
        with torch.no_grad():
            call_model(model, bad)
    except InputShapeError:
        pass
    except Exception as error:
        raise _fail(spec, "wrong shape is a zoo.errors.InputShapeError",
                    f"a wrong-shaped input raised {type(error).__name__}: {error}") from error
    else:
        raise _fail(spec, "wrong shape is a zoo.errors.InputShapeError", "a wrong-shaped input was accepted")

    if round_trip:
        _check_round_trip(spec, model, inputs, outputs)


def _check_round_trip(spec: ModelSpec, model, inputs, outputs) -> None:
    import torch

    import zoo

    registered = get_registry().is_registered(spec)
    with tempfile.TemporaryDirectory() as folder:
        if registered:
            zoo.save(model, folder)
            loaded = zoo.load(folder)
        else:
            from safetensors.torch import save_file

            from zoo.building import build_with_weights
            from zoo.serialization import read_safetensors, state_dict_for_saving

            save_file(state_dict_for_saving(model), os.path.join(folder, "model.safetensors"))
            loaded = build_with_weights(spec, model.zoo_config, read_safetensors(Path(folder) / "model.safetensors"),
                                        source=folder)
    before, after = model.state_dict(), loaded.state_dict()
    if before.keys() != after.keys():
        raise _fail(spec, "save/load round trip", "the state dict keys changed")
    changed = [k for k in before if before[k].dtype != after[k].dtype or not torch.equal(before[k], after[k])]
    if changed:
        raise _fail(spec, "save/load round trip is bit-exact", f"tensors differ: {changed[:5]}")
    with torch.no_grad():
        reloaded = _tensors(call_model(loaded.eval(), inputs))
    if len(reloaded) != len(outputs) or not all(torch.equal(a, b) for a, b in zip(outputs, reloaded)):
        raise _fail(spec, "save/load round trip is bit-exact", "the reloaded model gives a different output")


def check_dataset_spec(spec: DatasetSpec) -> None:
    """The builder resolves, the spec says where to get the data, a missing root is a clear error."""
    import zoo

    if not callable(resolve(spec.builder)):
        raise ConformanceError(f"dataset {spec.name!r}: builder {spec.builder!r} is not callable")
    if not spec.layout.strip():
        raise ConformanceError(f"dataset {spec.name!r}: layout must describe the files expected under root")
    if get_registry().is_registered(spec):
        missing = Path(tempfile.gettempdir()) / "zoo-conformance-no-such-root" / spec.name
        try:
            zoo.dataset(spec.name, root=missing)
        except DatasetNotFoundError as error:
            if spec.layout not in str(error):
                raise ConformanceError(f"dataset {spec.name!r}: the missing-root error omits the layout") from None
        else:
            raise ConformanceError(f"dataset {spec.name!r}: a missing root did not raise DatasetNotFoundError")
        with tempfile.TemporaryDirectory() as empty:
            try:
                zoo.dataset(spec.name, root=empty)
            except ZooError:
                pass
            except Exception as error:
                raise ConformanceError(f"dataset {spec.name!r}: an empty root raised {type(error).__name__}: {error}; "
                                       "expected a zoo.errors error naming the expected files") from error
            else:
                raise ConformanceError(f"dataset {spec.name!r}: an empty root was accepted")


def check_explainer_spec(spec: ExplainerSpec) -> None:
    if not callable(resolve(spec.builder)):
        raise ConformanceError(f"explainer {spec.name!r}: builder {spec.builder!r} is not callable")


def check_plugin_is_light(plugin: str, forbidden: tuple[str, ...] = ("torch",)) -> None:
    """Listing with only ``plugin`` loaded imports none of ``forbidden`` (checked in a fresh process)."""
    code = (
        "import sys, zoo\n"
        "zoo.list_models(); zoo.list_datasets(); zoo.info(zoo.list_models()[0]) if zoo.list_models() else None\n"
        f"bad = [m for m in {forbidden!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    env = dict(os.environ, ZOO_LOAD_PLUGINS=plugin, ZOO_STRICT_PLUGINS="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise ConformanceError(f"plugin {plugin!r} fails to list in strict mode:\n{result.stderr}")
    if result.stdout.strip():
        raise ConformanceError(f"listing plugin {plugin!r} imports {result.stdout.strip()}: plugin.py must stay light")
