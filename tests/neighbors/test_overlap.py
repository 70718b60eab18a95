"""Neighbourhood and label overlaps against set-intersection references."""

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.datasets import load_digits, make_blobs
from sklearn.decomposition import PCA

from skrepgeom.neighbors import (
    kneighbors,
    label_overlap,
    label_overlap_from_indices,
    neighborhood_overlap,
    neighborhood_overlap_from_indices,
    overlap_profile,
)


def _brute_neighbors(X, k):
    """k nearest other rows by a full distance matrix (test-sized data only)."""
    X = np.asarray(X, dtype=np.float64)
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    return np.argsort(d2, axis=1, kind="stable")[:, :k]


def _reference_overlap(X, Y, k):
    a, b = _brute_neighbors(X, k), _brute_neighbors(Y, k)
    return np.array([len(set(a[i]) & set(b[i])) / k for i in range(len(a))])


def _reference_label_overlap(X, y, k_of_point):
    X = np.asarray(X, dtype=np.float64)
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    order = np.argsort(d2, axis=1, kind="stable")
    return np.array([np.mean(y[order[i, : k_of_point[i]]] == y[i]) for i in range(len(y))])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    Y = X[:, :3] + 0.3 * rng.normal(size=(300, 3))
    y = rng.integers(0, 3, size=300)
    y[X[:, 0] > 0.5] = 3
    return X, Y, y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float64), y


def test_neighborhood_overlap_matches_set_intersection(data):
    X, Y, _ = data
    expected = _reference_overlap(X, Y, 7)
    np.testing.assert_allclose(neighborhood_overlap(X, Y, 7, average=False), expected)
    assert neighborhood_overlap(X, Y, 7) == pytest.approx(expected.mean(), abs=1e-15)
    assert 0.05 < expected.mean() < 0.95  # a reference that discriminates


def test_rotated_scaled_copy_has_overlap_one(data):
    X = data[0]
    Q = ortho_group.rvs(6, random_state=0)
    assert neighborhood_overlap(X, 3 * X @ Q, 10) == 1.0


def test_overlap_of_different_widths_and_chance_level():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(400, 3)), rng.normal(size=(400, 9))
    chi = neighborhood_overlap(X, Y, 20)
    assert chi == pytest.approx(20 / 399, abs=0.03)


def test_self_never_counted_with_duplicates():
    X = np.repeat(np.arange(10.0)[:, None], 2, axis=0)  # every row twice
    _, indices = kneighbors(X, 3)
    assert not np.any(indices == np.arange(20)[:, None])
    per_point = neighborhood_overlap(X, X, 3, average=False)
    np.testing.assert_array_equal(per_point, 1.0)
    # The copy is the first neighbour and shares the label: overlap counts it, not self.
    y = np.arange(20) // 2
    np.testing.assert_allclose(label_overlap(X, y, 1, average=False), 1.0)
    np.testing.assert_allclose(label_overlap(X, y, 3, average=False), 1 / 3)


def test_label_overlap_matches_reference(data):
    X, _, y = data
    reference = _reference_label_overlap(X, y, np.full(len(y), 8))
    np.testing.assert_allclose(label_overlap(X, y, 8, average=False), reference)
    assert label_overlap(X, y, 8, weighted=False) == pytest.approx(reference.mean())
    per_class = [reference[y == c].mean() for c in np.unique(y)]
    assert label_overlap(X, y, 8) == pytest.approx(np.mean(per_class))
    assert abs(np.mean(per_class) - reference.mean()) > 1e-3  # weighting matters here


def test_label_overlap_weighted_is_mean_of_class_means_by_weights(data):
    X, _, y = data
    fractions = label_overlap(X, y, 5, average=False)
    counts = np.bincount(y)
    weights = 1.0 / counts[y]
    expected = np.sum(weights * fractions) / np.sum(weights)
    assert label_overlap(X, y, 5) == pytest.approx(expected, rel=1e-12)


def test_one_class_gives_overlap_one(data):
    X = data[0]
    assert label_overlap(X, np.zeros(len(X)), 10) == 1.0
    assert label_overlap(X, ["a"] * len(X), 10, weighted=False) == 1.0


def test_class_fraction_sets_k_per_class(data):
    X, _, y = data
    counts = np.bincount(y)
    k_of_point = np.maximum(1, (counts * 0.1).astype(int))[y]
    reference = _reference_label_overlap(X, y, k_of_point)
    np.testing.assert_allclose(
        label_overlap(X, y, class_fraction=0.1, average=False), reference, rtol=1e-14
    )
    assert len(np.unique(k_of_point)) > 1


def test_functions_equal_their_cores(data):
    X, Y, y = data
    _, ix = kneighbors(X, 9)
    _, iy = kneighbors(Y, 9)
    assert neighborhood_overlap(X, Y, 9) == neighborhood_overlap_from_indices(ix, iy)
    np.testing.assert_array_equal(
        neighborhood_overlap(X, Y, 9, average=False),
        neighborhood_overlap_from_indices(ix, iy, average=False),
    )
    for weighted in (True, False):
        assert label_overlap(X, y, 9, weighted=weighted) == label_overlap_from_indices(
            ix, y, weighted=weighted
        )


def test_overlap_profile(data):
    X, Y, y = data
    Z = np.random.default_rng(3).normal(size=(300, 2))
    layers = [X, Y, 2 * Y, Z]
    profile = overlap_profile(layers, 6, labels=y)
    for name, shape in [("previous", 3), ("first", 4), ("last", 4), ("labels", 4)]:
        assert profile[name].shape == (shape,)
    for l, layer in enumerate(layers):
        assert profile.first[l] == neighborhood_overlap(layer, X, 6)
        assert profile.last[l] == neighborhood_overlap(layer, Z, 6)
        assert profile.labels[l] == label_overlap(layer, y, 6)
    assert profile.previous[1] == 1.0
    assert profile.previous[0] == neighborhood_overlap(X, Y, 6)
    assert "labels" not in overlap_profile(layers, 6)
    stacked = overlap_profile(np.stack([Y, 2 * Y, -Y], axis=1), 6)
    np.testing.assert_array_equal(stacked.previous, [1.0, 1.0])


# DADApy 0.3.4, Data(load_digits float) with maxk >= 11:
# return_label_overlap(labels, k=10) = 0.9649 (weighted) / 0.9651 (avg, unweighted);
# return_data_overlap(PCA(n, random_state=0) embedding, k=10) = 0.1179 / 0.6666 / 0.9163
# for n = 2 / 10 / 30. Tolerance 5e-4: integer pixels tie at equal distances, and the
# tie order differs between neighbour engines.
def test_digits_label_overlap_anchor(digits):
    X, y = digits
    assert label_overlap(X, y, 10) == pytest.approx(0.9649, abs=5e-4)
    assert label_overlap(X, y, 10, weighted=False) == pytest.approx(0.9651, abs=5e-4)


@pytest.mark.parametrize("n_components, expected", [(2, 0.1179), (10, 0.6666), (30, 0.9163)])
def test_digits_pca_overlap_anchor(digits, n_components, expected):
    X, _ = digits
    embedding = PCA(n_components, random_state=0).fit_transform(X)
    assert neighborhood_overlap(X, embedding, 10) == pytest.approx(expected, abs=5e-4)


def test_bad_input(data):
    X, Y, y = data
    with pytest.raises(ValueError, match="same points"):
        neighborhood_overlap(X, Y[:-1])
    with pytest.raises(ValueError, match="n_neighbors"):
        neighborhood_overlap(X, Y, 0)
    with pytest.raises(ValueError, match="n_neighbors=300"):
        neighborhood_overlap(X, Y, 300)
    with pytest.raises(ValueError, match="n_neighbors=300"):
        label_overlap(X, y, 300)
    with pytest.raises(ValueError, match="n_neighbors"):
        overlap_profile([X, Y], 0)
    with pytest.raises(ValueError, match="labels"):
        label_overlap(X, y[:-1], 5)
    with pytest.raises(ValueError, match="class_fraction"):
        label_overlap(X, y, class_fraction=0.0)
    with pytest.raises(ValueError, match="class_fraction"):
        label_overlap(X, y, class_fraction=1.5)
    with pytest.raises(ValueError, match="NaN"):
        neighborhood_overlap(np.where(X > 2, np.nan, X), Y)
    with pytest.raises(ValueError, match="at least 2 layers"):
        overlap_profile([X], 5)
    with pytest.raises(ValueError, match="row counts"):
        overlap_profile([X, Y[:-1]], 5)
    with pytest.raises(ValueError, match="labels"):
        overlap_profile([X, Y], 5, labels=y[:-1])
    with pytest.raises(ValueError, match="same shape"):
        neighborhood_overlap_from_indices(np.zeros((3, 2), int), np.zeros((3, 3), int))
    with pytest.raises(TypeError, match="integer"):
        neighborhood_overlap_from_indices(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="labels"):
        label_overlap_from_indices(np.zeros((3, 2), int), [0, 1])
