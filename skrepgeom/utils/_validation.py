"""Input checks shared by every skrepgeom estimator.

All estimators go through these helpers so that the same bad input gets the same
clear message everywhere (the wording ``n_samples=<n>`` is what scikit-learn's
common checks look for).
"""

import warnings

import numpy as np
from sklearn.utils.validation import validate_data

from skrepgeom.exceptions import DuplicateSamplesWarning

__all__ = [
    "check_min_samples",
    "check_n_neighbors",
    "handle_duplicates",
    "validate_float_data",
]

FLOAT_DTYPES = (np.float64, np.float32)
DUPLICATES_OPTIONS = ("warn", "remove", "raise")


def check_min_samples(n_samples, min_samples, *, context=""):
    """Raise a ValueError worded ``n_samples=<n>`` when there are too few samples."""
    if n_samples < min_samples:
        where = f" {context}" if context else ""
        raise ValueError(
            f"n_samples={n_samples} is too small{where}: at least {min_samples} "
            "samples are required."
        )


def validate_float_data(estimator, X, *, reset=True, min_samples=1, context=""):
    """Validate a dense 2-D finite float32/float64 array through ``validate_data``.

    Sparse input is refused with a message that says so, since every method here
    works on Euclidean distances between dense rows.
    """
    X = validate_data(
        estimator,
        X,
        reset=reset,
        accept_sparse=False,
        dtype=FLOAT_DTYPES,
        ensure_all_finite=True,
        ensure_2d=True,
        ensure_min_samples=1,
    )
    check_min_samples(X.shape[0], min_samples, context=context)
    return X


def check_n_neighbors(n_neighbors, n_samples, *, self_query=True, name="n_neighbors"):
    """Check that ``n_neighbors`` neighbours exist among ``n_samples`` rows.

    In a self-query a row is not its own neighbour, so at most ``n_samples - 1``
    neighbours exist.
    """
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(n_neighbors).__name__}.")
    if n_neighbors < 1:
        raise ValueError(f"{name} must be >= 1, got {name}={n_neighbors}.")
    available = n_samples - 1 if self_query else n_samples
    if n_neighbors > available:
        kind = "other rows" if self_query else "rows"
        raise ValueError(
            f"{name}={n_neighbors} needs at least {n_neighbors + int(self_query)} samples "
            f"but n_samples={n_samples}: only {available} {kind} can be neighbours."
        )


def handle_duplicates(X, duplicates, *, min_unique=1, stacklevel=4):
    """Apply the ``duplicates="warn"|"remove"|"raise"`` policy shared by all estimators.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated data.
    duplicates : {"warn", "remove", "raise"}
        ``"remove"`` keeps the first occurrence of every distinct row, ``"warn"``
        does the same and emits a :class:`~skrepgeom.exceptions.DuplicateSamplesWarning`,
        ``"raise"`` raises a ValueError naming an example pair.
    min_unique : int, default=1
        Fewest distinct rows the caller can work with.

    Returns
    -------
    X_unique : ndarray
        The rows kept (``X`` itself when there is no duplicate).
    unique_index : ndarray of shape (n_samples,), dtype=intp
        For every row of ``X``, the position in ``X_unique`` of the row holding its
        value, so per-sample results on ``X_unique`` map back as ``result[unique_index]``.
    n_duplicates : int
        Number of rows removed.
    """
    from skrepgeom.neighbors._duplicates import find_duplicates

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
