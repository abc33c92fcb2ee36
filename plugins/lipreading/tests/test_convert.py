"""The converters on the authors' own key names and shapes (tests/data/author_keys.json.gz, dumped
from their model code by tools/parity_authors.py, which also checks outputs on shared weights)."""

import gzip
import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo.building import check_state_dict
from zoo.cli import main
from zoo.errors import WeightsError
from zoo_lipreading.convert import from_mpc001, from_td3net

KEYS = json.loads(gzip.open(Path(__file__).parent / "data" / "author_keys.json.gz", "rt").read())
CONVERTERS = {"td3net-base": from_td3net, "td3net-best": from_td3net, "td3net-best-wb": from_td3net,
              "ms-tcn": from_mpc001, "dc-tcn": from_mpc001, "dc-tcn-wb": from_mpc001}


def authors_state(name, device="meta"):
    state = {}
    for key, shape in KEYS[name]:
        state[key] = torch.zeros(shape, device=device)
    # in a real TD3Net checkpoint the trunk's twin names share one storage
    for key in list(state):
        if key.startswith("emd_network.frontend.5."):
            state[key] = state[key.replace("emd_network.frontend.5.", "emd_network.trunk.")]
    return state


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_authors_layout_maps_onto_ours_exactly(name):
    with torch.device("meta"):
        model = zoo.build(name)
    converted = CONVERTERS[name]({"model_state_dict": authors_state(name), "epoch": 3})
    check_state_dict(model, converted, source=name)  # every key, every shape, nothing left over


def test_dataparallel_prefix_and_bare_state_dicts():
    state = {f"module.{k}": v for k, v in authors_state("ms-tcn").items()}
    assert set(from_mpc001(state)) == set(from_mpc001({"model_state_dict": authors_state("ms-tcn")}))


def test_foreign_and_inconsistent_checkpoints_are_clear_errors():
    with pytest.raises(WeightsError, match="another architecture"):
        from_mpc001({"model_state_dict": {"encoder.layers.0.weight": torch.zeros(1)}})
    with pytest.raises(WeightsError, match="another architecture"):
        from_td3net({"model_state_dict": authors_state("ms-tcn")})
    state = authors_state("td3net-base", device="cpu")
    twin = "layer1.0.conv1.weight"
    state[f"emd_network.frontend.5.{twin}"] = torch.ones_like(state[f"emd_network.trunk.{twin}"])
    with pytest.raises(WeightsError, match="same trunk tensor"):
        from_td3net(state)
    with pytest.raises(WeightsError, match="checkpoint dict"):
        from_td3net([1, 2])


def test_zoo_lipread_convert_end_to_end(tmp_path, capsys):
    state = authors_state("ms-tcn", device="cpu")
    torch.manual_seed(0)
    state["tcn.tcn_output.weight"] = torch.randn(state["tcn.tcn_output.weight"].shape)
    state["frontend3D.0.weight"] = torch.randn(state["frontend3D.0.weight"].shape)
    checkpoint = tmp_path / "lrw_resnet18_mstcn.pth"
    # what the authors' savers put beside the weights: optimiser and scheduler states, epoch, best accuracy
    toy = torch.nn.Linear(2, 2)
    optimiser = torch.optim.AdamW(toy.parameters(), lr=3e-4, weight_decay=1e-2)
    toy(torch.ones(1, 2)).sum().backward()
    optimiser.step()
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=120)
    torch.save({"model_state_dict": state, "optimizer_state_dict": optimiser.state_dict(),
                "scheduler_state_dict": schedule.state_dict(), "epoch_idx": 80, "best_prec": 0.889}, checkpoint)
    assert main(["lipread-convert", str(checkpoint), "ms-tcn", str(tmp_path / "out")]) == 0
    model = zoo.load(tmp_path / "out")
    assert torch.equal(model.classifier.weight, state["tcn.tcn_output.weight"])
    assert torch.equal(model.frontend.stem[0].weight, state["frontend3D.0.weight"])
    assert main(["lipread-convert", str(checkpoint), "td3net-base", str(tmp_path / "bad")]) == 2
    assert "another architecture" in capsys.readouterr().err
