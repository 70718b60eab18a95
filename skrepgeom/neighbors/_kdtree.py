"""Exact k nearest neighbours with a Numba k-d tree, for a few coordinates.

The tree is complete and implicit: each node splits its rows at the median of the
widest side of their bounding box, down to leaves of at most ``leaf_size`` rows,
and the rows are copied in leaf order so that a leaf is one contiguous block.
Every node keeps the tight box of its rows; a query descends depth first, nearer
child first, and skips a node whose box is strictly farther than its current
``k``-th neighbour, so ties are decided by the smaller row index as in a brute
force. All of it is compiled: a batch of queries costs no Python per query, and
batches run in Numba threads with results that do not depend on their number.

Its interface follows :class:`scipy.spatial.cKDTree` where the k-NN engine uses it
(``indices``, ``query``), so either serves the principal-coordinate search of
:mod:`skrepgeom.neighbors._pca_tree`.
"""

import math

import numpy as np

from skrepgeom.neighbors._kernels import kdtree_build, kdtree_query, kdtree_query_parallel
from skrepgeom.utils._parallel import effective_n_threads, numba_threads

__all__ = ["KDTree"]

# Query rows per Numba task: enough to amortise the task, small enough to balance.
_QUERY_BLOCK = 1024


class KDTree:
    """Numba k-d tree over the rows of ``points`` (float32 or float64, finite).

    Parameters
    ----------
    points : ndarray of shape (n_samples, n_features)
        Rows to index; meant for few features (a tree prunes little beyond ~16).
    leaf_size : int, default=16
        Largest number of rows in a leaf (at least 2); leaves hold more than
        ``leaf_size / 2`` rows unless there are fewer rows in all.

    Attributes
    ----------
    indices : ndarray of shape (n_samples,)
        Rows of ``points`` in leaf order (as ``cKDTree.indices``).
    data : ndarray of shape (n_samples, n_features)
        ``points[indices]``.
    n_levels : int
        Depth of the tree (``2 ** n_levels`` leaves).

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.neighbors._kdtree import KDTree
    >>> tree = KDTree(np.array([[0.0], [1.0], [3.0], [1.0]]), leaf_size=2)
    >>> distances, indices = tree.kneighbors_self(2)
    >>> indices
    array([[1, 3],
           [3, 0],
           [1, 3],
           [1, 0]])
    """

    def __init__(self, points, leaf_size=16):
        points = np.asarray(points)
        if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] == 0:
            raise ValueError(f"points must be a non-empty 2-D array, got shape {points.shape}.")
        if points.dtype not in (np.float32, np.float64):
            raise TypeError(f"points must be float32 or float64, got {points.dtype}.")
        if not np.all(np.isfinite(points)):
            raise ValueError("points contain NaN or infinity.")
        if int(leaf_size) < 2:
            # Halving splits cannot cut every count down to single rows.
            raise ValueError(f"leaf_size must be >= 2, got {leaf_size!r}.")
        points = np.ascontiguousarray(points)
        n_samples, n_features = points.shape
        self.n_levels = max(0, math.ceil(math.log2(n_samples / int(leaf_size))))
        n_nodes = 2 ** (self.n_levels + 1) - 1
        self.indices = np.arange(n_samples, dtype=np.int64)
        self._start = np.empty(n_nodes, dtype=np.int64)
        self._end = np.empty(n_nodes, dtype=np.int64)
        self._lo = np.empty((n_nodes, n_features), dtype=np.float64)
        self._hi = np.empty((n_nodes, n_features), dtype=np.float64)
        self.data = points.copy()
        kdtree_build(self.data, self.n_levels, self.indices, self._start, self._end,
                     self._lo, self._hi)

    @property
    def n(self):
        """Number of indexed rows (as ``cKDTree.n``)."""
        return self.data.shape[0]

    def query(self, queries, k, *, exclude=None, n_jobs=None):
        """The ``k`` nearest indexed rows of each query row.

        Parameters
        ----------
        queries : ndarray of shape (n_queries, n_features)
            Query rows, float32 or float64.
        k : int
            Neighbours per query.
        exclude : ndarray of shape (n_queries,), default=None
            Row of ``points`` each query skips (its own index in a self-query;
            -1 for none).
        n_jobs : int, default=None
            Numba threads over blocks of queries (the package's ``n_jobs`` rule;
            ``None`` searches in the calling thread).

        Returns
        -------
        distances : ndarray of shape (n_queries, k), dtype=float64
            Euclidean distances in ascending order (``inf`` past the last row).
        indices : ndarray of shape (n_queries, k), dtype=int64
            Rows of ``points``, ties by smaller index (``n_samples`` past the last row).
        """
        queries = np.ascontiguousarray(queries)
        if queries.ndim != 2 or queries.shape[1] != self.data.shape[1]:
            raise ValueError(
                f"queries must have shape (n_queries, {self.data.shape[1]}), got {queries.shape}."
            )
        if queries.dtype not in (np.float32, np.float64):
            queries = queries.astype(np.float64)
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k!r}.")
        n_queries = queries.shape[0]
        own = (np.full(n_queries, -1, dtype=np.int64) if exclude is None
               else np.ascontiguousarray(exclude, dtype=np.int64))
        if own.shape != (n_queries,):
            raise ValueError(f"exclude must have shape ({n_queries},), got {own.shape}.")
        distances = np.empty((n_queries, int(k)), dtype=np.float64)
        indices = np.empty((n_queries, int(k)), dtype=np.int64)
        args = (self.data, self.indices, self._start, self._end, self._lo, self._hi,
                self.n_levels, queries, own, int(k))
        n_threads = effective_n_threads(n_jobs)
        if n_threads is None or n_threads == 1 or n_queries <= _QUERY_BLOCK:
            kdtree_query(*args, distances, indices)
        else:
            with numba_threads(n_threads):
                kdtree_query_parallel(*args, _QUERY_BLOCK, distances, indices)
        return distances, indices

    def kneighbors_self(self, k, *, n_jobs=None):
        """Each indexed row's ``k`` nearest other rows (by index: duplicates are kept).

        Queries run in leaf order, so that consecutive ones share nodes in cache.
        Returns ``(distances, indices)`` as :meth:`query`, row ``i`` for row ``i``.
        """
        distances, indices = self.query(self.data, k, exclude=self.indices, n_jobs=n_jobs)
        out_distances = np.empty_like(distances)
        out_indices = np.empty_like(indices)
        out_distances[self.indices] = distances
        out_indices[self.indices] = indices
        return out_distances, out_indices
