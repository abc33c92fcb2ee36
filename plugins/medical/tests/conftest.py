"""Test settings for zoo-medical: every test on one intra-op thread (zoo.testing's fixture)."""

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield
