"""Sparsity of layer activations and overlap of per-class ensembles of active units."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

__all__ = ["ensemble_overlap", "fraction_active", "hoyer_sparsity"]


def _check_activations(H):
    return check_array(H, dtype=(np.float64, np.float32), ensure_2d=True, ensure_all_finite=True)


@validate_params(
    {"H": ["array-like"], "axis": [Interval(Integral, 0, 1, closed="both")]},
    prefer_skip_nested_validation=True,
)
def hoyer_sparsity(H, axis=1):
    """Hoyer sparsity of every row (or column) of an activation matrix.

    ``s = (sqrt(n) - ||h||_1 / ||h||_2) / (sqrt(n) - 1)`` with ``n`` the number of
    units: 1 for a one-hot vector, 0 for a constant one (Hoyer, JMLR 2004).

    Parameters
    ----------
    H : array-like of shape (n_samples, n_units)
        Activations, one sample per row.
    axis : {0, 1}, default=1
        Axis holding the units: ``1`` gives one value per sample (row), ``0`` one
        value per unit (column).

    Returns
    -------
    sparsity : ndarray of shape (n_samples,) or (n_units,)
        Values in [0, 1]; **NaN for an all-zero vector** (``||h||_2 = 0``, where the
        ratio is undefined). Average with :func:`numpy.nanmean`, as the paper does.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.neural_network import hoyer_sparsity
    >>> hoyer_sparsity([[0, 0, 3, 0], [1, 1, 1, 1], [1, 1, 0, 0]]).round(4)
    array([1.    , 0.    , 0.5858])
    """
    H = np.abs(_check_activations(H).astype(np.float64, copy=False))
    n = H.shape[axis]
    if n < 2:
        raise ValueError(f"hoyer_sparsity needs at least 2 units along axis={axis}, got {n}.")
    l1 = H.sum(axis=axis)
    l2 = np.sqrt((H * H).sum(axis=axis))
    root_n = np.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(l2 > 0, l1 / np.where(l2 > 0, l2, 1.0), np.nan)
    return np.clip((root_n - ratio) / (root_n - 1.0), 0.0, 1.0)


@validate_params(
    {
        "H": ["array-like"],
        "axis": [Interval(Integral, 0, 1, closed="both")],
        "threshold": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def fraction_active(H, axis=1, *, threshold=0.0):
    """Fraction of units above ``threshold`` in every row (or column).

    Parameters
    ----------
    H : array-like of shape (n_samples, n_units)
        Activations.
    axis : {0, 1}, default=1
        ``1``: fraction of units active per sample; ``0``: fraction of samples in
        which each unit is active.
    threshold : float, default=0.0
        A unit is active when its activation is strictly greater than this.

    Returns
    -------
    fraction : ndarray of shape (n_samples,) or (n_units,)

    Examples
    --------
    >>> from skrepgeom.neural_network import fraction_active
    >>> fraction_active([[0, 2, 0, 1], [0, 0, 0, 0]])
    array([0.5, 0. ])
    """
    H = _check_activations(H)
    return np.mean(H > threshold, axis=axis)


@validate_params(
    {
        "H": ["array-like"],
        "y": ["array-like"],
        "min_fraction": [Interval(Real, 0, 1, closed="right")],
    },
    prefer_skip_nested_validation=True,
)
def ensemble_overlap(H, y, *, min_fraction=0.5):
    """Jaccard overlap of the per-class ensembles of active units.

    Unit ``j`` belongs to the ensemble of class ``c`` when it is active (``> 0``) in
    at least ``min_fraction`` of the samples of class ``c``. Entry ``(a, b)`` is
    ``|E_a & E_b| / |E_a | E_b|``: 1 on the diagonal, near 0 off it for the
    category-specific ensembles that Forward-Forward training produces.

    Parameters
    ----------
    H : array-like of shape (n_samples, n_units)
        Activations (for example ``clf.transform_layers(X, y)[0]``).
    y : array-like of shape (n_samples,)
        Class of every sample.
    min_fraction : float in (0, 1], default=0.5
        Fraction of a class's samples in which a unit must be active.

    Returns
    -------
    overlap : ndarray of shape (n_classes, n_classes)
        Rows and columns in the order of ``np.unique(y)``; NaN where both
        ensembles are empty.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.neural_network import ensemble_overlap
    >>> H = np.kron(np.eye(3), np.ones((2, 2)))  # class c activates units 2c, 2c+1
    >>> ensemble_overlap(H, [0, 0, 1, 1, 2, 2])
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """
    H = _check_activations(H)
    y = column_or_1d(y)
    check_consistent_length(H, y)
    check_classification_targets(y)
    classes, y_index = np.unique(y, return_inverse=True)
    active = H > 0
    ensembles = np.zeros((classes.shape[0], H.shape[1]), dtype=bool)
    for c in range(classes.shape[0]):
        ensembles[c] = active[y_index == c].mean(axis=0) >= min_fraction
    members = ensembles.astype(np.float64)
    intersection = members @ members.T
    sizes = members.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, intersection / np.where(union > 0, union, 1.0), np.nan)
