"""What the kit cannot know: the authors' counts per size, the channel bookkeeping, the order of the
multi-dilated accumulation, the BasicConv details, the boundary input and the class count."""

import pytest
import torch
from torch import nn

import zoo
from zoo.errors import ConfigError, InputShapeError
from zoo_lipreading.blocks import ConvUnit, MultiDilatedDenseBlock, TD3Backend, VisualFrontend
from zoo_lipreading.models.td3net_specs import BACKEND_PARAMS


def count(module):
    return sum(p.numel() for p in module.parameters())


def meta(name, **config):
    with torch.device("meta"):
        return zoo.build(name, **config)


@pytest.mark.parametrize("variant", ["base", "best"])
def test_td3net_backend_counts_are_the_authors(variant):
    model = meta(f"td3net-{variant}")
    assert count(model.backend) == BACKEND_PARAMS[variant] == {"base": 18_689_037, "best": 31_888_204}[variant]


def test_frontends_are_resnet18_with_the_papers_stems():
    with torch.device("meta"):
        td3, mpc = VisualFrontend(3, "prelu"), VisualFrontend(5, "swish")
    # ResNet-18 without stem and fc (11,166,976) + 64*49*k stem + BN; PReLU adds one slope per channel
    assert count(td3) == 11_166_976 + 64 * 49 * 3 + 128 + 64 + 2 * 2 * (64 + 128 + 256 + 512) == 11_180_416
    assert count(mpc) == 11_166_976 + 64 * 49 * 5 + 128 == 11_182_784
    assert td3.stem[0].kernel_size == (3, 7, 7) and mpc.stem[0].kernel_size == (5, 7, 7)


@pytest.mark.parametrize("name, params", [
    ("td3net-base", 30_745_453), ("td3net-best", 44_226_120), ("td3net-best-wb", 44_228_896),
    ("ms-tcn", 36_361_396), ("dc-tcn", 52_548_532), ("dc-tcn-wb", 52_549_044),
])
def test_whole_model_counts(name, params):
    assert count(meta(name)) == params


def test_channel_trace_uses_floor_division():
    base, best = meta("td3net-base").backend, meta("td3net-best").backend
    assert [s.out_channels for s in base.stages] == [706, 803, 851, 1751]
    assert [s.out_channels for s in best.stages] == [856, 1028, 1114, 2314]
    assert meta("ms-tcn").backend.out_channels == 768 and meta("dc-tcn").backend.out_channels == 512 + 3 * 384


def test_basic_conv_details():
    backend = meta("td3net-base").backend
    units = [m for m in backend.modules() if isinstance(m, ConvUnit)]
    assert all(u.bn.momentum == 0.01 for u in units)
    assert all(isinstance(u.act, nn.PReLU) and u.act.num_parameters == u.out_channels for u in units)
    assert all(isinstance(u.drop, nn.Dropout) and u.drop.p == 0.2 for u in units)  # 1x1 transitions included
    block = backend.stages[0].blocks[0]
    assert [layer.conv.dilation[0] for layer in block.dilated.layers] == [2, 4, 8, 16]
    assert meta("td3net-best", dropout=0.1).backend.stages[0].transition.drop.p == 0.1


def test_multi_dilated_block_accumulates_in_order():
    torch.manual_seed(0)
    block = MultiDilatedDenseBlock(growth=2, num_layers=4, dropout=0.0).eval()
    x = torch.randn(1, 8, 11)
    s = list(x.split(2, dim=1))
    # group i is convolved only after every earlier group has been added into it
    for i, layer in enumerate(block.layers):
        y = layer(s[i])
        for j in range(len(s) - 1 - i):
            s[i + 1 + j] = s[i + 1 + j] + y[:, 2 * j:2 * j + 2]
    assert torch.equal(block(x), torch.cat(s, dim=1))
    # the update is not the "all from the input" variant
    independent = list(x.split(2, dim=1))
    outputs = [layer(x.split(2, dim=1)[i]) for i, layer in enumerate(block.layers)]
    for i, y in enumerate(outputs):
        for j in range(3 - i):
            independent[i + 1 + j] = independent[i + 1 + j] + y[:, 2 * j:2 * j + 2]
    assert not torch.allclose(block(x), torch.cat(independent, dim=1))


def test_backends_keep_the_length():
    torch.manual_seed(0)
    backend = TD3Backend(16, (2, 2), (2, 1), growth=4, num_layers=5, out_block=5, block_comp=0.5,
                         kernel_size=3, dropout=0.0).eval()
    for frames in (1, 7, 29):
        assert backend(torch.randn(2, 16, frames)).shape == (2, backend.out_channels, frames)


def test_class_count_and_boundaries():
    model = zoo.build("td3net-base", num_classes=1000).eval()
    x = torch.randn(2, 1, 5, 32, 32)
    with torch.no_grad():
        assert model(x).shape == (2, 1000)
    wb = zoo.build("dc-tcn-wb").eval()
    inside = torch.tensor([[0.0, 1, 1, 1, 0], [1, 1, 0, 0, 0]])
    with torch.no_grad():
        assert wb(x, inside).shape == (2, 500)
        assert not torch.allclose(wb(x, inside), wb(x, torch.zeros(2, 5)))  # the boundary reaches the back-end
    with pytest.raises(InputShapeError, match="needs boundaries"):
        wb(x)
    with pytest.raises(InputShapeError, match="T=5"):
        wb(x, torch.ones(2, 4))
    with pytest.raises(InputShapeError, match="use_boundary=False"):
        model(x, inside)
    with pytest.raises(InputShapeError, match="C=1"):
        model(torch.randn(2, 3, 5, 32, 32))
    with pytest.raises(ConfigError, match="variant"):
        zoo.build("td3net-base", variant="large")
