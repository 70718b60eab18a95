"""PeakDendrogramDisplay draws the saddle hierarchy on a log-density axis."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from skrepgeom.cluster import DensityPeakClusterer, PeakDendrogramDisplay
from skrepgeom.exceptions import KstarSaturationWarning


@pytest.fixture(scope="module")
def fitted():
    X, _ = make_blobs(1500, centers=6, cluster_std=1.2, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KstarSaturationWarning)
        return DensityPeakClusterer(max_neighbors=60, z=3.0).fit(X)


def test_from_estimator_draws_leaves_and_joins(fitted):
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    display = PeakDendrogramDisplay.from_estimator(fitted, ax=ax, color="k")
    assert display.ax_ is ax and display.figure_ is ax.figure
    n = fitted.n_clusters_
    assert len(display.lines_) == n  # n - 1 joins and one line of leaf markers
    leaves = display.lines_[-1]
    assert sorted(leaves.get_ydata()) == pytest.approx(sorted(fitted.peak_density_))
    top = fitted.density_.max()
    join_heights = sorted(line.get_ydata()[1] for line in display.lines_[:-1])
    assert join_heights == pytest.approx(sorted(top - fitted.linkage_[:, 2]))
    sizes = np.bincount(fitted.labels_[fitted.labels_ >= 0])
    texts = {t.get_text() for t in ax.get_xticklabels()}
    assert texts == {f"{c} (n={sizes[c]})" for c in range(n)}
    assert ax.get_ylabel() == "log-density"
    assert display.lines_[0].get_color() == "k"


def test_without_sizes_and_single_cluster():
    X = np.random.default_rng(0).normal(size=(500, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KstarSaturationWarning)
        dp = DensityPeakClusterer(max_neighbors=100).fit(X)
    assert dp.n_clusters_ == 1
    display = PeakDendrogramDisplay.from_estimator(dp, show_sizes=False)
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["0"]
    assert dp.linkage_.shape == (0, 4)


def test_requires_fitted_estimator():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        PeakDendrogramDisplay.from_estimator(DensityPeakClusterer())
