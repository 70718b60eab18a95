import numba
import pytest
from joblib import cpu_count

from skrepgeom.utils._parallel import blas_threads, effective_n_threads, numba_threads


def test_effective_n_threads_follows_joblib():
    assert effective_n_threads(None) is None
    assert effective_n_threads(3) == 3
    assert effective_n_threads(-1) == cpu_count()
    assert effective_n_threads(-cpu_count() - 5) == 1
    with pytest.raises(ValueError, match="n_jobs == 0"):
        effective_n_threads(0)


def test_numba_threads_set_and_restored():
    before = numba.get_num_threads()
    with numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with pytest.raises(KeyError):
        with numba_threads(1):
            raise KeyError
    assert numba.get_num_threads() == before


def test_blas_threads_limits_and_none_is_a_no_op():
    from threadpoolctl import threadpool_info

    def blas_counts():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    before = blas_counts()
    with blas_threads(1):
        assert all(n == 1 for n in blas_counts())
    with blas_threads(None):
        assert blas_counts() == before
    assert blas_counts() == before
