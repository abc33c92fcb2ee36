"""PuYun: the exact interface (channels, time embedding, grids) and the assumed architecture's counts."""

from datetime import datetime

import pytest
import torch

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_weather.blocks import LargeKernelAttention, sphere_pad
from zoo_weather.channels import CHANNELS, GRIDS, LEVELS, latitudes, longitudes, stage_of_step, time_embedding
from zoo_weather.models.puyun import build_puyun, example_input
from zoo_weather.models.puyun_specs import ARCHITECTURE, ASSUMED, NUM_PARAMS, VARIANTS


def tiny(grid="5.625", stage="short"):
    torch.manual_seed(0)
    return build_puyun(stage, grid, embed_dim=16, depth=1).eval()


def analytic_count(c: int, depth: int, p: int = 4, ratio: int = 4, channels: int = 69) -> int:
    """Parameters of the assumed architecture, summed by hand from its layers."""
    hidden = ratio * c
    van = (2 * 2 * c            # two BatchNorms
           + 2 * (c * c + c)    # attention 1×1 in / out
           + (25 * c + c) + (49 * c + c) + (c * c + c)  # LKA: DW5×5, DW7×7 d3, 1×1
           + (c * hidden + hidden) + (9 * hidden + hidden) + (hidden * c + c)  # MLP
           + 2 * c)             # layer scales
    return (2 * channels * p * p * c + c            # patch embedding of the two stacked states
            + (12 * c + c) + (c * c + c)            # time embedding MLP
            + (9 * c * c + c)                       # stride-2 down
            + depth * van
            + (4 * c * c + c)                       # transposed-conv up
            + (2 * c * c + c)                       # skip fusion
            + (c * channels * p * p + channels * p * p))  # head


def test_channel_order_is_the_authors():
    assert len(CHANNELS) == 69
    assert CHANNELS[:13] == tuple(f"z{level}" for level in LEVELS)
    assert LEVELS[0] == 50 and LEVELS[-1] == 1000 and list(LEVELS) == sorted(LEVELS)
    assert CHANNELS[13] == "t50" and CHANNELS[52] == "r50" and CHANNELS[64] == "r1000"
    assert CHANNELS[-4:] == ("t2m", "u10m", "v10m", "msl")


def test_time_embedding_matches_the_recipe_for_a_known_date():
    # 2018-01-01 06 UTC, step 0: valid times 00, 06, 12 UTC of 1 January (day of year 1).
    values = time_embedding(datetime(2018, 1, 1, 6), 0)
    import math

    expected = []
    for hour in (0, 6, 12):
        expected += [math.sin(1 / 366), math.sin(hour / 24), math.cos(1 / 366), math.cos(hour / 24)]
    assert values == pytest.approx(expected, abs=1e-12)
    # Step 4 of a forecast from 2018-12-31 18 UTC crosses into the new year: 12 UTC on 1 January,
    # then 18 UTC, then 00 UTC on 2 January.
    later = time_embedding(datetime(2018, 12, 31, 18), 4)
    assert later[0] == pytest.approx(math.sin(1 / 366)) and later[1] == pytest.approx(math.sin(12 / 24))
    assert later[8] == pytest.approx(math.sin(2 / 366)) and later[9] == pytest.approx(0.0)
    # The embedding of step i from init equals step 0 from init + 6h·i (what earth2studio computes).
    assert time_embedding(datetime(2018, 3, 1, 0), 7) == pytest.approx(time_embedding(datetime(2018, 3, 2, 18), 0))


def test_stage_switch_steps():
    assert [stage_of_step(i) for i in (0, 19, 20, 39, 40, 59, 100)] == \
        ["short", "short", "medium", "medium", "long", "long", "long"]


@pytest.mark.parametrize("stage", sorted(VARIANTS))
@pytest.mark.parametrize("grid", sorted(GRIDS, key=float))
def test_parameter_count_per_stage_and_grid(stage, grid):
    with torch.device("meta"):
        model = build_puyun(stage, grid)
    counted = sum(p.numel() for p in model.parameters())
    assert counted == NUM_PARAMS == analytic_count(ARCHITECTURE["embed_dim"], ARCHITECTURE["depth"])
    assert zoo.info(f"puyun-{stage}")["num_params"] == NUM_PARAMS


def test_every_assumed_hyper_parameter_is_listed_and_used():
    assert set(ARCHITECTURE) <= set(ASSUMED)
    assert all(reason for _, reason in ASSUMED.values())
    info = zoo.info("puyun-short")
    assert "approximate architecture" in info["description"] and info["paper"]["arxiv"] == "2409.02123"


def test_grids_and_the_721_row_paper_grid():
    assert latitudes("0.25")[0] == 90.0 and latitudes("0.25")[-1] == -90.0 and len(latitudes("0.25")) == 721
    assert longitudes("0.25")[-1] == 359.75 and len(longitudes("0.25")) == 1440
    assert latitudes("5.625")[0] == pytest.approx(87.1875) and len(latitudes("5.625")) == 32
    with torch.device("meta"):
        model = build_puyun("short", "0.25")
    # 721 rows are padded to 728 (a multiple of 2·patch) and cropped back after the head.
    assert (model.pad_north, model.pad_south) == (3, 4)
    x = torch.empty(1, 2, 69, 721, 1440, device="meta")
    temb = torch.empty(1, 12, device="meta")
    assert model(x, temb).shape == (1, 69, 721, 1440)


def test_untrained_model_is_persistence_and_output_depends_on_both_inputs():
    model = tiny()
    x, temb = example_input({"grid": "5.625"})
    with torch.no_grad():
        assert torch.equal(model(x, temb), x[:, 1])
        torch.nn.init.normal_(model.head.weight, std=0.02)
        base = model(x, temb)
        previous = x.clone()
        previous[:, 0] += 10 * model.std
        assert not torch.allclose(model(previous, temb), base)
        assert not torch.allclose(model(x, temb.flip(-1)), base)


def test_normalisation_lives_in_the_model_and_can_be_fitted():
    model = tiny()
    assert "mean" in model.state_dict() and "std" in model.state_dict()
    z500 = CHANNELS.index("z500")
    assert 5.0e4 < model.mean[z500].item() < 6.0e4  # geopotential, not height
    states = torch.randn(4, 69, 32, 64) * 3 + 7
    model.fit_normalization(states)
    assert torch.allclose(model.mean.flatten(), states.mean(dim=(0, 2, 3)))


def test_longitude_is_periodic_and_latitude_is_not():
    x = torch.arange(2 * 5, dtype=torch.float32).view(1, 1, 2, 5)
    padded = sphere_pad(x, 1, 7)  # a halo wider than the grid still wraps
    assert padded.shape == (1, 1, 4, 19)
    assert torch.equal(padded[0, 0, 1, :7], x[0, 0, 0, [3, 4, 0, 1, 2, 3, 4]])
    assert torch.equal(padded[0, 0, 0], padded[0, 0, 1])  # north pole row repeated
    # A feature shifted across the date line gives the same answer shifted: LKA commutes with a roll.
    lka = LargeKernelAttention(3).eval()
    field = torch.randn(1, 3, 8, 16)
    with torch.no_grad():
        assert torch.allclose(lka(field.roll(5, dims=-1)), lka(field).roll(5, dims=-1), atol=1e-6)


def test_bad_inputs_are_clear_errors():
    model = tiny()
    x, temb = example_input({"grid": "5.625"})
    with pytest.raises(InputShapeError, match=r"C=69"):
        model(x[:, :, :68], temb)
    with pytest.raises(InputShapeError, match=r"H=32"):
        model(torch.zeros(1, 2, 69, 73, 144), temb)
    with pytest.raises(InputShapeError, match="time_embedding"):
        model(x, temb[:, :11])
    with pytest.raises(ConfigError, match="grid"):
        build_puyun("short", "1.0")
    with pytest.raises(ConfigError, match="stage"):
        build_puyun("longer", "2.5")
    with pytest.raises(ConfigError, match="unknown config"):
        build_puyun("short", "2.5", heads=8)


def test_zoo_load_with_a_cpu_grid_and_width():
    model = zoo.load("puyun-medium", grid="2.5", embed_dim=16, depth=1)
    assert model.stage == "medium" and model.grid == "2.5" and model.rows == 73
