"""One torch thread for the robustness tests: their networks are tiny, and on a
shared 2-core machine intra-op threads cost more in synchronisation than they save."""

import pytest

from skrepgeom.utils._torch import torch_threads


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    with torch_threads(1):
        yield
