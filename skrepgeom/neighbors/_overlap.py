"""Neighbourhood overlaps: how much two representations, or a representation and a
labelling, agree on who is close to whom."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_array
from sklearn.utils._param_validation import Interval, validate_params

from skrepgeom.neighbors._knn import _check_points, kneighbors
from skrepgeom.utils._validation import check_dask_points, check_n_neighbors, is_dask_array

__all__ = [
    "label_overlap",
    "label_overlap_from_indices",
    "neighborhood_overlap",
    "neighborhood_overlap_from_indices",
    "overlap_profile",
]


def _check_indices(indices, name):
    indices = check_array(indices, dtype=None, ensure_2d=True, input_name=name)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer neighbour indices, got dtype {indices.dtype}.")
    if indices.size and indices.min() < 0:
        raise ValueError(f"{name} holds negative indices; neighbour indices are >= 0.")
    return indices.astype(np.int64, copy=False)


def _points(X, name):
    """In-memory check, or the lazy one of a dask array (searched by the dask backend)."""
    return check_dask_points(X, name) if is_dask_array(X) else _check_points(X, name)


def _per_row(function, indices, *arguments):
    """``function(indices block, row offset, *arguments)`` per row block of dask
    neighbour indices, computed: only the per-point values come back."""
    import dask
    import dask.array as da

    starts = np.r_[0, np.cumsum(indices.chunks[0])[:-1]]
    shared = [dask.delayed(argument) for argument in arguments]
    blocks = [
        da.from_delayed(dask.delayed(function)(block, int(start), *shared),
                        shape=(block_rows,), dtype=np.float64)
        for block, start, block_rows in zip(
            indices.to_delayed().ravel(), starts, indices.chunks[0]
        )
    ]
    return da.concatenate(blocks).compute()


def _shared_fraction_block(indices_a, start, indices_b):
    return _shared_fraction(indices_a, indices_b[start : start + indices_a.shape[0]])


def _same_label_block(indices, start, codes, n_neighbors=None):
    stop = start + indices.shape[0]
    own = np.arange(start, stop)
    same = codes[indices] == codes[own][:, None]
    if n_neighbors is None:
        return np.count_nonzero(same, axis=1) / indices.shape[1]
    in_range = np.arange(indices.shape[1])[None, :] < n_neighbors[own][:, None]
    return np.count_nonzero(same & in_range, axis=1) / n_neighbors[own]


def _check_labels(y, n_samples):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got an array of shape {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"y has {y.shape[0]} labels but there are n_samples={n_samples} points; "
            "give one label per point."
        )
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    return codes.ravel(), counts


def _shared_fraction(indices_a, indices_b):
    """Per row, the fraction of the ``k`` indices of ``indices_a`` also in ``indices_b``."""
    n_rows, k = indices_a.shape
    # Offsetting each row's indices by row * (max index + 1) makes them globally
    # unique, so one sorted membership test counts every row's intersection.
    stride = int(max(indices_a.max(initial=0), indices_b.max(initial=0))) + 1
    offsets = (np.arange(n_rows, dtype=np.int64) * stride)[:, None]
    shared = np.isin(indices_a + offsets, indices_b + offsets)
    return np.count_nonzero(shared, axis=1) / k


def _same_label_fraction(indices, codes, n_neighbors=None):
    """Per row, the fraction of its neighbours sharing its label.

    ``n_neighbors`` (per row) uses only the first ``n_neighbors[i]`` columns of row i.
    """
    same = codes[indices] == codes[:, None]
    if n_neighbors is None:
        return np.count_nonzero(same, axis=1) / indices.shape[1]
    in_range = np.arange(indices.shape[1])[None, :] < n_neighbors[:, None]
    return np.count_nonzero(same & in_range, axis=1) / n_neighbors


def _label_average(fractions, codes, counts, weighted):
    if not weighted:
        return float(fractions.mean())
    # Weights 1 / class size: the mean over classes of the per-class means.
    per_class = np.bincount(codes, weights=fractions) / counts
    return float(per_class.mean())


@validate_params(
    {"indices_a": ["array-like"], "indices_b": ["array-like"], "average": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def neighborhood_overlap_from_indices(indices_a, indices_b, *, average=True):
    """Neighbourhood overlap of the same points from two neighbour-index arrays.

    The core of :func:`neighborhood_overlap` and :func:`overlap_profile`, for
    callers that already hold the neighbour lists (one search per representation).

    Parameters
    ----------
    indices_a : array-like of shape (n_samples, n_neighbors)
        Neighbour indices of each point in the first representation, the point
        itself excluded.
    indices_b : array-like of shape (n_samples, n_neighbors)
        Neighbour indices of the same points in the second representation.
    average : bool, default=True
        Return the mean over points instead of the per-point values.

    Returns
    -------
    overlap : float or ndarray of shape (n_samples,)
        ``|N_a(i) & N_b(i)| / n_neighbors``, averaged over points when ``average``.

    Examples
    --------
    >>> from skrepgeom.neighbors import neighborhood_overlap_from_indices
    >>> neighborhood_overlap_from_indices([[1, 2], [0, 2], [1, 0]], [[2, 1], [2, 3], [3, 1]])
    0.6666666666666666
    """
    indices_a = _check_indices(indices_a, "indices_a")
    indices_b = _check_indices(indices_b, "indices_b")
    if indices_a.shape != indices_b.shape:
        raise ValueError(
            f"indices_a and indices_b must have the same shape (same points, same number "
            f"of neighbours), got {indices_a.shape} and {indices_b.shape}."
        )
    fractions = _shared_fraction(indices_a, indices_b)
    return float(fractions.mean()) if average else fractions


@validate_params(
    {
        "indices": ["array-like"],
        "y": ["array-like"],
        "weighted": ["boolean"],
        "average": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def label_overlap_from_indices(indices, y, *, weighted=True, average=True):
    """Fraction of each point's neighbours that share its label, from neighbour indices.

    The core of :func:`label_overlap` and :func:`overlap_profile`.

    Parameters
    ----------
    indices : array-like of shape (n_samples, n_neighbors)
        Neighbour indices of each point, the point itself excluded.
    y : array-like of shape (n_samples,)
        Labels.
    weighted : bool, default=True
        Weight each point by ``1 / (size of its class)`` in the average: the mean
        of the per-class means, so that large classes do not dominate.
    average : bool, default=True
        Return the (weighted) mean instead of the per-point fractions.

    Returns
    -------
    overlap : float or ndarray of shape (n_samples,)
        The average, or the per-point fractions when ``average=False``.

    Examples
    --------
    >>> from skrepgeom.neighbors import label_overlap_from_indices
    >>> indices = [[1], [0], [3], [1]]
    >>> label_overlap_from_indices(indices, [0, 0, 1, 1], average=False)
    array([1., 1., 1., 0.])
    >>> label_overlap_from_indices(indices, [0, 0, 1, 1])
    0.75
    """
    indices = _check_indices(indices, "indices")
    codes, counts = _check_labels(y, indices.shape[0])
    if indices.max(initial=0) >= indices.shape[0]:
        raise ValueError(
            f"indices refer to point {indices.max()} but y labels only "
            f"n_samples={indices.shape[0]} points."
        )
    fractions = _same_label_fraction(indices, codes)
    return _label_average(fractions, codes, counts, weighted) if average else fractions


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "average": ["boolean"],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def neighborhood_overlap(X, Y, n_neighbors=30, *, average=True, n_jobs=None):
    """Fraction of nearest neighbours that two representations of the same points share.

    ``chi = mean_i |N_k^X(i) & N_k^Y(i)| / k`` with ``k = n_neighbors``, Euclidean
    neighbours found by :func:`kneighbors` in each representation (the point itself
    excluded, even when duplicated). 1 means the same neighbourhoods, ``k / (n - 1)``
    is the chance level.

    Parameters
    ----------
    X : array-like or dask array of shape (n_samples, n_features_x)
        First representation. Dask arrays are searched by the ``"dask"`` backend
        and the overlaps computed block by block; only the per-point values come
        back (and the neighbour indices of a representation given as NumPy).
    Y : array-like or dask array of shape (n_samples, n_features_y)
        Second representation of the same points, row for row; the number of
        features may differ.
    n_neighbors : int, default=30
        Neighbours per point, ``1 <= n_neighbors < n_samples``.
    average : bool, default=True
        Return the mean over points instead of the per-point values.
    n_jobs : int, default=None
        Threads of the neighbour search (see :func:`kneighbors`).

    Returns
    -------
    overlap : float or ndarray of shape (n_samples,)
        The mean overlap, or the per-point overlaps when ``average=False``.

    See Also
    --------
    neighborhood_overlap_from_indices : The same from precomputed neighbour indices.
    overlap_profile : Overlaps between consecutive layers of a network.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.neighbors import neighborhood_overlap
    >>> X = np.random.default_rng(0).normal(size=(200, 5))
    >>> neighborhood_overlap(X, 3 * X, n_neighbors=10)
    1.0
    >>> bool(neighborhood_overlap(X, X[:, :2], n_neighbors=10) < 0.5)
    True
    """
    X = _points(X, "X")
    Y = _points(Y, "Y")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X and Y must hold the same points: X has {X.shape[0]} rows, Y has {Y.shape[0]}."
        )
    check_n_neighbors(n_neighbors, X.shape[0])
    _, indices_x = kneighbors(X, n_neighbors, n_jobs=n_jobs)
    _, indices_y = kneighbors(Y, n_neighbors, n_jobs=n_jobs)
    if is_dask_array(indices_x) or is_dask_array(indices_y):
        # One side's indices come back (O(N k)); the other's stay blocked.
        if not is_dask_array(indices_x):
            indices_x, indices_y = indices_y, indices_x
        if is_dask_array(indices_y):
            indices_y = indices_y.compute()
        fractions = _per_row(_shared_fraction_block, indices_x, indices_y)
        return float(fractions.mean()) if average else fractions
    return neighborhood_overlap_from_indices(indices_x, indices_y, average=average)


@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "class_fraction": [Interval(Real, 0, 1, closed="right"), None],
        "weighted": ["boolean"],
        "average": ["boolean"],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def label_overlap(
    X, y, n_neighbors=30, *, class_fraction=None, weighted=True, average=True, n_jobs=None
):
    """Fraction of each point's nearest neighbours that share its label.

    Parameters
    ----------
    X : array-like or dask array of shape (n_samples, n_features)
        Representation. A dask array is searched by the ``"dask"`` backend and
        the fractions computed block by block; only they come back.
    y : array-like of shape (n_samples,)
        Labels.
    n_neighbors : int, default=30
        Neighbours per point, ``1 <= n_neighbors < n_samples``.
    class_fraction : float in (0, 1], default=None
        When given, a point of a class of size ``s`` uses
        ``max(1, int(s * class_fraction))`` neighbours instead of ``n_neighbors``,
        so that classes of different sizes are judged at the same relative scale.
    weighted : bool, default=True
        Weight each point by ``1 / (size of its class)``: the mean of the per-class
        means.
    average : bool, default=True
        Return the (weighted) mean instead of the per-point fractions.
    n_jobs : int, default=None
        Threads of the neighbour search (see :func:`kneighbors`).

    Returns
    -------
    overlap : float or ndarray of shape (n_samples,)
        The average, or the per-point fractions when ``average=False``.

    See Also
    --------
    label_overlap_from_indices : The same from precomputed neighbour indices.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skrepgeom.neighbors import label_overlap
    >>> X, y = make_blobs(300, centers=3, random_state=0)
    >>> round(label_overlap(X, y, n_neighbors=10), 3)
    0.886
    """
    X = _points(X, "X")
    codes, counts = _check_labels(y, X.shape[0])
    if class_fraction is None:
        check_n_neighbors(n_neighbors, X.shape[0])
        _, indices = kneighbors(X, n_neighbors, n_jobs=n_jobs)
        per_point = None
    else:
        per_class = np.maximum(1, (counts * class_fraction).astype(np.int64))
        check_n_neighbors(int(per_class.max()), X.shape[0], name="largest class's neighbours")
        _, indices = kneighbors(X, int(per_class.max()), n_jobs=n_jobs)
        per_point = per_class[codes]
    if is_dask_array(indices):
        fractions = _per_row(_same_label_block, indices, codes, per_point)
    else:
        fractions = _same_label_fraction(indices, codes, per_point)
    return _label_average(fractions, codes, counts, weighted) if average else fractions


@validate_params(
    {
        "representations": ["array-like", list],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "labels": ["array-like", None],
        "weighted": ["boolean"],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def overlap_profile(representations, n_neighbors=30, *, labels=None, weighted=True, n_jobs=None):
    """Neighbourhood overlaps along a stack of representations (e.g. network layers).

    Neighbours are searched once per layer; the overlaps then compare index lists.

    Parameters
    ----------
    representations : list of array-like of shape (n_samples, n_features_l)
        At least two representations of the same points, in order (an array of
        shape (n_samples, n_layers, n_features) is read as one layer per slice).
    n_neighbors : int, default=30
        Neighbours per point, ``1 <= n_neighbors < n_samples``.
    labels : array-like of shape (n_samples,), default=None
        Labels for the label overlap of every layer.
    weighted : bool, default=True
        Class-balanced label overlap (see :func:`label_overlap`).
    n_jobs : int, default=None
        Threads of the neighbour search (see :func:`kneighbors`).

    Returns
    -------
    profile : :class:`~sklearn.utils.Bunch`
        ``previous`` (n_layers - 1,): overlap of layer ``l`` with ``l + 1``;
        ``first`` (n_layers,): of each layer with layer 0; ``last`` (n_layers,):
        with the last layer; ``labels`` (n_layers,): label overlap of each layer,
        only when ``labels`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.neighbors import overlap_profile
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4))
    >>> profile = overlap_profile([X, 2 * X, rng.normal(size=(300, 4))], n_neighbors=10)
    >>> profile.first[:2]
    array([1., 1.])
    >>> bool(profile.previous[1] < 0.2)
    True
    """
    if isinstance(representations, np.ndarray) and representations.ndim == 3:
        representations = [representations[:, layer] for layer in range(representations.shape[1])]
    layers = [
        _check_points(layer, f"representations[{i}]") for i, layer in enumerate(representations)
    ]
    if len(layers) < 2:
        raise ValueError(
            f"representations must hold at least 2 layers to compare, got {len(layers)}."
        )
    n_samples = layers[0].shape[0]
    rows = [layer.shape[0] for layer in layers]
    if any(n != n_samples for n in rows):
        raise ValueError(f"Every representation must hold the same points; row counts are {rows}.")
    check_n_neighbors(n_neighbors, n_samples)
    if labels is not None:
        _check_labels(labels, n_samples)
    indices = [kneighbors(layer, n_neighbors, n_jobs=n_jobs)[1] for layer in layers]
    profile = Bunch(
        previous=np.array(
            [neighborhood_overlap_from_indices(a, b) for a, b in zip(indices[:-1], indices[1:])]
        ),
        first=np.array([neighborhood_overlap_from_indices(i, indices[0]) for i in indices]),
        last=np.array([neighborhood_overlap_from_indices(i, indices[-1]) for i in indices]),
    )
    if labels is not None:
        profile.labels = np.array(
            [label_overlap_from_indices(i, labels, weighted=weighted) for i in indices]
        )
    return profile
