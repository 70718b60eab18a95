"""Thread counts shared by every area: one rule for ``n_jobs``, scoped settings."""

import contextlib

__all__ = ["blas_threads", "effective_n_threads", "numba_threads"]


def effective_n_threads(n_jobs):
    """Threads meant by ``n_jobs``, with joblib's convention.

    ``None`` gives ``None`` (the caller's default), a positive value itself, and a
    negative ``-k`` all but ``k - 1`` cores (``-1`` = all), at least one.
    """
    if n_jobs is None:
        return None
    from joblib import cpu_count

    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive int or -1.")
    return int(n_jobs) if n_jobs > 0 else max(cpu_count() + 1 + int(n_jobs), 1)


@contextlib.contextmanager
def numba_threads(n_threads):
    """Run the block with ``n_threads`` Numba threads (capped by Numba's pool), then restore."""
    from numba import config, get_num_threads, set_num_threads

    previous = get_num_threads()
    set_num_threads(max(1, min(int(n_threads), config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        set_num_threads(previous)


@contextlib.contextmanager
def blas_threads(limit):
    """Limit BLAS to ``limit`` threads inside the block; ``None`` leaves it alone."""
    if limit is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(limit), user_api="blas"):
        yield
