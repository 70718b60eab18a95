"""The one ``n_jobs`` rule of skrepgeom, and the scoped thread settings built on it.

Every estimator and :func:`skrepgeom.neighbors.kneighbors` resolve ``n_jobs`` here;
nothing else in the package calls threadpoolctl or ``numba.set_num_threads``.

The rule (also in the docs' "Parallelism" page):

``None``
    skrepgeom changes no thread pool: one joblib worker, and BLAS, Numba and torch
    keep their own defaults. Inside ``joblib.parallel_config(n_jobs=k)`` it means
    ``k``, as if ``n_jobs=k`` had been passed. An estimator may apply a documented,
    measured heuristic under ``None`` only (e.g. one torch thread for small layers).
``k >= 1``
    ``k`` workers or threads in every pool the estimator drives (its docstring says
    which: joblib workers, Numba threads, torch intra-op threads, BLAS threads).
    While ``k`` joblib workers run, each one's BLAS is limited to one thread.
``-1``, ``-k``
    All cores, all cores but ``k - 1`` (joblib's convention), at least one.
``0``
    Refused with a ``ValueError``.
"""

import contextlib
import numbers

__all__ = [
    "blas_threads",
    "check_n_jobs",
    "effective_n_threads",
    "n_workers",
    "numba_threads",
    "thread_limits",
    "worker_blas_limit",
]

_N_JOBS_ERROR = (
    "n_jobs={!r} is not valid: use None (library defaults), a positive int "
    "(that many threads or workers) or a negative int (-1 = all cores)."
)


def check_n_jobs(n_jobs):
    """Raise the one ``ValueError`` for an ``n_jobs`` that has no meaning (0, non-int)."""
    if n_jobs is None:
        return
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(_N_JOBS_ERROR.format(n_jobs))


def _configured_n_jobs():
    """``n_jobs`` of an enclosing ``joblib.parallel_config``, or ``None``."""
    from joblib.parallel import get_active_backend

    return get_active_backend()[1]


def effective_n_threads(n_jobs):
    """Threads meant by ``n_jobs``; ``None`` when the library defaults should stay.

    ``None`` gives the ``n_jobs`` of an enclosing ``joblib.parallel_config`` when
    there is one, else ``None``. A positive value is itself; ``-k`` is all but
    ``k - 1`` cores, at least one.
    """
    check_n_jobs(n_jobs)
    if n_jobs is None:
        n_jobs = _configured_n_jobs()
        if n_jobs is None:
            return None
        check_n_jobs(n_jobs)
    if n_jobs > 0:
        return int(n_jobs)
    from joblib import cpu_count

    return max(cpu_count() + 1 + int(n_jobs), 1)


def n_workers(n_jobs):
    """Joblib workers meant by ``n_jobs``: :func:`effective_n_threads`, ``None`` -> 1."""
    return effective_n_threads(n_jobs) or 1


@contextlib.contextmanager
def numba_threads(n_threads):
    """Run the block with ``n_threads`` Numba threads (capped by Numba's pool), then restore.

    ``None`` leaves Numba's setting alone.
    """
    if n_threads is None:
        yield
        return
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


@contextlib.contextmanager
def thread_limits(n_jobs, *, numba=True, blas=True):
    """Apply the rule to the Numba and/or BLAS pools for the duration of a block."""
    n_threads = effective_n_threads(n_jobs)
    with contextlib.ExitStack() as stack:
        if numba:
            stack.enter_context(numba_threads(n_threads))
        if blas:
            stack.enter_context(blas_threads(n_threads))
        yield n_threads


def worker_blas_limit(n_parallel_workers):
    """BLAS scope for ``n_parallel_workers`` joblib workers: one thread each when > 1."""
    return blas_threads(1 if n_parallel_workers > 1 else None)
