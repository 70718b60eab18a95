"""Exact detection of identical rows."""

import numpy as np

__all__ = ["find_duplicates"]


def find_duplicates(X):
    """Index of the first identical row, for every row of ``X``.

    Rows are compared bitwise after mapping ``-0.0`` to ``0.0``; a sort of the rows'
    bytes makes this O(N log N) in the number of rows.

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
    if n_samples == 0:
        return np.empty(0, dtype=np.intp)
    # Adding 0.0 turns -0.0 into +0.0 so that bitwise equality is numeric equality.
    rows = np.ascontiguousarray(X) + X.dtype.type(0) if X.dtype.kind == "f" else np.ascontiguousarray(X)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first_of_unique, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first_of_unique[inverse.ravel()].astype(np.intp, copy=False)
