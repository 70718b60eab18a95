"""Numba kernels of the nearest-neighbour engine.

Each kernel is small, typed by its caller (float32 or float64 arrays) and tested
against a NumPy version in ``tests/neighbors/test_kernels.py``.
"""

import numpy as np
from numba import njit, prange


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


# k-d tree over a few coordinates (``_kdtree.py``): a complete binary tree of median
# splits stored implicitly (children of node ``i`` are ``2 i + 1`` and ``2 i + 2``,
# leaves are the last ``2 ** n_levels`` nodes), over rows permuted into leaf order.


@njit(cache=True, nogil=True)
def _select_median(data, perm, lo, hi, mid, dim):
    """Reorder rows ``lo:hi`` of ``data`` (and ``perm`` alike) so that row ``mid`` has
    rank ``mid - lo`` by coordinate ``dim``, rows before it not larger and rows after
    it not smaller (quickselect; whole rows move, so later passes read memory in order)."""
    n_features = data.shape[1]
    left, right = lo, hi - 1
    while right > left:
        a = data[left, dim]
        b = data[(left + right) // 2, dim]
        c = data[right, dim]
        # Median of three: sorted or constant runs split evenly.
        pivot = max(min(a, b), min(max(a, b), c))
        i, j = left, right
        while i <= j:
            while data[i, dim] < pivot:
                i += 1
            while data[j, dim] > pivot:
                j -= 1
            if i <= j:
                perm[i], perm[j] = perm[j], perm[i]
                for f in range(n_features):
                    data[i, f], data[j, f] = data[j, f], data[i, f]
                i += 1
                j -= 1
        if mid <= j:
            right = j
        elif mid >= i:
            left = i
        else:
            return


@njit(cache=True, nogil=True)
def kdtree_build(data, n_levels, perm, node_start, node_end, node_lo, node_hi):
    """Fill the implicit tree: ``data`` (a copy of the rows) and ``perm`` (their
    indices, ``arange`` on entry) permuted into leaf order, each node's row range
    ``[node_start, node_end)`` and tight bounding box ``[node_lo, node_hi]`` (float64).

    A node splits at the median of its widest box side, the left child taking
    ``size // 2`` rows. The boxes are those of the rows themselves, so a box
    distance never exceeds the distance to any of its rows in floating point.
    """
    n_samples, n_features = data.shape
    n_inner = 2**n_levels - 1
    node_start[0] = 0
    node_end[0] = n_samples
    for node in range(2 * n_inner + 1):
        start, end = node_start[node], node_end[node]
        for f in range(n_features):
            node_lo[node, f] = np.inf
            node_hi[node, f] = -np.inf
        for p in range(start, end):
            for f in range(n_features):
                value = np.float64(data[p, f])
                if value < node_lo[node, f]:
                    node_lo[node, f] = value
                if value > node_hi[node, f]:
                    node_hi[node, f] = value
        if node < n_inner:
            dim = 0
            for f in range(1, n_features):
                if node_hi[node, f] - node_lo[node, f] > node_hi[node, dim] - node_lo[node, dim]:
                    dim = f
            mid = start + (end - start) // 2
            _select_median(data, perm, start, end, mid, dim)
            node_start[2 * node + 1] = start
            node_end[2 * node + 1] = mid
            node_start[2 * node + 2] = mid
            node_end[2 * node + 2] = end


@njit(cache=True, nogil=True, inline="always")
def _box_distance(query, node_lo, node_hi, node):
    """Squared distance from ``query`` to the box of ``node`` (summed in feature order,
    like the row distances, so it is a floating-point lower bound of them)."""
    total = 0.0
    for f in range(query.shape[0]):
        # Branch-free: at most one of the two differences is positive.
        diff = max(node_lo[node, f] - query[f], query[f] - node_hi[node, f], 0.0)
        total += diff * diff
    return total


@njit(cache=True, nogil=True, inline="always")
def _sift_down(keys, rows, size, key, row):
    """Put ``(key, row)`` at the root of the max-heap ``keys[:size]``, ``rows[:size]``
    (pairs compared by key, then row) in place of its largest pair."""
    position = 0
    while True:
        child = 2 * position + 1
        if child >= size:
            break
        other = child + 1
        if other < size and (
            keys[other] > keys[child] or (keys[other] == keys[child] and rows[other] > rows[child])
        ):
            child = other
        if keys[child] > key or (keys[child] == key and rows[child] > row):
            keys[position] = keys[child]
            rows[position] = rows[child]
            position = child
        else:
            break
    keys[position] = key
    rows[position] = row


@njit(cache=True, nogil=True)
def _kdtree_query_range(data, perm, node_start, node_end, node_lo, node_hi, n_levels,
                        queries, own, n_neighbors, first, last, distances, indices):
    """Search query rows ``first:last`` depth first, nearer child first.

    ``data`` holds the indexed rows in leaf order (``data[p]`` is row ``perm[p]``).
    Each query keeps its ``n_neighbors`` best ``(squared distance, row)`` pairs in a
    max-heap ordered by distance then row (so ties keep the smaller row), sorted at
    the end, and skips the row ``own[i]`` (-1: none).
    A node is skipped only when its box is strictly farther than the current k-th
    pair, so a tied row of smaller index is never missed. Missing neighbours (fewer
    rows than asked) come out as distance ``inf`` and index ``n_samples``.
    """
    n_samples, n_features = data.shape
    n_inner = 2**n_levels - 1
    best_key = np.empty(n_neighbors, dtype=np.float64)
    best_index = np.empty(n_neighbors, dtype=np.int64)
    stack_node = np.empty(n_levels + 2, dtype=np.int64)
    stack_bound = np.empty(n_levels + 2, dtype=np.float64)
    query = np.empty(n_features, dtype=np.float64)
    for i in range(first, last):
        for f in range(n_features):
            query[f] = np.float64(queries[i, f])
        for c in range(n_neighbors):
            best_key[c] = np.inf
            best_index[c] = n_samples
        skip = own[i]
        stack_node[0] = 0
        stack_bound[0] = 0.0
        top = 1
        while top > 0:
            top -= 1
            node = stack_node[top]
            if stack_bound[top] > best_key[0]:
                continue
            if node >= n_inner:
                for p in range(node_start[node], node_end[node]):
                    row = perm[p]
                    if row == skip:
                        continue
                    total = 0.0
                    for f in range(n_features):
                        diff = query[f] - np.float64(data[p, f])
                        total += diff * diff
                    if total < best_key[0] or (total == best_key[0] and row < best_index[0]):
                        _sift_down(best_key, best_index, n_neighbors, total, row)
                continue
            left = 2 * node + 1
            left_bound = _box_distance(query, node_lo, node_hi, left)
            right_bound = _box_distance(query, node_lo, node_hi, left + 1)
            worst = best_key[0]
            # Pushed farther first so that the nearer child is searched next.
            if left_bound <= right_bound:
                if right_bound <= worst:
                    stack_node[top] = left + 1
                    stack_bound[top] = right_bound
                    top += 1
                if left_bound <= worst:
                    stack_node[top] = left
                    stack_bound[top] = left_bound
                    top += 1
            else:
                if left_bound <= worst:
                    stack_node[top] = left
                    stack_bound[top] = left_bound
                    top += 1
                if right_bound <= worst:
                    stack_node[top] = left + 1
                    stack_bound[top] = right_bound
                    top += 1
        # Heap sort: the largest pair goes to the end, the heap shrinks by one.
        for size in range(n_neighbors - 1, 0, -1):
            key, row = best_key[size], best_index[size]
            best_key[size], best_index[size] = best_key[0], best_index[0]
            _sift_down(best_key, best_index, size, key, row)
        for c in range(n_neighbors):
            distances[i, c] = np.sqrt(best_key[c])
            indices[i, c] = best_index[c]


@njit(cache=True, nogil=True)
def kdtree_query(data, perm, node_start, node_end, node_lo, node_hi, n_levels,
                 queries, own, n_neighbors, distances, indices):
    """k nearest rows of every query row, in the calling thread (see ``_kdtree_query_range``)."""
    _kdtree_query_range(data, perm, node_start, node_end, node_lo, node_hi, n_levels,
                        queries, own, n_neighbors, 0, queries.shape[0], distances, indices)


@njit(cache=True, nogil=True, parallel=True)
def kdtree_query_parallel(data, perm, node_start, node_end, node_lo, node_hi, n_levels,
                          queries, own, n_neighbors, block, distances, indices):
    """``kdtree_query`` over blocks of ``block`` query rows in Numba threads.

    Each query's result depends on nothing but the query, so the thread count and
    the block schedule do not change it.
    """
    n_queries = queries.shape[0]
    n_blocks = (n_queries + block - 1) // block
    for b in prange(n_blocks):
        _kdtree_query_range(data, perm, node_start, node_end, node_lo, node_hi, n_levels,
                            queries, own, n_neighbors, b * block,
                            min((b + 1) * block, n_queries), distances, indices)
