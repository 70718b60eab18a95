import numba
import pytest
from joblib import cpu_count, parallel_config

from skrepgeom.utils._parallel import (
    blas_threads,
    check_n_jobs,
    effective_n_threads,
    n_workers,
    numba_threads,
    thread_limits,
    worker_blas_limit,
)


def _blas_counts():
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_effective_n_threads_follows_joblib():
    assert effective_n_threads(None) is None
    assert effective_n_threads(3) == 3
    assert effective_n_threads(-1) == cpu_count()
    assert effective_n_threads(-cpu_count() - 5) == 1
    assert n_workers(None) == 1
    assert n_workers(2) == 2


@pytest.mark.parametrize("bad", [0, 1.5, "2", True])
def test_one_message_for_meaningless_n_jobs(bad):
    with pytest.raises(ValueError, match=r"n_jobs=.* is not valid"):
        check_n_jobs(bad)
    with pytest.raises(ValueError, match=r"n_jobs=.* is not valid"):
        effective_n_threads(bad)


def test_none_honours_an_enclosing_parallel_config():
    with parallel_config(n_jobs=2):
        assert effective_n_threads(None) == 2
        assert n_workers(None) == 2
        assert effective_n_threads(3) == 3
    with parallel_config(n_jobs=-1):
        assert effective_n_threads(None) == cpu_count()


def test_numba_threads_set_and_restored():
    before = numba.get_num_threads()
    with numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with numba_threads(None):
        assert numba.get_num_threads() == before
    with pytest.raises(KeyError):
        with numba_threads(1):
            raise KeyError
    assert numba.get_num_threads() == before


def test_blas_threads_limits_and_none_is_a_no_op():
    before = _blas_counts()
    with blas_threads(1):
        assert all(n == 1 for n in _blas_counts())
    with blas_threads(None):
        assert _blas_counts() == before
    assert _blas_counts() == before


def test_thread_limits_sets_both_pools_only_when_asked():
    before_numba, before_blas = numba.get_num_threads(), _blas_counts()
    with thread_limits(1) as n_threads:
        assert n_threads == 1
        assert numba.get_num_threads() == 1
        assert all(n == 1 for n in _blas_counts())
    with thread_limits(None) as n_threads:
        assert n_threads is None
        assert numba.get_num_threads() == before_numba
        assert _blas_counts() == before_blas
    with thread_limits(1, blas=False):
        assert _blas_counts() == before_blas
    assert numba.get_num_threads() == before_numba and _blas_counts() == before_blas


def test_worker_blas_limit():
    before = _blas_counts()
    with worker_blas_limit(2):
        assert all(n == 1 for n in _blas_counts())
    with worker_blas_limit(1):
        assert _blas_counts() == before
