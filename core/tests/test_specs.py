import pytest
from zoo_core_fixtures import tiny_spec

from zoo import FeatureLevel, WeightsSpec
from zoo.errors import SpecError, UnknownNameError

SHA = "a" * 64
REV = "b" * 40


@pytest.mark.parametrize("name", ["Tiny", "tiny convnet", "tiny.net", "", "-tiny"])
def test_model_names_must_be_kebab_case(name):
    with pytest.raises(SpecError, match="kebab-case"):
        tiny_spec(name=name)


@pytest.mark.parametrize("builder", ["zoo_core_fixtures.build", "build_tiny_convnet", "a:b:c", ""])
def test_builder_must_be_a_module_function_reference(builder):
    with pytest.raises(SpecError, match="module:function"):
        tiny_spec(builder=builder)


def test_weights_must_pin_a_commit_and_a_sha256():
    with pytest.raises(SpecError, match="40-hex commit"):
        WeightsSpec(tag="x", repo_id="org/repo", revision="main", sha256=SHA)
    with pytest.raises(SpecError, match="sha256"):
        WeightsSpec(tag="x", repo_id="org/repo", revision=REV, sha256="abc")
    with pytest.raises(SpecError, match="not safetensors"):
        WeightsSpec(tag="x", repo_id="org/repo", revision=REV, sha256=SHA, filename="model.pth")
    converted = WeightsSpec(tag="x", repo_id="org/repo", revision=REV, sha256=SHA, filename="model.pth",
                            converter="zoo_core_fixtures:build_tiny_convnet")
    assert converted.converter


def test_weights_tags_are_unique_and_default_is_first_or_marked():
    first = WeightsSpec(tag="a", repo_id="org/repo", revision=REV, sha256=SHA)
    second = WeightsSpec(tag="b", repo_id="org/repo", revision=REV, sha256=SHA, default=True)
    assert tiny_spec(weights=(first,)).default_weights is first
    assert tiny_spec(weights=(first, second)).default_weights is second
    with pytest.raises(SpecError, match="duplicate"):
        tiny_spec(weights=(first, first))
    with pytest.raises(UnknownNameError, match="weights tags"):
        tiny_spec(weights=(first,)).get_weights("c")


def test_num_params_must_be_positive():
    with pytest.raises(SpecError, match="num_params"):
        tiny_spec(num_params=0)


def test_feature_levels_are_checked():
    level = FeatureLevel("stages.0", 64, 4)
    assert tiny_spec(features=(level,)).features == (level,)
    with pytest.raises(SpecError, match="stride"):
        FeatureLevel("stages.0", 64, 0)
    with pytest.raises(SpecError, match="prefix_tokens"):
        FeatureLevel("blocks.3", 192, 16, prefix_tokens=-1)
    with pytest.raises(SpecError, match="features"):
        tiny_spec(features=[level])
