"""Exact detection of identical rows, and the ``duplicates=`` policy built on it."""

import warnings

import numpy as np
from scipy.sparse import issparse

from skrepgeom.exceptions import DuplicateSamplesWarning
from skrepgeom.utils._validation import is_dask_array

__all__ = ["DUPLICATES_OPTIONS", "find_duplicates", "handle_duplicates"]

DUPLICATES_OPTIONS = ("warn", "remove", "raise")

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


def _hashes(X):
    """Row hashes; of a dask array, per chunk, and only they come back (8 bytes a row)."""
    if is_dask_array(X):
        return X.map_blocks(_row_hashes, drop_axis=1, dtype=np.uint64).compute()
    return _row_hashes(X)


def _take_rows(X, rows):
    """``X[rows]`` as a NumPy array; of a dask array, only those rows are computed."""
    if not is_dask_array(X):
        return X[rows]
    wanted, position = np.unique(rows, return_inverse=True)
    return X[wanted].compute()[position.ravel()]


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
    ``0.0``. The cost is O(N log N) in the number of rows. A dask array is hashed
    chunk by chunk where it lives; only the hashes and the rows sharing a hash are
    brought back.

    Parameters
    ----------
    X : array-like or dask array of shape (n_samples, n_features)
        Dense data; sparse matrices are refused.

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
    if issparse(X):
        raise TypeError(
            "find_duplicates does not support sparse input: pass a dense array "
            "(e.g. X.toarray())."
        )
    if not is_dask_array(X):
        X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got an array with ndim={X.ndim}.")
    n_samples = X.shape[0]
    first = np.arange(n_samples, dtype=np.intp)
    if n_samples < 2:
        return first
    hashes = _hashes(X)
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
    identical = np.all(_take_rows(X, in_group) == _take_rows(X, candidates), axis=1)
    first[in_group[identical]] = candidates[identical]
    if not identical.all():
        # A hash collision (or NaN): settle those groups by an exact sort.
        colliding = np.unique(candidates[~identical])
        rows = np.flatnonzero(np.isin(group_first[np.argsort(order)], colliding))
        first[rows] = rows[_first_identical_by_sort(_take_rows(X, rows))]
    return first


def handle_duplicates(X, duplicates, *, min_unique=1, stacklevel=4):
    """Apply the ``duplicates="warn"|"remove"|"raise"`` policy shared by all estimators.

    Every estimator whose method breaks on zero distances takes a ``duplicates``
    parameter and passes it here, so the three options mean the same everywhere.

    Parameters
    ----------
    X : ndarray or dask array of shape (n_samples, n_features)
        Validated data. A dask array stays lazy: ``X_unique`` is a dask array too.
    duplicates : {"warn", "remove", "raise"}
        ``"remove"`` keeps the first occurrence of every distinct row, ``"warn"``
        does the same and emits a :class:`~skrepgeom.exceptions.DuplicateSamplesWarning`,
        ``"raise"`` raises a ValueError naming an example pair.
    min_unique : int, default=1
        Fewest distinct rows the caller can work with.
    stacklevel : int, default=4
        Passed to :func:`warnings.warn`, so that the warning points at the user's
        call (``fit`` of an estimator by default).

    Returns
    -------
    X_unique : ndarray or dask array
        The rows kept (``X`` itself when there is no duplicate).
    unique_index : ndarray of shape (n_samples,), dtype=intp
        For every row of ``X``, the position in ``X_unique`` of the row holding its
        value, so per-sample results on ``X_unique`` map back as ``result[unique_index]``.
    n_duplicates : int
        Number of rows removed.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.neighbors import handle_duplicates
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    >>> X_unique, unique_index, n_duplicates = handle_duplicates(X, "remove")
    >>> X_unique
    array([[0., 0.],
           [1., 0.]])
    >>> unique_index, n_duplicates
    (array([0, 1, 0]), 1)
    """
    if duplicates not in DUPLICATES_OPTIONS:
        raise ValueError(
            f"duplicates must be one of {DUPLICATES_OPTIONS}, got duplicates={duplicates!r}."
        )
    first = find_duplicates(X)
    is_first = first == np.arange(X.shape[0])
    n_duplicates = int(X.shape[0] - np.count_nonzero(is_first))
    if n_duplicates == 0:
        return X, np.arange(X.shape[0]), 0
    if duplicates == "raise":
        copy = int(np.flatnonzero(~is_first)[0])
        raise ValueError(
            f"X has {n_duplicates} duplicate row(s) (e.g. row {copy} equals row "
            f"{first[copy]}); distance ratios are undefined at distance 0. Pass "
            'duplicates="remove" to estimate on the distinct rows.'
        )
    n_unique = X.shape[0] - n_duplicates
    if n_unique < min_unique:
        raise ValueError(
            f"X has only {n_unique} distinct row(s) after removing {n_duplicates} "
            f"duplicate(s); at least {min_unique} distinct rows are required."
        )
    if duplicates == "warn":
        warnings.warn(
            f"Removed {n_duplicates} duplicate row(s) before estimation; pass "
            'duplicates="remove" to silence this warning or "raise" to refuse them.',
            DuplicateSamplesWarning,
            stacklevel=stacklevel,
        )
    position_of_first = np.cumsum(is_first) - 1
    return X[is_first], position_of_first[first], n_duplicates
