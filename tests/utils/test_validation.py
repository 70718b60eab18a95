import numpy as np
import pytest
from sklearn.base import BaseEstimator

from skrepgeom.utils._validation import (
    check_min_samples,
    check_n_neighbors,
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
