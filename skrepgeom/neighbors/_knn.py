"""The nearest-neighbour engine shared by every skrepgeom estimator."""

import math
import numbers

import numpy as np
import sys
import time
from typing import NamedTuple

from joblib import Parallel, delayed
from sklearn.utils import check_array

from skrepgeom.neighbors._dask import as_dask_points, dask_kneighbors
from skrepgeom.neighbors._kernels import exact_rerank, update_topk, update_topk_columns
from skrepgeom.neighbors._pca_tree import _BASIS_SAMPLE_ROWS, PCATree, principal_basis
from skrepgeom.utils._parallel import (
    check_n_jobs,
    effective_n_threads,
    n_workers,
    worker_blas_limit,
)
from skrepgeom.utils._validation import (
    FLOAT_DTYPES,
    check_dask_points,
    check_n_neighbors,
    is_dask_array,
)

__all__ = ["BACKENDS", "BackendChoice", "explain_backend", "kneighbors"]

BACKENDS = ("auto", "brute", "kd_tree", "pca_tree", "sklearn", "approximate", "dask")

# Extra candidates kept by the brute scan, re-ranked with exact distances: the norm
# expansion's rounding can swap near neighbours by a few positions.
_MIN_CANDIDATE_MARGIN = 4
# Tiles of about this size stay in the last-level cache between GEMM and scan.
_TARGET_TILE_BYTES = 8 * 2**20
# backend="auto": below this many (query, row) pairs brute force costs milliseconds.
_AUTO_SMALL_PAIRS = 2**24
# Below this predicted brute-force time the rest of the probe would cost about
# as much as a tree could save.
_AUTO_MIN_BRUTE_SECONDS = 0.1
# Query rows searched by each backend to predict its cost; the tree searches them
# as runs of consecutive queries in its search order.
_PROBE_ROWS = 256
_PROBE_RUNS = 4
# Per row, the symmetric self-query scan costs about this fraction of the probe's
# query scan (half the products; measured 0.37-0.63 from 10 to 1000 features).
_SYMMETRIC_FACTOR = 0.45
# A tree in more principal coordinates than this prunes little.
_MAX_TREE_COMPONENTS = 32
# Past this many, a k-d tree in every principal axis is probed too, when the bounds
# need at most a fraction of the axes, and when projecting the rows onto all axes
# costs at most a share of the brute-force products.
_KD_TREE_MIN_COMPONENTS = 16
_MAX_SPREAD_FRACTION = 0.5
_MAX_PROJECTION_SHARE = 0.05
# Residual noise allowed in the tree's lower bounds, as a fraction of a typical
# squared k-th neighbour distance.
_RESIDUAL_FRACTION = 0.5


def kneighbors(
    X,
    n_neighbors,
    *,
    query=None,
    backend="auto",
    working_memory=None,
    n_jobs=None,
    verbose=0,
    random_state=None,
    compute=False,
):
    """Euclidean k nearest neighbours, exact unless ``backend="approximate"``.

    Parameters
    ----------
    X : array-like or dask array of shape (n_samples, n_features)
        Data to search, float32 or float64 (other dtypes are converted to float64).
        A ``dask.array.Array`` is searched by the ``"dask"`` backend.
    n_neighbors : int
        Number of neighbours per query row.
    query : array-like or dask array of shape (n_queries, n_features), default=None
        Rows to find neighbours for. ``None`` queries every row of ``X`` among the
        **other** rows of ``X``: a row is excluded by its index, so an identical
        copy of it is still returned at distance 0.
    backend : {"auto", "brute", "pca_tree", "kd_tree", "sklearn", "approximate", \
            "dask"}, default="auto"
        ``"brute"``: blocked ``||q||^2 + ||x||^2 - 2 q.x`` scan with BLAS, fused
        with a Numba top-k selection (float32 GEMM for float32 data), never an
        N x N matrix. ``"pca_tree"``: a k-d tree (Numba up to 10 coordinates,
        else :class:`scipy.spatial.cKDTree`) over the
        leading principal coordinates and the residual norm, whose distances bound
        the true ones from below; candidates are re-ranked exactly until the bound
        certifies them, so its cost follows the intrinsic dimension. ``"kd_tree"``:
        the same tree over all principal coordinates. ``"sklearn"``:
        :class:`sklearn.neighbors.NearestNeighbors`. ``"approximate"``: pynndescent
        (``pip install skrepgeom[approx]``). ``"auto"`` probes the data (principal
        spectrum of a sample, a few hundred query rows searched by each candidate)
        and runs the exact backend with the lowest predicted time, see
        :func:`explain_backend` (``"dask"`` when ``X`` or ``query`` is a dask array).
        ``"dask"``: the brute-force scan as a dask graph, one task per pair of row
        blocks, chained per block to merge the lists, run by the current dask
        scheduler (a ``distributed.Client`` when one is active); NumPy input is cut
        into blocks of rows sized from ``working_memory``, and a memory-mapped file
        is read block by block by the tasks themselves. Results equal ``"brute"``'s.
        Values are checked chunk by chunk when the graph runs. See :ref:`scaling`.
    working_memory : float, default=None
        Upper bound in MiB for the distance tiles of the brute backend (all workers
        together) and for the row blocks the trees project and re-rank. ``None``
        uses scikit-learn's ``working_memory`` setting.
    n_jobs : int, default=None
        Joblib worker threads over blocks of query rows (all backends; passed on
        to scikit-learn and pynndescent by theirs). While several workers run, BLAS
        is limited to one thread each; ``None`` runs one worker and leaves BLAS
        threading alone, unless inside ``joblib.parallel_config(n_jobs=...)`` (the
        package's one ``n_jobs`` rule, in the user guide's Parallelism section).
    verbose : int, default=0
        When > 0, print the choice of ``"auto"`` and its reason, and show a
        progress bar over the query blocks of the brute-force scan.
    random_state : int, RandomState instance or None, default=None
        Seed of the approximate backend; ignored by the exact ones.
    compute : bool, default=False
        With ``backend="dask"``: return NumPy arrays (computed on the scheduler)
        instead of dask arrays. Ignored by the in-memory backends, which always
        return NumPy arrays.

    Returns
    -------
    distances : ndarray or dask array of shape (n_queries, n_neighbors), dtype=float64
        Distances in ascending order (a dask array when ``backend="dask"`` and
        ``compute=False``), recomputed from ``x - y`` in float64: a
        distance is 0 if and only if the rows are identical.
    indices : ndarray or dask array of shape (n_queries, n_neighbors), dtype=intp
        Row indices into ``X``; equal distances are ordered by smaller index.

    Notes
    -----
    Only the Euclidean distance is supported. For the cosine distance, normalise
    the rows to unit norm first: Euclidean neighbours of unit vectors are cosine
    neighbours.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.neighbors import kneighbors
    >>> X = np.array([[0.0], [1.0], [3.0], [1.0]])
    >>> distances, indices = kneighbors(X, 2)
    >>> distances
    array([[1., 1.],
           [0., 1.],
           [2., 2.],
           [0., 1.]])
    >>> indices
    array([[1, 3],
           [3, 0],
           [1, 3],
           [1, 0]])
    """
    if is_dask_array(X) or is_dask_array(query):
        if backend not in ("auto", "dask"):
            raise ValueError(
                f'X or query is a dask array: backend must be "auto" or "dask", got '
                f"backend={backend!r} (call .compute() first to search in memory)."
            )
        backend = "dask"
    if backend == "dask":
        return _dask_search(X, query, n_neighbors, working_memory, n_jobs, compute)
    X = _check_points(X, "X")
    self_query = query is None
    if self_query:
        Q = X
    else:
        Q = _check_points(query, "query", dtype=X.dtype)
        if Q.shape[1] != X.shape[1]:
            raise ValueError(
                f"query has {Q.shape[1]} features but X has {X.shape[1]}; they must match."
            )
    check_n_neighbors(n_neighbors, X.shape[0], self_query=self_query)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got backend={backend!r}.")
    _check_working_memory(working_memory)
    check_n_jobs(n_jobs)
    tree = None
    if backend == "auto":
        choice, tree = _choose_backend(X, Q, n_neighbors, self_query, working_memory, n_jobs)
        if verbose:
            print(f"kneighbors: backend={choice.backend!r}: {choice.reason}")
        backend = choice.backend

    if backend == "brute":
        return _brute(X, Q, n_neighbors, self_query, working_memory, n_jobs, verbose)
    if backend in ("kd_tree", "pca_tree"):
        if tree is None:
            tree = _build_tree(X, Q, n_neighbors, self_query, backend, working_memory, n_jobs)[0]
        return _tree_search(tree, X, Q, n_neighbors, self_query, working_memory, n_jobs)
    if backend == "sklearn":
        return _sklearn(X, Q, n_neighbors, self_query, working_memory, n_jobs)
    candidates = _approximate_candidates(
        X, Q, n_neighbors, self_query, n_jobs, verbose, random_state
    )
    return _rerank(Q, X, candidates, n_neighbors)


def _dask_search(X, query, n_neighbors, working_memory, n_jobs, compute):
    """Validate (lazily for dask arrays) and search with the dask graph."""
    _check_working_memory(working_memory)
    check_n_jobs(n_jobs)

    def as_dask(points, name, dtype):
        if is_dask_array(points):
            return check_dask_points(points, name, dtype=dtype), None
        return as_dask_points(_check_points(points, name, dtype=dtype), name, working_memory)

    X, x_source = as_dask(X, "X", FLOAT_DTYPES)
    Q, query_source = (None, None) if query is None else as_dask(query, "query", X.dtype)
    if Q is not None and Q.shape[1] != X.shape[1]:
        raise ValueError(
            f"query has {Q.shape[1]} features but X has {X.shape[1]}; they must match."
        )
    check_n_neighbors(n_neighbors, X.shape[0], self_query=Q is None)
    return dask_kneighbors(X, n_neighbors, query=Q, working_memory=working_memory,
                           compute=compute, x_source=x_source, query_source=query_source)


def _check_points(X, name, dtype=FLOAT_DTYPES):
    return check_array(
        X,
        dtype=dtype,
        accept_sparse=False,
        ensure_all_finite=True,
        ensure_2d=True,
        input_name=name,
        order="C",
    )


def _check_working_memory(working_memory):
    if working_memory is not None and not (
        isinstance(working_memory, numbers.Real) and working_memory > 0
    ):
        raise ValueError(f"working_memory must be a positive number, got {working_memory!r}.")


class BackendChoice(NamedTuple):
    """The exact backend ``backend="auto"`` picks, and why (see :func:`explain_backend`)."""

    backend: str
    """``"brute"``, ``"pca_tree"`` or ``"kd_tree"``."""
    reason: str
    """One sentence: the measured or predicted costs behind the choice."""
    n_components: int
    """Principal coordinates of the fastest tree probed, chosen or not (0 when no tree
    was considered; the number needed when none could prune)."""
    predicted_seconds: dict
    """Predicted search time of each backend probed, from the probe's timings."""
    probe_seconds: float
    """Time the probe itself took."""


def explain_backend(X, n_neighbors, *, query=None, working_memory=None, n_jobs=None):
    """Which exact backend ``kneighbors(..., backend="auto")`` picks, and why.

    The probe is the one :func:`kneighbors` runs: the principal spectrum of a sample
    of rows sets how many principal coordinates a tree needs, then a few hundred
    query rows are searched with each candidate backend and the timings are
    extrapolated to all rows (see the user guide's cost model). All exact backends
    return the same neighbours, so the choice only changes the time taken.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data to search.
    n_neighbors : int
        Number of neighbours per query row.
    query : array-like of shape (n_queries, n_features), default=None
        Query rows; ``None`` is the self-query of :func:`kneighbors`.
    working_memory : float, default=None
        As in :func:`kneighbors`.
    n_jobs : int, default=None
        As in :func:`kneighbors`: the probe runs with the threads the search would use.

    Returns
    -------
    choice : BackendChoice
        Named tuple ``(backend, reason, n_components, predicted_seconds, probe_seconds)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.neighbors import explain_backend
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> explain_backend(X, 2).backend
    'brute'
    """
    X = _check_points(X, "X")
    Q = X if query is None else _check_points(query, "query", dtype=X.dtype)
    if Q.shape[1] != X.shape[1]:
        raise ValueError(
            f"query has {Q.shape[1]} features but X has {X.shape[1]}; they must match."
        )
    check_n_neighbors(n_neighbors, X.shape[0], self_query=query is None)
    _check_working_memory(working_memory)
    check_n_jobs(n_jobs)
    return _choose_backend(X, Q, n_neighbors, query is None, working_memory, n_jobs)[0]


def _probe_rows(n_queries):
    """Evenly spaced query rows of the probe (deterministic)."""
    return np.unique(np.linspace(0, n_queries - 1, min(n_queries, _PROBE_ROWS)).astype(np.intp))


def _brute_probe(X, Q, rows, n_neighbors, self_query, working_memory, n_jobs):
    """Seconds per query row of the brute backend, and the probe rows' exact distances."""
    start = time.perf_counter()
    own = rows if self_query else None
    distances, _ = _brute_rows(X, Q[rows], own, n_neighbors, working_memory, n_jobs)
    return (time.perf_counter() - start) / len(rows), distances


def _n_components(variances, kth_distances, n_features):
    """Fewest leading principal coordinates whose residual loosens the bounds little.

    Two rows differing by noise of total variance ``s`` in the discarded coordinates
    are about ``2 s`` apart in squared distance there, all of which the residual-norm
    coordinate loses; the tree stays selective while that is small against a typical
    squared k-th neighbour distance.
    """
    allowed = _RESIDUAL_FRACTION * float(np.median(kth_distances**2))
    # residual[m]: variance outside the first m axes. ``variances`` may end with the
    # lumped variance of the axes not computed; m never reaches into that lump.
    residual = np.cumsum(variances[::-1])[::-1]
    fits = np.flatnonzero(2 * residual <= allowed)
    return int(fits[0]) if fits.size else n_features


def _choose_backend(X, Q, n_neighbors, self_query, working_memory, n_jobs):
    """The backend ``"auto"`` runs, its explanation, and the tree if one was built."""
    start = time.perf_counter()
    n_queries, (n_samples, n_features) = Q.shape[0], X.shape
    if n_queries * n_samples <= _AUTO_SMALL_PAIRS:
        reason = (f"{n_queries} x {n_samples} row pairs: small enough that probing would "
                  "cost more than it could save")
        return BackendChoice("brute", reason, 0, {}, time.perf_counter() - start), None

    rows = _probe_rows(n_queries)
    brute_row_seconds, probe_distances = _brute_probe(
        X, Q, rows, n_neighbors, self_query, working_memory, n_jobs
    )
    brute_seconds = brute_row_seconds * n_queries * (_SYMMETRIC_FACTOR if self_query else 1.0)
    predicted = {"brute": brute_seconds}
    if brute_seconds < _AUTO_MIN_BRUTE_SECONDS:
        reason = f"brute predicted {brute_seconds:.3g} s: too fast for a tree to pay off"
        return BackendChoice("brute", reason, 0, predicted, time.perf_counter() - start), None
    basis = principal_basis(X, _MAX_TREE_COMPONENTS + 1)
    n_components = _n_components(basis[1], probe_distances[:, -1], n_features)
    candidates = [] if n_components > _MAX_TREE_COMPONENTS else [("pca_tree", n_components)]
    if n_components > _KD_TREE_MIN_COMPONENTS:
        # Many coordinates bound the distances, yet the spectrum may still be
        # concentrated (low-rank data under isotropic noise): a k-d tree in all
        # principal axes splits on the leading ones and computes exact distances in
        # its leaves, so the loose bounds of a truncated tree cost it nothing.
        concentrated = n_components <= _MAX_SPREAD_FRACTION * n_features
        projection_share = ((min(n_samples, _BASIS_SAMPLE_ROWS) + n_samples) * n_features
                            / (n_queries * n_samples * _SYMMETRIC_FACTOR))
        # That index holds every row in every axis in float64: like any other working
        # array, it must stay within working_memory.
        index_fits = 8 * n_samples * n_features <= _tree_block_bytes(working_memory)
        if concentrated and projection_share <= _MAX_PROJECTION_SHARE and index_fits:
            candidates.append(("kd_tree", n_features))
        elif not candidates:
            if not concentrated:
                why = "the data fill most axes"
            elif projection_share > _MAX_PROJECTION_SHARE:
                why = "projecting onto every axis would cost too much of brute's time"
            else:
                why = "an index in every axis would exceed working_memory"
            reason = (f"bounding distances needs {n_components} principal coordinates "
                      f"(> {_MAX_TREE_COMPONENTS}), too many for a tree to prune and {why}; "
                      f"brute predicted {brute_seconds:.3g} s")
            return BackendChoice("brute", reason, n_components, predicted,
                                 time.perf_counter() - start), None

    best, best_tree, summaries = "brute", None, []
    for backend, tree_components in candidates:
        if backend == "kd_tree" and basis[2].shape[1] < n_features:
            basis = principal_basis(X)
        tree_seconds, build_seconds, tree = _probe_tree(
            X, Q, n_neighbors, self_query, working_memory, n_jobs, basis, tree_components,
            # Give up once clearly slower than the best so far.
            limit_seconds=2 * predicted[best] / n_queries * _PROBE_ROWS,
        )
        predicted[backend] = tree_seconds
        where = ("every principal axis" if backend == "kd_tree"
                 else f"{tree_components} principal coordinates")
        summaries.append(f"{backend} on {where} predicted {tree_seconds:.3g} s "
                         f"(built in {build_seconds:.3g} s)")
        if tree_seconds < predicted[best]:
            best, best_tree = backend, tree
    summary = ", ".join(summaries + [f"brute {brute_seconds:.3g} s"])
    # The coordinates of the fastest tree probed, chosen or not.
    fastest_tree = min(candidates, key=lambda candidate: predicted[candidate[0]])
    return (BackendChoice(best, summary, fastest_tree[1], predicted,
                          time.perf_counter() - start), best_tree)


def _probe_tree(X, Q, n_neighbors, self_query, working_memory, n_jobs, basis, n_components,
                limit_seconds):
    """Predicted search time of a tree on ``n_components`` principal coordinates, its
    build time, and the tree."""
    build_start = time.perf_counter()
    # The residual variance is within the budget (or there is none): its coordinate
    # would prune little and cost the tree a dimension.
    tree = PCATree(
        X, n_components, basis=basis, working_memory_bytes=_tree_block_bytes(working_memory),
        with_residual=False,
    )
    build_seconds = time.perf_counter() - build_start
    # The full search runs queries in an order where consecutive ones are close, and
    # gains from the cache what scattered probe rows would not: the probe searches a
    # few runs of consecutive queries of that order.
    order = tree.query_order(Q, np.arange(X.shape[0]) if self_query else None)
    tree_start, done = time.perf_counter(), 0
    for run in _probe_runs(order):
        _tree_rows(tree, X, Q[run], run if self_query else None, n_neighbors,
                   working_memory, n_jobs)
        done += len(run)
        if time.perf_counter() - tree_start > limit_seconds:
            break
    return (time.perf_counter() - tree_start) / done * Q.shape[0], build_seconds, tree


def _probe_runs(order):
    """``_PROBE_RUNS`` runs of consecutive entries of ``order``, evenly spread."""
    run = max(1, min(len(order), _PROBE_ROWS) // _PROBE_RUNS)
    starts = np.unique(np.linspace(0, len(order) - run, _PROBE_RUNS).astype(np.intp))
    return [order[s : s + run] for s in starts]


def _tree_block_bytes(working_memory):
    """Bytes of the float64 row blocks the tree projects at a time."""
    if working_memory is None:
        from sklearn import get_config

        working_memory = get_config()["working_memory"]
    return working_memory * 2**20


def _build_tree(X, Q, n_neighbors, self_query, backend, working_memory, n_jobs):
    if backend == "kd_tree":
        basis = principal_basis(X)
        n_components = needed = X.shape[1]
    else:
        basis = principal_basis(X, _MAX_TREE_COMPONENTS + 1)
        rows = _probe_rows(Q.shape[0])
        _, probe_distances = _brute_probe(
            X, Q, rows, n_neighbors, self_query, working_memory, n_jobs
        )
        # Only the leading axes were computed: more would not prune anyway.
        needed = _n_components(basis[1], probe_distances[:, -1], X.shape[1])
        n_components = min(needed, _MAX_TREE_COMPONENTS + 1, basis[2].shape[1])
    # The residual-norm coordinate only pays when the residual exceeds the budget of
    # _n_components (too many axes needed); within it, it prunes little and costs
    # the tree a dimension.
    with_residual = needed > n_components
    return PCATree(X, n_components, basis=basis, with_residual=with_residual,
                   working_memory_bytes=_tree_block_bytes(working_memory)), n_components


def _tree_rows(tree, X, Q_rows, own_rows, n_neighbors, working_memory, n_jobs):
    def brute(Q_sub, own_sub, k):
        return _brute_rows(X, Q_sub, own_sub, k, working_memory, 1)

    return tree.kneighbors(Q_rows, n_neighbors, own_rows, n_jobs=n_jobs, brute=brute)


def _tree_search(tree, X, Q, n_neighbors, self_query, working_memory, n_jobs):
    own = np.arange(X.shape[0]) if self_query else None
    distances, indices = _tree_rows(tree, X, Q, own, n_neighbors, working_memory, n_jobs)
    return distances, indices.astype(np.intp, copy=False)


def _brute_rows(X, Q_rows, own_rows, n_neighbors, working_memory, n_jobs):
    """Brute force for some query rows; ``own_rows`` (their indices in X) are excluded."""
    if own_rows is None:
        return _brute(X, Q_rows, n_neighbors, False, working_memory, n_jobs, 0)
    _, indices = _brute(X, Q_rows, n_neighbors + 1, False, working_memory, n_jobs, 0)
    return _rerank(Q_rows, X, _drop_self(indices, n_neighbors, own_rows), n_neighbors)


def _rerank(Q, X, candidates, n_neighbors):
    distances = np.empty((Q.shape[0], n_neighbors), dtype=np.float64)
    indices = np.empty((Q.shape[0], n_neighbors), dtype=np.int64)
    candidates = np.ascontiguousarray(candidates, dtype=np.int64)
    exact_rerank(Q, X, candidates, n_neighbors, distances, indices)
    return distances, indices.astype(np.intp, copy=False)


def _drop_self(indices, n_neighbors, rows=None):
    """Mark each row's own index as missing (-1); where it is absent, drop the last.

    ``rows`` are the indices in ``X`` of the query rows (default: all rows, in order).
    """
    rows = np.arange(indices.shape[0]) if rows is None else np.asarray(rows)
    is_self = indices == rows[:, None]
    missing_self = ~is_self.any(axis=1)
    is_self[missing_self, -1] = True
    return np.where(is_self, -1, indices)


def _sklearn(X, Q, n_neighbors, self_query, working_memory, n_jobs):
    """scikit-learn's neighbours, made exact with ties by index.

    A few extra candidates are re-ranked exactly; a row whose last candidate is not
    clearly farther than its k-th neighbour (ties, or rounding in scikit-learn's
    distances) may miss a tied row of smaller index and is searched by brute force.
    """
    from sklearn.neighbors import NearestNeighbors

    n_samples = X.shape[0]
    k = min(n_samples, n_neighbors + int(self_query) + max(2, n_neighbors // 2))
    nn = NearestNeighbors(n_neighbors=k, n_jobs=effective_n_threads(n_jobs)).fit(X)
    bounds, candidates = nn.kneighbors(Q)
    own = np.arange(n_samples) if self_query else None
    if self_query:
        candidates[candidates == own[:, None]] = -1
    distances, indices = _rerank(Q, X, candidates, n_neighbors)
    if k < n_samples:
        scale = float(np.max(np.abs(X))) * math.sqrt(X.shape[1])
        uncertain = np.flatnonzero(bounds[:, -1] <= distances[:, -1] + 1e-6 * scale)
        if uncertain.size:
            distances[uncertain], indices[uncertain] = _brute_rows(
                X, Q[uncertain], None if own is None else own[uncertain], n_neighbors,
                working_memory, n_jobs,
            )
    return distances, indices


def _approximate_candidates(X, Q, n_neighbors, self_query, n_jobs, verbose, random_state):
    try:
        from pynndescent import NNDescent
    except ImportError as exc:
        raise ImportError(
            'backend="approximate" needs pynndescent: pip install "skrepgeom[approx]" '
            "(or pip install pynndescent)."
        ) from exc
    k = n_neighbors + int(self_query)
    seed = None if random_state is None else np.random.RandomState(random_state)
    index = NNDescent(
        X,
        n_neighbors=max(k, 15),
        random_state=seed,
        n_jobs=effective_n_threads(n_jobs),
        verbose=bool(verbose),
        compressed=False,
    )
    if self_query:
        indices = index.neighbor_graph[0][:, :k]
        return _drop_self(indices, n_neighbors)
    indices, _ = index.query(Q, k=n_neighbors)
    return indices


def _brute(X, Q, n_neighbors, self_query, working_memory, n_jobs, verbose):
    n_queries, n_samples = Q.shape[0], X.shape[0]
    available = n_samples - int(self_query)
    n_candidates = min(available, n_neighbors + max(_MIN_CANDIDATE_MARGIN, n_neighbors // 2))
    workers = max(1, min(n_workers(n_jobs), n_queries))
    if self_query:
        return _brute_symmetric(X, n_neighbors, n_candidates, working_memory, workers, verbose)
    query_block, data_block = _tile_shape(
        n_queries, n_samples, X.dtype.itemsize, working_memory, workers
    )
    center = _center(X)
    # Data tiles are centred on the fly: no copy of X, whose size is not bounded.
    column_norms = np.empty(n_samples, dtype=X.dtype)
    for column in range(0, n_samples, data_block):
        centered = X[column : column + data_block] - center
        column_norms[column : column + data_block] = np.einsum("ij,ij->i", centered, centered)
    query_starts = range(0, n_queries, query_block)
    if verbose:
        from tqdm.auto import tqdm

        query_starts = tqdm(query_starts, desc="kneighbors", unit="block")

    distances = np.empty((n_queries, n_neighbors), dtype=np.float64)
    indices = np.empty((n_queries, n_neighbors), dtype=np.int64)

    def search_block(start):
        stop = min(start + query_block, n_queries)
        scaled_query = -2 * (Q[start:stop] - center)
        tile = np.empty((stop - start, data_block), dtype=X.dtype)
        columns = np.empty((data_block, X.shape[1]), dtype=X.dtype)
        best_key = np.full((stop - start, n_candidates), np.inf, dtype=X.dtype)
        best_index = np.full((stop - start, n_candidates), -1, dtype=np.int64)
        for column in range(0, n_samples, data_block):
            end = min(column + data_block, n_samples)
            products = tile[:, : end - column]
            centered = np.subtract(X[column:end], center, out=columns[: end - column])
            np.matmul(scaled_query, centered.T, out=products)
            update_topk(
                products, column_norms[column:end], column, start, False, best_key, best_index
            )
        exact_rerank(
            Q[start:stop], X, best_index, n_neighbors, distances[start:stop], indices[start:stop]
        )

    if workers == 1:
        for start in query_starts:
            search_block(start)
    else:
        with worker_blas_limit(workers):
            # Workers write into shared arrays: threads, whatever backend is configured.
            Parallel(n_jobs=workers, backend="threading")(
                delayed(search_block)(start) for start in query_starts
            )
    return distances, indices.astype(np.intp, copy=False)


def _tile_shape(n_queries, n_samples, itemsize, working_memory, workers):
    """Query rows and data rows per tile, within ``working_memory`` MiB over all workers."""
    budget = _tile_budget(working_memory, workers)
    data_block = int(min(n_samples, 4096, max(64, budget // (itemsize * 256))))
    query_block = int(max(1, min(n_queries, budget // (itemsize * data_block))))
    # Spread the queries evenly over the workers when there are few of them.
    query_block = min(query_block, max(1, math.ceil(n_queries / workers)))
    return query_block, data_block


def _center(X):
    """Mean of ``X`` rounded to X's dtype.

    Distances are translation invariant; centring shrinks ``||x||^2`` and with it
    the rounding error of the expansion (data far from the origin would otherwise
    lose every digit of its small neighbour distances in float32). Any point near
    the mean serves, so it is rounded to X's dtype and blocks are centred in it.
    """
    return X.mean(axis=0, dtype=np.float64).astype(X.dtype)


def _brute_symmetric(X, n_neighbors, n_candidates, working_memory, workers, verbose):
    """Self-query brute force computing each tile pair once (half the GEMM work).

    Tile ``(I, J)`` with ``J >= I`` updates the candidates of the rows of ``I``
    (row-wise) and of the rows of ``J`` (column-wise). Each worker keeps private
    candidate lists for all rows, merged by the exact re-ranking at the end: a pair
    of rows is scanned by exactly one worker, so the lists never share an entry.
    """
    n_samples = X.shape[0]
    # Blocks are centred on the fly instead of copying all of X.
    center = _center(X)
    norms = np.empty(n_samples, dtype=X.dtype)
    block = _square_block(n_samples, X.dtype.itemsize, working_memory, workers)
    starts = list(range(0, n_samples, block))
    # Row block I meets len(starts) - I blocks: deal them out in a snake so the
    # workers get similar amounts of work.
    assignments = [[] for _ in range(workers)]
    for position, row_block in enumerate(range(len(starts))):
        lap, offset = divmod(position, workers)
        assignments[offset if lap % 2 == 0 else workers - 1 - offset].append(row_block)
    progress = None
    if verbose:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(starts), desc="kneighbors", unit="block")

    for r0 in starts:
        centered = X[r0 : r0 + block] - center
        norms[r0 : r0 + block] = np.einsum("ij,ij->i", centered, centered)

    def search(row_blocks):
        best_key = np.full((n_samples, n_candidates), np.inf, dtype=X.dtype)
        best_index = np.full((n_samples, n_candidates), -1, dtype=np.int64)
        tile = np.empty((block, block), dtype=X.dtype)
        columns = np.empty((block, X.shape[1]), dtype=X.dtype)
        for row_block in row_blocks:
            r0 = starts[row_block]
            r1 = min(r0 + block, n_samples)
            scaled_rows = -2 * (X[r0:r1] - center)
            for c0 in starts[row_block:]:
                c1 = min(c0 + block, n_samples)
                centered_columns = np.subtract(X[c0:c1], center, out=columns[: c1 - c0])
                products = tile[: r1 - r0, : c1 - c0]
                np.matmul(scaled_rows, centered_columns.T, out=products)
                update_topk(products, norms[c0:c1], c0, r0, c0 == r0, best_key[r0:r1], best_index[r0:r1])
                if c0 != r0:
                    update_topk_columns(products, norms[r0:r1], r0, c0, best_key, best_index)
            if progress is not None:
                progress.update()
        return best_index

    if workers == 1:
        candidates = search(assignments[0])
    else:
        with worker_blas_limit(workers):
            # Workers write into shared arrays: threads, whatever backend is configured.
            parts = Parallel(n_jobs=workers, backend="threading")(
                delayed(search)(row_blocks) for row_blocks in assignments
            )
        candidates = np.concatenate(parts, axis=1)
    if progress is not None:
        progress.close()
    distances = np.empty((n_samples, n_neighbors), dtype=np.float64)
    indices = np.empty((n_samples, n_neighbors), dtype=np.int64)
    exact_rerank(X, X, candidates, n_neighbors, distances, indices)
    return distances, indices.astype(np.intp, copy=False)


def _square_block(n_samples, itemsize, working_memory, workers):
    """Side of the square tiles of the symmetric scan, within ``working_memory``."""
    budget = _tile_budget(working_memory, workers)
    return int(max(1, min(n_samples, math.isqrt(int(budget // itemsize)))))


def _tile_budget(working_memory, workers):
    """Bytes of one worker's tile: its share of ``working_memory`` (MiB), cache-sized."""
    if working_memory is None:
        from sklearn import get_config

        working_memory = get_config()["working_memory"]
    return min(working_memory * 2**20 / workers, _TARGET_TILE_BYTES)
