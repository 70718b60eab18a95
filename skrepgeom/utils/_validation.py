"""Input checks shared by every skrepgeom estimator.

All estimators go through these helpers so that the same bad input gets the same
clear message everywhere (the wording ``n_samples=<n>`` is what scikit-learn's
common checks look for).
"""

import numpy as np
from sklearn.utils.validation import validate_data

__all__ = [
    "check_min_samples",
    "check_n_neighbors",
    "validate_float_data",
]

FLOAT_DTYPES = (np.float64, np.float32)


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
