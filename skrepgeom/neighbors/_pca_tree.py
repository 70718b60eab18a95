"""Exact k-NN with a k-d tree over the leading principal coordinates.

A row ``x`` (centred) is split by an orthonormal basis into its first ``m``
principal coordinates ``t(x)`` and a residual ``x_res`` orthogonal to them. The
tree indexes ``z(x) = (t(x), ||x_res||)``, or ``t(x)`` alone (``with_residual=False``,
worth it when the residuals are small against neighbour distances: the extra
coordinate would prune little and costs the tree a dimension). For any two rows

    ||z(q) - z(x)||^2 = ||t(q) - t(x)||^2 + (||q_res|| - ||x_res||)^2 <= ||q - x||^2

(the triangle inequality on the residuals; without the residual coordinate the
bound only loosens), so tree distances are lower bounds of the true ones. A query takes its ``K`` nearest rows in ``z``, computes their exact
distances and keeps the best ``k``; the result is certified when the ``K``-th
lower bound exceeds the ``k``-th exact distance (every row not looked at is then
farther). Uncertified rows are searched again with ``4 K`` candidates, and by
brute force once ``K`` is no longer small against the number of rows.

With ``m`` equal to the number of features the residual vanishes and this is a
plain k-d tree in principal axes; with ``m`` at the data's intrinsic dimension
the tree works in ``m`` or ``m + 1`` dimensions whatever the ambient one, and only costs
``n (m + 1)`` float64 numbers besides ``X``.
"""

import math

import numpy as np
from joblib import Parallel, delayed

from skrepgeom.neighbors._kdtree import KDTree
from skrepgeom.neighbors._kernels import exact_rerank
from skrepgeom.utils._parallel import n_workers as _n_workers

# Rows of X whose covariance gives the basis: any orthonormal basis keeps the
# search exact, a sample is enough to make it efficient.
_BASIS_SAMPLE_ROWS = 16_384
_BASIS_SAMPLE_ROWS_MIN = 1024
_BASIS_SAMPLE_ELEMENTS = 2**22
# A row is searched by brute force once it would need this fraction of all rows
# as tree candidates (heavily duplicated or tied data).
_BRUTE_FALLBACK_FRACTION = 1 / 16
# Queries per tree call: bounds the candidate arrays and spreads work over workers.
_QUERY_CHUNK = 8192
# Residual variance share below which rows count as lying in the principal subspace
# (float32 rounding of data in a subspace leaves about 1e-14).
_SUBSPACE_RESIDUAL = 1e-10
_BLOCK_BYTES = 2**25
# Below this many features the sample's full covariance and eigh cost less than a
# randomized SVD of a few dozen axes (its power iterations dominate: 0.45 s against
# 0.05 s at 100 features, about equal at 768).
_RANDOMIZED_SVD_MIN_FEATURES = 800


def principal_basis(X, n_components=None):
    """Centre (float64), variances (descending) and principal axes (columns) of ``X``.

    Computed on evenly spaced rows: at most ``_BASIS_SAMPLE_ROWS``, and fewer in many
    dimensions so that the sample stays near ``_BASIS_SAMPLE_ELEMENTS`` numbers.
    With ``n_components`` and many features only the leading axes are computed
    (randomized SVD, seeded); ``variances`` then ends with one more entry, the
    variance of everything else.
    """
    n_samples, n_features = X.shape
    center = X.mean(axis=0, dtype=np.float64)
    n_rows = min(_BASIS_SAMPLE_ROWS, _BASIS_SAMPLE_ELEMENTS // n_features)
    n_rows = min(n_samples, max(_BASIS_SAMPLE_ROWS_MIN, n_rows))
    rows = np.unique(np.linspace(0, n_samples - 1, n_rows).astype(np.intp))
    sample = X[rows].astype(np.float64)
    sample -= center
    scale = 1.0 / max(len(rows) - 1, 1)
    if (n_components is None or n_components + 8 >= min(sample.shape)
            or n_features < _RANDOMIZED_SVD_MIN_FEATURES):
        variances, axes = np.linalg.eigh(sample.T @ sample * scale)
        return center, np.clip(variances[::-1], 0.0, None), np.ascontiguousarray(axes[:, ::-1])
    from sklearn.utils.extmath import randomized_svd

    _, singular, axes_t = randomized_svd(
        sample, n_components, n_oversamples=16, n_iter=4, random_state=0
    )
    variances = singular**2 * scale
    rest = max(float(np.einsum("ij,ij->", sample, sample)) * scale - variances.sum(), 0.0)
    return center, np.append(variances, rest), np.ascontiguousarray(axes_t.T)


def row_block(n_features, working_memory_bytes):
    """Rows per float64 working block: two such blocks fit in ``working_memory_bytes``
    and in ``_BLOCK_BYTES`` (larger blocks gain no speed)."""
    budget = min(working_memory_bytes, _BLOCK_BYTES)
    return int(max(1, min(_QUERY_CHUNK, budget // (16 * n_features))))


def project(X, center, axes, n_components, row_block, with_residual=True):
    """``z`` coordinates of every row: leading ``n_components`` coordinates, residual norm."""
    n_samples, n_features = X.shape
    with_residual = with_residual and n_components < n_features
    top = axes[:, :n_components]
    Z = np.empty((n_samples, n_components + int(with_residual)), dtype=np.float64)
    for start in range(0, n_samples, row_block):
        block = X[start : start + row_block].astype(np.float64)
        block -= center
        coordinates = block @ top
        Z[start : start + row_block, :n_components] = coordinates
        if with_residual:
            # The residual is formed explicitly: ||x||^2 - ||t(x)||^2 would cancel
            # catastrophically for rows close to the subspace.
            block -= coordinates @ top.T
            Z[start : start + row_block, n_components] = np.sqrt(
                np.einsum("ij,ij->i", block, block)
            )
    return Z


# Coordinates up to which the Numba k-d tree searches faster than scipy's cKDTree
# (asv_bench/compare/neighbors.py --case tree); beyond, cKDTree is kept (not measured).
_NUMBA_TREE_MAX_COORDINATES = 10


def coordinate_tree(Z):
    """The k-d tree over the ``z`` coordinates: both answer ``query(Z, k=)`` and give
    their leaf order as ``indices``; results are exact either way."""
    if Z.shape[1] <= _NUMBA_TREE_MAX_COORDINATES:
        return KDTree(Z)
    from scipy.spatial import cKDTree

    # Median splits cost more to build than they save here; compact nodes query faster.
    return cKDTree(Z, balanced_tree=False, compact_nodes=True, copy_data=False)


class PCATree:
    """The ``z`` index of ``X`` and its exact search (see the module docstring)."""

    def __init__(self, X, n_components, *, basis=None, working_memory_bytes=2**26,
                 with_residual=True):
        self.X = X
        self._row_block = row_block(X.shape[1], working_memory_bytes)
        if basis is None:
            basis = principal_basis(X, None if n_components == X.shape[1] else n_components)
        self.center, self.variances, self.axes = basis
        self.n_components = int(n_components)
        self.with_residual = with_residual
        residual_variance = float(np.sum(self.variances[self.n_components :]))
        self.in_subspace = residual_variance <= _SUBSPACE_RESIDUAL * float(np.sum(self.variances))
        self.Z = project(
            X, self.center, self.axes, self.n_components, self._row_block, with_residual
        )
        self.tree = coordinate_tree(self.Z)
        # Tree and exact distances both carry float64 rounding, relative to the
        # data's scale: certificates keep a margin far above it.
        scale = math.sqrt(float(np.max(np.einsum("ij,ij->i", self.Z, self.Z))))
        self.slack = 1e-9 * scale + 1e-300

    def kneighbors(self, Q, n_neighbors, self_rows=None, *, n_jobs=None, brute=None):
        """Exact neighbours of the rows of ``Q``.

        ``self_rows`` are the indices in ``X`` of the rows of ``Q`` when they are
        rows of ``X`` (self-query: each excludes its own index), else ``None``.
        ``brute(Q_rows, n_neighbors)`` searches the uncertified rows by brute force.
        """
        n_queries = Q.shape[0]
        distances = np.empty((n_queries, n_neighbors), dtype=np.float64)
        indices = np.empty((n_queries, n_neighbors), dtype=np.int64)
        order = self.query_order(Q, self_rows)
        # Each chunk copies its query rows (float64 at most) for the exact distances.
        chunk = self._row_block
        starts = range(0, n_queries, chunk)
        workers = max(1, min(_n_workers(n_jobs), len(starts)))

        def search(start):
            rows = order[start : start + chunk]
            own = None if self_rows is None else self_rows[rows]
            found_distances = np.empty((rows.size, n_neighbors), dtype=np.float64)
            found_indices = np.empty((rows.size, n_neighbors), dtype=np.int64)
            self._search(Q[rows], n_neighbors, own, found_distances, found_indices, brute)
            distances[rows] = found_distances
            indices[rows] = found_indices

        if workers == 1:
            for start in starts:
                search(start)
        else:
            # Workers write into shared arrays: threads, whatever backend is configured.
            Parallel(n_jobs=workers, backend="threading")(delayed(search)(s) for s in starts)
        return distances, indices

    def query_order(self, Q, self_rows):
        """Queries in an order where consecutive ones are close in space.

        Each query's result does not depend on the order, but neighbouring queries
        visit the same tree nodes and candidate rows, which then stay in cache: on
        shuffled data this halves to thirds the search time. Rows of ``X`` go in the
        tree's leaf order; other queries by their first principal coordinate.
        """
        if self_rows is not None:
            leaf_rank = np.empty(self.X.shape[0], dtype=np.intp)
            leaf_rank[self.tree.indices] = np.arange(self.X.shape[0])
            return np.argsort(leaf_rank[self_rows], kind="stable")
        first = np.empty(Q.shape[0], dtype=np.float64)
        for start in range(0, Q.shape[0], self._row_block):
            block = Q[start : start + self._row_block].astype(np.float64)
            first[start : start + self._row_block] = (block - self.center) @ self.axes[:, 0]
        return np.argsort(first, kind="stable")

    def _search(self, Q, n_neighbors, own, distances, indices, brute):
        n_samples = self.X.shape[0]
        pending = np.arange(Q.shape[0])
        excluded = int(own is not None)
        # When the rows lie in the principal subspace up to rounding, the bounds are
        # the distances and one extra candidate certifies all but ties; otherwise the
        # residuals loosen them and more candidates save repeated searches.
        margin = 1 if self.in_subspace else max(2, n_neighbors // 2)
        n_candidates = n_neighbors + excluded + margin
        Zq = self.Z[own] if own is not None else project(
            Q, self.center, self.axes, self.n_components, self._row_block, self.with_residual
        )
        while pending.size:
            brute_above = max(_BRUTE_FALLBACK_FRACTION * n_samples, n_neighbors + excluded + 16)
            if n_candidates > brute_above:
                distances[pending], indices[pending] = brute(
                    Q[pending], None if own is None else own[pending], n_neighbors
                )
                return
            n_candidates = min(n_candidates, n_samples)
            # Candidate arrays (16 bytes an entry) stay within the working block size.
            piece = max(1, self._row_block * self.X.shape[1] // n_candidates)
            uncertified = [
                self._certify(Q, Zq, own, rows, n_candidates, n_neighbors, distances, indices)
                for rows in np.array_split(pending, math.ceil(pending.size / piece))
            ]
            pending = np.concatenate(uncertified)
            n_candidates *= 4

    def _certify(self, Q, Zq, own, rows, n_candidates, n_neighbors, distances, indices):
        """Search ``rows`` with ``n_candidates`` tree candidates; return those not certified."""
        bounds, candidates = self.tree.query(Zq[rows], k=n_candidates)
        candidates = candidates.reshape(rows.size, n_candidates)
        bounds = bounds.reshape(rows.size, n_candidates)
        if own is not None:
            candidates[candidates == own[rows, None]] = -1
        found_distances = np.empty((rows.size, n_neighbors), dtype=np.float64)
        found_indices = np.empty((rows.size, n_neighbors), dtype=np.int64)
        exact_rerank(Q[rows], self.X, candidates, n_neighbors, found_distances, found_indices)
        if n_candidates == self.X.shape[0]:
            certified = np.ones(rows.size, dtype=bool)
        else:
            certified = bounds[:, -1] > found_distances[:, -1] + self.slack
        distances[rows[certified]] = found_distances[certified]
        indices[rows[certified]] = found_indices[certified]
        return rows[~certified]
