"""Numba kernels of the nearest-neighbour engine.

Each kernel is small, typed by its caller (float32 or float64 arrays) and tested
against a NumPy version in ``tests/neighbors/test_kernels.py``.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _insert_sorted(best_key, best_index, row, key, index):
    """Insert ``(key, index)`` into the ascending list of ``row``, dropping its last
    entry; returns the new largest key. Equal keys stay behind earlier entries."""
    position = best_key.shape[1] - 1
    while position > 0 and best_key[row, position - 1] > key:
        best_key[row, position] = best_key[row, position - 1]
        best_index[row, position] = best_index[row, position - 1]
        position -= 1
    best_key[row, position] = key
    best_index[row, position] = index
    return best_key[row, best_key.shape[1] - 1]


@njit(cache=True, nogil=True)
def update_topk(tile, column_norms, column_offset, row_offset, exclude_self, best_key, best_index):
    """Merge one tile of ``-2 q.x`` products into running per-row candidate lists.

    ``key = ||x||^2 - 2 q.x`` orders the columns of a row like the squared distance
    (``||q||^2`` is constant along a row). Candidates stay sorted ascending; a strict
    comparison keeps the earlier (smaller) column on ties because columns arrive in
    increasing order. In a self-query the column equal to the row is skipped.
    """
    n_rows, n_cols = tile.shape
    m = best_key.shape[1]
    for i in range(n_rows):
        worst = best_key[i, m - 1]
        own_column = row_offset + i - column_offset
        for j in range(n_cols):
            key = column_norms[j] + tile[i, j]
            if key < worst:
                if exclude_self and j == own_column:
                    continue
                worst = _insert_sorted(best_key, best_index, i, key, column_offset + j)


@njit(cache=True, nogil=True)
def exact_rerank(query, data, candidates, n_neighbors, distances, indices):
    """Recompute candidate distances as ``||q - x||`` in float64 and keep the best.

    The norm expansion used for the scan loses precision (negative squares, swapped
    near neighbours); the direct difference gives 0 exactly for identical rows. Ties
    are broken by the smaller index. Candidates equal to -1 (not filled) are ignored.
    """
    n_rows, m = candidates.shape
    n_features = query.shape[1]
    row_distances = np.empty(m, dtype=np.float64)
    row_indices = np.empty(m, dtype=np.int64)
    for i in range(n_rows):
        filled = 0
        for c in range(m):
            j = candidates[i, c]
            if j < 0:
                continue
            total = 0.0
            for f in range(n_features):
                diff = np.float64(query[i, f]) - np.float64(data[j, f])
                total += diff * diff
            value = np.sqrt(total)
            position = filled
            while position > 0 and (
                row_distances[position - 1] > value
                or (row_distances[position - 1] == value and row_indices[position - 1] > j)
            ):
                row_distances[position] = row_distances[position - 1]
                row_indices[position] = row_indices[position - 1]
                position -= 1
            row_distances[position] = value
            row_indices[position] = j
            filled += 1
        for c in range(n_neighbors):
            distances[i, c] = row_distances[c]
            indices[i, c] = row_indices[c]


@njit(cache=True, nogil=True)
def update_topk_columns(tile, row_norms, row_offset, column_offset, best_key, best_index):
    """Merge a tile into the candidate lists of its **columns** (the symmetric half).

    In a self-query the tile ``-2 X[I] X[J]^T`` also holds the products of the rows
    of block ``J`` with block ``I``; reading it row by row keeps memory access
    contiguous while each column ``j`` gets keys ``||x_i||^2 - 2 x_i.x_j``.
    ``best_key``/``best_index`` are indexed by global row, ``column_offset + j``.
    The diagonal block is never passed here, so no self-exclusion is needed.
    """
    n_rows, n_cols = tile.shape
    m = best_key.shape[1]
    worst = np.empty(n_cols, dtype=best_key.dtype)
    for j in range(n_cols):
        worst[j] = best_key[column_offset + j, m - 1]
    for i in range(n_rows):
        norm = row_norms[i]
        for j in range(n_cols):
            key = norm + tile[i, j]
            if key < worst[j]:
                worst[j] = _insert_sorted(
                    best_key, best_index, column_offset + j, key, row_offset + i
                )
