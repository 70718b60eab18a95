import numpy as np
import pytest

from scipy import sparse

from skrepgeom.exceptions import DuplicateSamplesWarning
from skrepgeom.neighbors import find_duplicates, handle_duplicates


def _first_identical_loop(X):
    first = np.arange(len(X))
    for i in range(len(X)):
        for j in range(i):
            if np.array_equal(X[i], X[j]):
                first[i] = j
                break
    return first


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_find_duplicates_matches_loop(dtype):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(200, 3)).astype(dtype)
    np.testing.assert_array_equal(find_duplicates(X), _first_identical_loop(X))


def test_negative_zero_equals_zero():
    X = np.array([[0.0, 1.0], [-0.0, 1.0]])
    np.testing.assert_array_equal(find_duplicates(X), [0, 0])


def test_no_duplicates_and_empty():
    X = np.random.default_rng(0).normal(size=(50, 4))
    np.testing.assert_array_equal(find_duplicates(X), np.arange(50))
    assert find_duplicates(np.empty((0, 3))).shape == (0,)
    with pytest.raises(ValueError, match="2-D"):
        find_duplicates(np.zeros(4))


def test_hash_collisions_are_settled_exactly(monkeypatch):
    from skrepgeom.neighbors import _duplicates

    # Every row hashes alike: the exact fallback must still tell the rows apart.
    monkeypatch.setattr(_duplicates, "_row_hashes", lambda X: np.zeros(len(X), dtype=np.uint64))
    X = np.random.default_rng(1).integers(0, 3, size=(150, 2)).astype(float)
    np.testing.assert_array_equal(find_duplicates(X), _first_identical_loop(X))


def test_sparse_input_is_refused_by_name():
    with pytest.raises(TypeError, match="does not support sparse input"):
        find_duplicates(sparse.csr_matrix(np.eye(3)))


def test_handle_duplicates_policies():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [2.0, 0.0], [1.0, 0.0]])
    unique, index, n = handle_duplicates(X, "remove")
    np.testing.assert_array_equal(unique, X[[0, 1, 3]])
    np.testing.assert_array_equal(unique[index], X)
    assert n == 2
    with pytest.warns(DuplicateSamplesWarning, match="Removed 2 duplicate"):
        handle_duplicates(X, "warn")
    with pytest.raises(ValueError, match=r"2 duplicate.*row 2 equals row 0.*duplicates=\"remove\""):
        handle_duplicates(X, "raise")
    with pytest.raises(ValueError, match="only 3 distinct"):
        handle_duplicates(X, "remove", min_unique=4)
    with pytest.raises(ValueError, match="duplicates must be one of"):
        handle_duplicates(X, "ignore")
    same, index, n = handle_duplicates(X[:2], "raise")
    np.testing.assert_array_equal(same, X[:2])
    np.testing.assert_array_equal(index, [0, 1])
    assert n == 0
