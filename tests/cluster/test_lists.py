"""Ragged neighbour lists: longer lists for some rows equal a full search."""

import numpy as np
import pytest
from scipy.stats import chi2

import skrepgeom.cluster._lists as lists_module
from skrepgeom.cluster import DensityPeakClusterer
from skrepgeom.cluster._adp import advanced_density_peaks
from skrepgeom.cluster._lists import NeighborLists, grow_kstar
from skrepgeom.neighbors import kneighbors


def _lists(X, n_columns):
    return NeighborLists(X, n_columns, lambda k, query: kneighbors(X, k, query=query))


def _data():
    # A uniform patch saturates k*; the Gaussians around it do not.
    rng = np.random.default_rng(0)
    return np.r_[
        rng.normal(size=(1500, 2)) * [3, 1],
        rng.uniform(size=(80, 2)) * 0.3 + [6, 0],
        rng.normal(size=(500, 2)) * 0.5 + [0, 4],
    ]


def test_extend_equals_self_query_with_ties():
    # Integer grid: every row has many neighbours at tied distances.
    X = np.stack(np.meshgrid(np.arange(15.0), np.arange(15.0)), axis=-1).reshape(-1, 2)
    lists = _lists(X, 5)
    lists.widen(40)
    rows = np.array([0, 7, 112, 224, 37, 37])
    lists.extend(rows)
    distances, indices = kneighbors(X, 40)
    long = lists.long_row[rows]
    assert np.all(long >= 0)
    np.testing.assert_array_equal(lists.long_indices[long], indices[rows])
    np.testing.assert_array_equal(lists.long_distances[long], distances[rows])
    assert np.count_nonzero(lists.long_row >= 0) == 5


@pytest.fixture
def partial(monkeypatch):
    # Force the partial path: at test sizes the rows needing longer lists are many.
    monkeypatch.setattr(lists_module, "_FULL_SEARCH_FRACTION", 1.0)


def test_partial_growth_equals_full_search(partial):
    X = _data()
    lists = _lists(X, 29)
    threshold = chi2.isf(1e-6, 1)
    kstar, saturated = grow_kstar(lists, 2.0, threshold, grow=True, limit=0.01, cap=X.shape[0] - 1)
    assert lists.ragged and lists.n_columns > 29 and saturated <= 0.01
    n_long = np.count_nonzero(lists.long_row >= 0)
    assert 0 < n_long < X.shape[0]
    full = _lists(X, lists.n_columns)
    expected, _ = grow_kstar(full, 2.0, threshold, grow=False, limit=0.01, cap=X.shape[0] - 1)
    np.testing.assert_array_equal(kstar, expected)

    rng = np.random.default_rng(1)
    lists.drop_distances()
    for z in (0.5, 3.0):
        # Noisy densities: many linked putative peaks and borders far down short lists.
        log_density = rng.normal(size=X.shape[0])
        err = np.full(X.shape[0], 0.1)
        before = np.count_nonzero(lists.long_row >= 0)
        got = advanced_density_peaks(log_density, err, lists, kstar, z=z, halo=False)
        assert np.count_nonzero(lists.long_row >= 0) > before
        want = advanced_density_peaks(log_density, err, full, expected, z=z, halo=False)
        np.testing.assert_array_equal(got.labels, want.labels)
        np.testing.assert_array_equal(got.peaks, want.peaks)
        np.testing.assert_array_equal(got.saddle_points, want.saddle_points)


def test_estimator_auto_equals_full_search(partial):
    X = _data()
    auto = DensityPeakClusterer(intrinsic_dimension=2).fit(X)
    assert auto.max_neighbors_ > 128
    full = DensityPeakClusterer(intrinsic_dimension=2, max_neighbors=auto.max_neighbors_).fit(X)
    for name in ("labels_", "density_", "density_err_", "kstar_", "saddle_indices_", "linkage_"):
        np.testing.assert_array_equal(getattr(auto, name), getattr(full, name))
