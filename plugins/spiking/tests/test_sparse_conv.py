"""The sparse convolutions against dense torch convolutions on the same active sites."""

import pytest
import torch
import torch.nn.functional as F

from zoo_spiking.blocks.sparse_conv import (
    SparseConv3d,
    SparseInverseConv3d,
    SparseTensor,
    SubMConv3d,
    submanifold_rulebook,
)


def _random_sites(sizes, grid, seed=0):
    """A batch of clouds of different sizes: distinct random voxels per sample."""
    g = torch.Generator().manual_seed(seed)
    coords = []
    for b, n in enumerate(sizes):
        flat = torch.randperm(grid**3, generator=g)[:n]
        xyz = torch.stack([flat // grid**2, (flat // grid) % grid, flat % grid], 1)
        coords.append(torch.cat([torch.full((n, 1), b), xyz], 1))
    return torch.cat(coords)


def _dense(feats, coords, batch_size, grid):
    out = feats.new_zeros(batch_size, feats.shape[1], grid, grid, grid)
    b, x, y, z = coords.unbind(1)
    out[b, :, x, y, z] = feats
    return out


def _read(grid, coords):
    b, x, y, z = coords.unbind(1)
    return grid[b, :, x, y, z]


def _dense_weight(conv):
    # ours [k, k, k, Cin, Cout] -> conv3d's [Cout, Cin, k, k, k]
    return conv.weight.permute(4, 3, 0, 1, 2).contiguous()


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_submanifold_equals_dense_conv3d_at_active_sites(kernel_size):
    torch.manual_seed(0)
    grid, sizes = 12, [150, 40, 300]
    coords = _random_sites(sizes, grid)
    feats = torch.randn(len(coords), 4, dtype=torch.float64)
    conv = SubMConv3d(4, 6, kernel_size=kernel_size, bias=True).double()
    torch.nn.init.normal_(conv.bias)
    out = conv(SparseTensor(feats, coords, len(sizes)))
    dense = F.conv3d(_dense(feats, coords, len(sizes), grid), _dense_weight(conv), conv.bias,
                     padding=kernel_size // 2)
    assert torch.equal(out.coords, coords)
    torch.testing.assert_close(out.feats, _read(dense, coords), rtol=1e-10, atol=1e-10)


def test_strided_equals_dense_conv3d_at_parents():
    torch.manual_seed(1)
    grid, sizes = 16, [500, 37]
    coords = _random_sites(sizes, grid, seed=1)
    feats = torch.randn(len(coords), 3, dtype=torch.float64)
    conv = SparseConv3d(3, 5, kernel_size=2, stride=2).double()
    out = conv(SparseTensor(feats, coords, len(sizes)))
    dense = F.conv3d(_dense(feats, coords, len(sizes), grid), _dense_weight(conv), stride=2)
    # the active outputs are exactly the parents of active inputs, and nothing else is non-zero
    expected_sites = torch.unique(torch.cat([coords[:, :1], coords[:, 1:] // 2], 1), dim=0)
    assert torch.equal(out.coords, expected_sites)
    torch.testing.assert_close(out.feats, _read(dense, out.coords), rtol=1e-10, atol=1e-10)
    mask = torch.ones_like(dense, dtype=torch.bool)
    b, x, y, z = out.coords.unbind(1)
    mask[b, :, x, y, z] = False
    assert dense[mask].abs().max() == 0


def test_inverse_equals_conv_transpose3d_at_the_original_sites():
    torch.manual_seed(2)
    grid, sizes = 16, [200, 90]
    coords = _random_sites(sizes, grid, seed=2)
    x = SparseTensor(torch.randn(len(coords), 3, dtype=torch.float64), coords, len(sizes))
    down = SparseConv3d(3, 5, indice_key="spconv0").double()(x)
    up_conv = SparseInverseConv3d(5, 4, kernel_size=2, indice_key="spconv0").double()
    up = up_conv(down)
    dense_in = _dense(down.feats, down.coords, len(sizes), grid // 2)
    # conv_transpose3d wants [Cin, Cout, k, k, k]
    dense = F.conv_transpose3d(dense_in, up_conv.weight.permute(3, 4, 0, 1, 2), stride=2)
    assert torch.equal(up.coords, coords)
    torch.testing.assert_close(up.feats, _read(dense, coords), rtol=1e-10, atol=1e-10)


def test_gradients_match_dense():
    torch.manual_seed(3)
    grid, sizes = 8, [60, 25]
    coords = _random_sites(sizes, grid, seed=3)
    feats = torch.randn(len(coords), 2, dtype=torch.float64, requires_grad=True)
    conv = SubMConv3d(2, 3).double()
    conv(SparseTensor(feats, coords, 2)).feats.square().sum().backward()
    g_sparse, w_sparse = feats.grad.clone(), conv.weight.grad.clone()

    feats.grad = None
    w = _dense_weight(conv).detach().requires_grad_()
    dense = F.conv3d(_dense(feats, coords, 2, grid), w, padding=1)
    _read(dense, coords).square().sum().backward()
    torch.testing.assert_close(g_sparse, feats.grad)
    torch.testing.assert_close(w_sparse, w.grad.permute(2, 3, 4, 1, 0))


def test_rulebook_is_reused_within_a_stage_and_pairs_are_symmetric():
    coords = _random_sites([300], 10, seed=4)
    x = SparseTensor(torch.randn(len(coords), 2), coords, 1)
    a, b = SubMConv3d(2, 2, indice_key="subm1"), SubMConv3d(2, 2, indice_key="subm1")
    y = a(x)
    book = x.rulebooks["subm1/subm3"]
    b(y)
    assert x.rulebooks["subm1/subm3"] is book
    # offset o pairs (i -> j) exactly when offset -o pairs (j -> i)
    rb = submanifold_rulebook(coords, 3)
    for k in range(13):
        fwd, bwd = rb.pairs[k], rb.pairs[26 - k]
        assert sorted(zip(fwd[0].tolist(), fwd[1].tolist())) == sorted(zip(bwd[1].tolist(), bwd[0].tolist()))
