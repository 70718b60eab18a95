"""Exact detection of identical rows."""

import numpy as np

__all__ = ["find_duplicates"]

# Odd 64-bit multiplier of the polynomial row hash (arithmetic wraps modulo 2**64).
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _column_bits(column):
    """Bits of one column as uint64, with -0.0 mapped to +0.0 first."""
    if column.dtype.kind == "f":
        column = column + column.dtype.type(0)
    elif column.dtype.kind == "b":
        column = column.astype(np.uint8)
    return column.view(_UNSIGNED[column.dtype.itemsize]).astype(np.uint64)


def _row_hashes(X):
    hashes = np.zeros(X.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(X.shape[1]):
            hashes *= _HASH_MULTIPLIER
            hashes += _column_bits(np.ascontiguousarray(X[:, j]))
    return hashes


def _first_identical_by_sort(X):
    """Reference path: sort the rows' bytes (one extra copy of the rows)."""
    rows = np.ascontiguousarray(X)
    if rows.dtype.kind == "f":
        rows = rows + rows.dtype.type(0)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first_of_unique, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first_of_unique[inverse.ravel()]


def find_duplicates(X):
    """Index of the first identical row, for every row of ``X``.

    Rows are hashed column by column (memory O(n_samples), no copy of ``X``),
    sorted by hash, and rows sharing a hash are compared exactly; ``-0.0`` equals
    ``0.0``. The cost is O(N log N) in the number of rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Dense data.

    Returns
    -------
    first : ndarray of shape (n_samples,), dtype=intp
        ``first[i]`` is the smallest ``j`` with ``X[j] == X[i]``; ``first[i] == i``
        for rows that are not a copy of an earlier row.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.neighbors import find_duplicates
    >>> find_duplicates(np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 1.0], [-0.0, 1.0]]))
    array([0, 1, 0, 0])
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got an array with ndim={X.ndim}.")
    n_samples = X.shape[0]
    first = np.arange(n_samples, dtype=np.intp)
    if n_samples < 2:
        return first
    hashes = _row_hashes(X)
    order = np.argsort(hashes, kind="stable")
    sorted_hashes = hashes[order]
    starts_group = np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]]
    if starts_group.all():
        return first
    # Stable order: each group lists its rows by increasing index, so the group's
    # first row is the earliest candidate original.
    group_first = order[np.flatnonzero(starts_group)][np.cumsum(starts_group) - 1]
    in_group = order[~starts_group]
    candidates = group_first[~starts_group]
    identical = np.all(X[in_group] == X[candidates], axis=1)
    first[in_group[identical]] = candidates[identical]
    if not identical.all():
        # A hash collision (or NaN): settle those groups by an exact sort.
        colliding = np.unique(candidates[~identical])
        rows = np.flatnonzero(np.isin(group_first[np.argsort(order)], colliding))
        first[rows] = rows[_first_identical_by_sort(X[rows])]
    return first
