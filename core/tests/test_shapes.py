"""zoo.expect_shape: shape, dtype, value range and divisibility, each a clear InputShapeError."""

import pytest
import torch

from zoo import expect_shape
from zoo.errors import InputShapeError


def test_binds_sizes_and_rejects_a_wrong_rank_or_size():
    assert expect_shape(torch.zeros(2, 3, 4, 4), "B C H W", C=3) == {"B": 2, "C": 3, "H": 4, "W": 4}
    with pytest.raises(InputShapeError, match=r"must have 4 dimensions \[B, C=3, H, W\], got shape \[3, 4, 4\]"):
        expect_shape(torch.zeros(3, 4, 4), "B C H W", C=3)
    with pytest.raises(InputShapeError, match=r"\(C != 3\)"):
        expect_shape(torch.zeros(2, 1, 4, 4), "B C H W", C=3)
    with pytest.raises(InputShapeError, match="must be a tensor"):
        expect_shape([[1.0]], "N F")


@pytest.mark.parametrize(("tensor", "dtype", "ok"), [
    (torch.zeros(2, dtype=torch.float16), "float", True), (torch.zeros(2, dtype=torch.int32), "float", False),
    (torch.zeros(2, dtype=torch.int64), "int", True), (torch.zeros(2, dtype=torch.bool), "int", False),
    (torch.zeros(2, dtype=torch.bool), "bool", True), (torch.zeros(2), torch.float32, True),
    (torch.zeros(2, dtype=torch.int32), (torch.int64, torch.int32), True), (torch.zeros(2), torch.float64, False),
])
def test_dtype_kinds_and_torch_dtypes(tensor, dtype, ok):
    if ok:
        expect_shape(tensor, "N", dtype=dtype)
    else:
        with pytest.raises(InputShapeError, match="tensor \\[N\\], got dtype"):
            expect_shape(tensor, "N", dtype=dtype)


def test_value_ranges_are_checked_except_on_meta():
    ids = torch.tensor([[0, 1], [2, 5]])
    expect_shape(ids, "2 E", min_value=0, max_value=5)
    with pytest.raises(InputShapeError, match=r"values must lie in \[0, 4\], got values in \[0, 5\]"):
        expect_shape(ids, "2 E", name="edge_index", min_value=0, max_value=4)
    with pytest.raises(InputShapeError, match=r"\[0, inf\]"):
        expect_shape(ids - 1, "2 E", min_value=0)
    expect_shape(torch.empty(2, 3, device="meta", dtype=torch.int64), "2 E", min_value=0, max_value=0)


def test_divisibility():
    expect_shape(torch.zeros(1, 1, 32, 48), "B C H W", divisible_by={"H": 16, "W": 16})
    with pytest.raises(InputShapeError, match="H must be divisible by 16"):
        expect_shape(torch.zeros(1, 1, 30, 48), "B C H W", divisible_by={"H": 16, "W": 16}, model="unet")
