"""Ragged neighbour lists: one search for every row, longer lists only where needed."""

import numpy as np

from skrepgeom.cluster._kernels import adaptive_kstar, kstar_ratio_bounds

__all__ = ["NeighborLists", "grow_kstar"]

# Neighbours whose lists a blocked k* walk asks for at once (beyond the one it needs):
# fewer rounds of searches against lists requested for nothing.
_PREFETCH = 16
# Once this fraction of the rows needs longer lists, one self-query of all rows is
# cheaper than querying them (it computes each pair once, and in one pass).
_FULL_SEARCH_FRACTION = 1 / 8


class NeighborLists:
    """Neighbour lists of the rows of ``X``, each a prefix of the row's full list.

    Every row has the ``base`` lists of one self-query (``distances``, ``indices``,
    ``base_columns`` neighbours); the rows that need more have their first
    ``n_columns`` neighbours in ``long_distances``/``long_indices``, at row
    ``long_row[i]`` (-1 for rows without); once many rows need them, all rows are
    searched again instead. A longer list is searched as the row's
    ``n_columns + 1`` nearest rows of ``X`` minus the row itself (by index), which is
    exactly its self-query list: distances are exact and ties ordered by index.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Distinct rows.
    n_columns : int
        Neighbours of the first search.
    search : callable
        ``search(n_neighbors, query)`` -> ``(distances, indices)``: the self-query of
        :func:`~skrepgeom.neighbors.kneighbors` on ``X`` when ``query`` is None, else
        the query of those rows.
    """

    def __init__(self, X, n_columns, search):
        self._X = X
        self._search = search
        self.distances, self.indices = search(n_columns, None)
        self.base_columns = self.n_columns = n_columns
        self._clear_long()

    def _clear_long(self):
        self.long_row = np.full(self._X.shape[0], -1, dtype=np.intp)
        self.long_distances = (
            None if self.distances is None else np.empty((0, self.n_columns))
        )
        self.long_indices = np.empty((0, self.n_columns), dtype=np.intp)

    @property
    def ragged(self):
        """Whether some rows may lack their ``n_columns`` neighbours."""
        return self.n_columns > self.base_columns

    def widen(self, n_columns):
        """Let lists have ``n_columns`` neighbours; :meth:`extend` gives them."""
        self.n_columns = n_columns
        self._clear_long()

    def drop_distances(self):
        """Free the distances; later lists only get indices."""
        self.distances = self.long_distances = None

    def extend(self, rows):
        """Give ``rows`` their first ``n_columns`` neighbours (rows that have them stay)."""
        rows = np.unique(np.asarray(rows, dtype=np.intp))
        rows = rows[self.long_row[rows] < 0] if self.ragged else rows[:0]
        if not rows.size:
            return
        n_long = self.long_indices.shape[0] + rows.size
        if n_long > _FULL_SEARCH_FRACTION * self.indices.shape[0]:
            keep_distances = self.distances is not None
            self.distances = self.indices = None  # free the short lists first
            self.distances, self.indices = self._search(self.n_columns, None)
            if not keep_distances:
                self.distances = None
            self.base_columns = self.n_columns
            self._clear_long()
            return
        distances, indices = self._search(self.n_columns + 1, self._X[rows])
        is_self = indices == rows[:, None]
        # Rows are distinct: an exact search always finds the row itself (distance 0);
        # an approximate one may not, and then loses its last neighbour instead.
        is_self[~is_self.any(axis=1), -1] = True
        keep = ~is_self
        shape = (rows.size, self.n_columns)
        self.long_row[rows] = self.long_indices.shape[0] + np.arange(rows.size)
        self.long_indices = np.concatenate([self.long_indices, indices[keep].reshape(shape)])
        if self.distances is not None:
            self.long_distances = np.concatenate(
                [self.long_distances, distances[keep].reshape(shape)]
            )

    def index_arrays(self):
        """``(indices, long_indices, long_row)``, the ragged indices of the kernels."""
        return self.indices, self.long_indices, self.long_row

    def distance_arrays(self):
        """``(distances, long_distances, long_row)``."""
        return self.distances, self.long_distances, self.long_row


def _walk(lists, rows, first_j, kstar, dimension, threshold):
    """Run the k* test of ``rows`` from ``first_j`` on, extending the lists of the
    neighbours it reaches whose lists are too short."""
    bounds = kstar_ratio_bounds(lists.n_columns, dimension, threshold)
    while rows.size:
        blocked = np.empty(rows.size, dtype=np.intp)
        adaptive_kstar(
            lists.distances, lists.long_distances, lists.indices, lists.long_indices,
            lists.long_row, rows, first_j, lists.n_columns, bounds, dimension, threshold,
            kstar, blocked,
        )
        waiting = blocked > 0
        rows, first_j = rows[waiting], blocked[waiting]
        if rows.size:
            # Walking rows are long; neighbour j sits in column j - 1.
            columns = np.minimum(first_j[:, None] - 1 + np.arange(_PREFETCH), lists.n_columns - 1)
            lists.extend(lists.long_indices[lists.long_row[rows][:, None], columns].ravel())


def grow_kstar(lists, dimension, threshold, *, grow, limit, cap):
    """k* of every row; while ``grow`` and more than ``limit`` of the rows reach
    ``n_columns``, double ``n_columns + 1`` (up to ``cap``) and go on for those rows.

    Only the saturated rows and the neighbours their tests reach get longer lists, so
    the result equals that of a full search with the final number of neighbours.
    Returns ``(kstar, saturated_fraction)``.
    """
    n = lists.indices.shape[0]
    kstar = np.empty(n, dtype=np.intp)
    rows = np.arange(n)
    first_j = np.full(n, 4, dtype=np.intp)
    while True:
        _walk(lists, rows, first_j, kstar, dimension, threshold)
        saturated = np.flatnonzero(kstar == lists.n_columns)
        if not grow or saturated.size <= limit * n or lists.n_columns + 1 >= cap:
            # Widening dropped the longer lists of earlier rounds: PAk and ADP need
            # every row's k* neighbours.
            lists.extend(np.flatnonzero(kstar > lists.base_columns))
            return kstar, saturated.size / n
        previous = lists.n_columns
        lists.widen(min(2 * (previous + 1), cap) - 1)
        lists.extend(saturated)
        # Their tests passed up to j = previous: they resume after it.
        rows, first_j = saturated, np.full(saturated.size, previous + 1, dtype=np.intp)
