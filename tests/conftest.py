"""Shared fixtures: one dask LocalCluster for the whole session, plotting backend."""

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def dask_client():
    """A threads-only LocalCluster (2 workers x 1 thread) shared by every scale-out test."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def pytest_collection_modifyitems(config, items):
    """Run the example scripts last.

    Their 30 s budget is for the example itself; running them after the unit tests
    means the Numba functions they use (ours and sktime's) are already compiled into
    the on-disk cache, as they are for a user's second run.
    """
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_examples.py"))
