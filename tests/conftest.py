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

    Their wall time is meant for the example itself; running them after the unit
    tests means the Numba functions they use (ours and sktime's) are already compiled
    into the on-disk cache, as they are for a user's second run.
    """
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_examples.py"))


def pytest_terminal_summary(terminalreporter):
    """Print the wall time of every example script that ran (recorded, not asserted)."""
    lines = []
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        seconds = dict(report.user_properties).get("example_wall_s")
        if report.when == "call" and seconds is not None:
            lines.append(f"{seconds:7.1f} s  {report.nodeid}")
    if lines:
        terminalreporter.write_sep("-", "example wall times")
        for line in sorted(lines, reverse=True):
            terminalreporter.write_line(line)
