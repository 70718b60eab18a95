"""Input checks shared by every skrepgeom estimator.

All estimators go through these helpers so that the same bad input gets the same
clear message everywhere (the wording ``n_samples=<n>`` is what scikit-learn's
common checks look for).
"""

import math

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

__all__ = [
    "check_block",
    "check_dask_points",
    "check_min_samples",
    "check_n_neighbors",
    "is_dask_array",
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
    works on Euclidean distances between dense rows. A dask array is never
    converted: its shape and dtype are checked now and its values chunk by chunk
    when the graph runs (:func:`check_dask_points`).
    """
    if is_dask_array(X):
        X = check_dask_points(X, "X", estimator=type(estimator).__name__)
        # n_features_in_ without np.asarray on X.
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        check_min_samples(X.shape[0], min_samples, context=context)
        return X
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


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array.Array`` (without importing dask)."""
    return type(X).__module__.startswith("dask.") and hasattr(X, "__dask_graph__")


def check_block(block, start, name="X", estimator=None):
    """Finite-value check of one chunk, worded as the in-memory check plus its rows."""
    try:
        check_array(
            block,
            dtype=None,
            ensure_all_finite=True,
            ensure_2d=True,
            ensure_min_samples=0,
            ensure_min_features=0,
            input_name=name,
            estimator=estimator,
        )
    except ValueError as exc:
        stop = start + block.shape[0]
        raise ValueError(
            f"{exc} (in the chunk of rows {start} to {stop - 1} of {name})"
        ) from None
    return block


def _checked_block(block, name, estimator, block_info=None):
    return check_block(block, block_info[0]["array-location"][0][0], name, estimator)


def check_dask_points(X, name="X", *, dtype=FLOAT_DTYPES, estimator=None):
    """Validate a dask array lazily: shape now, values per chunk when computed.

    The number of dimensions, the sizes and the dtype are checked at once with the
    messages of :func:`sklearn.utils.check_array`; other dtypes are converted
    (lazily) to the first of ``dtype``. Column chunks are merged into one, so every
    chunk holds whole rows, and unknown chunk sizes are computed. Each chunk is
    checked for NaN and infinity when the graph runs; the error names its rows.
    """
    if X.ndim != 2:
        if X.ndim > 2:
            # The same message as check_array's, from an empty stand-in.
            check_array(np.empty((1,) * X.ndim), allow_nd=False, input_name=name,
                        estimator=estimator)
        raise ValueError(
            f"Expected 2D array, got {X.ndim}D dask array instead: {name} must have shape "
            "(n_samples, n_features)."
        )
    if any(math.isnan(size) for size in X.shape):
        X = X.compute_chunk_sizes()
    for axis, what in ((0, "sample(s)"), (1, "feature(s)")):
        if X.shape[axis] < 1:
            who = f" by {estimator}" if isinstance(estimator, str) else ""
            raise ValueError(
                f"Found array with {X.shape[axis]} {what} (shape={X.shape}) while a minimum "
                f"of 1 is required{who}."
            )
    dtypes = dtype if isinstance(dtype, tuple) else (dtype,)
    if X.dtype not in dtypes:
        X = X.astype(dtypes[0])
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X.map_blocks(
        _checked_block, name, estimator, dtype=X.dtype, meta=np.empty((0, 0), X.dtype)
    )


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
