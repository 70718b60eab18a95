import numpy as np
import pytest
from sklearn.base import BaseEstimator

from skrepgeom.exceptions import DuplicateSamplesWarning
from skrepgeom.utils._validation import (
    check_min_samples,
    check_n_neighbors,
    handle_duplicates,
    validate_float_data,
)


class _Plain(BaseEstimator):
    pass


def test_validate_float_data_keeps_float32_and_converts_ints():
    X32 = np.ones((4, 2), dtype=np.float32)
    assert validate_float_data(_Plain(), X32).dtype == np.float32
    assert validate_float_data(_Plain(), np.ones((4, 2), dtype=int)).dtype == np.float64


def test_min_samples_message():
    with pytest.raises(ValueError, match="n_samples=2"):
        validate_float_data(_Plain(), np.ones((2, 3)), min_samples=3)
    with pytest.raises(ValueError, match="n_samples=1 is too small for TwoNN"):
        check_min_samples(1, 3, context="for TwoNN")


def test_check_n_neighbors():
    check_n_neighbors(4, 5)
    check_n_neighbors(5, 5, self_query=False)
    with pytest.raises(ValueError, match="n_neighbors=5 .*n_samples=5"):
        check_n_neighbors(5, 5)
    with pytest.raises(ValueError, match=">= 1"):
        check_n_neighbors(0, 5)
    with pytest.raises(TypeError):
        check_n_neighbors(True, 5)


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
