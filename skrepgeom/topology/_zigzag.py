"""Zigzag persistence of simplex-wise zigzags and its summaries over layers."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

from skrepgeom.topology._kernels import (
    INSERT_MISSING_FACE,
    INSERT_PRESENT,
    OK,
    REMOVE_ABSENT,
    REMOVE_WITH_COFACES,
    cone_filtration,
    pairs_to_bars,
    reduce_cone_filtration,
)

__all__ = [
    "betti_curves",
    "inter_layer_persistence",
    "layer_barcode",
    "layers_to_prune",
    "persistence_similarity",
    "pruning_score",
    "zigzag_barcode",
]

_ERRORS = {
    INSERT_PRESENT: "inserts a simplex that is already present",
    INSERT_MISSING_FACE: "inserts a simplex whose faces are not all present",
    REMOVE_ABSENT: "removes a simplex that is not present",
    REMOVE_WITH_COFACES: "removes a simplex that still has cofaces",
}


def _sort_barcode(bars):
    bars = np.asarray(bars, dtype=np.int64).reshape(-1, 3)
    order = np.lexsort((bars[:, 2], bars[:, 1], bars[:, 0]))
    return np.ascontiguousarray(bars[order])


def run_zigzag(op_simplex, op_insert, simplex_dim, facet_ptr, facet_idx, *, times=None):
    """Bars of an indexed zigzag (complex indices, sorted); ValueError on invalid input.

    ``times``, when a dict, receives the seconds spent building the coned
    filtration (``"filtration"``) and reducing it (``"reduction"``).
    """
    start = time.perf_counter()
    error, where, column_dim, column_ptr, column_idx, column_op = cone_filtration(
        np.ascontiguousarray(op_simplex, dtype=np.int64),
        np.ascontiguousarray(op_insert, dtype=np.bool_),
        np.ascontiguousarray(simplex_dim, dtype=np.int64),
        np.ascontiguousarray(facet_ptr, dtype=np.int64),
        np.ascontiguousarray(facet_idx, dtype=np.int64),
    )
    if error != OK:
        raise ValueError(f"Operation {where} {_ERRORS[error]}.")
    if column_dim.shape[0] >= 2**31:
        raise ValueError(
            f"The zigzag has {len(op_simplex):,} operations: too many for the reduction's "
            "32-bit row indices."
        )
    middle = time.perf_counter()
    birth, death = reduce_cone_filtration(
        column_dim, column_ptr, column_idx, column_op, len(op_simplex)
    )
    # The filtration is a cone: every column but the apex must be paired.
    if 2 * birth.shape[0] + 1 != column_dim.shape[0]:
        raise RuntimeError("The coned filtration left a column other than the apex unpaired.")
    bars = pairs_to_bars(birth, death, column_dim, column_op, len(op_simplex))
    if times is not None:
        times["filtration"] = middle - start
        times["reduction"] = time.perf_counter() - middle
    return _sort_barcode(bars)


def _padded_simplices(simplices):
    if isinstance(simplices, np.ndarray) and simplices.ndim == 2:
        if not np.issubdtype(simplices.dtype, np.integer):
            raise TypeError(
                f"simplices must hold integer vertex ids, got dtype {simplices.dtype}."
            )
        return simplices.astype(np.int64)
    rows = [np.asarray(s) for s in simplices]
    width = max((r.shape[0] if r.ndim == 1 else 0 for r in rows), default=1)
    padded = np.full((len(rows), max(width, 1)), -1, dtype=np.int64)
    for o, row in enumerate(rows):
        if row.ndim != 1 or (row.size and not np.issubdtype(row.dtype, np.integer)):
            raise TypeError(f"Operation {o}: a simplex must be a sequence of integer vertex ids.")
        padded[o, : row.shape[0]] = row
    return padded


def _index_simplices(simplices):
    """Canonical simplices, the id of each operation's simplex, dims and facets."""
    padded = _padded_simplices(simplices)
    m = padded.shape[0]
    valid = padded >= 0
    bad = np.flatnonzero(((padded < -1).any(axis=1)) | ~valid.any(axis=1))
    if bad.size:
        raise ValueError(
            f"Operation {bad[0]}: a simplex needs at least one vertex and vertex ids "
            "must be non-negative (-1 only pads)."
        )
    # Sort each row's vertices and push the padding to the end.
    big = np.iinfo(np.int64).max
    canonical = np.sort(np.where(valid, padded, big), axis=1)
    repeated = np.flatnonzero(
        ((canonical[:, 1:] == canonical[:, :-1]) & (canonical[:, 1:] != big)).any(axis=1)
    )
    if repeated.size:
        raise ValueError(f"Operation {repeated[0]}: a simplex has repeated vertices.")
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return canonical, empty, empty, np.zeros(1, dtype=np.int64), empty
    unique, op_simplex = np.unique(canonical, axis=0, return_inverse=True)
    op_simplex = op_simplex.reshape(-1)
    dims = (unique != big).sum(axis=1) - 1
    width = unique.shape[1]
    # Facets: drop one vertex at a time, then look every facet up among the simplices.
    facet_rows, facet_owner = [], []
    for q in range(1, width):
        owners = np.flatnonzero(dims == q)
        if owners.size == 0:
            continue
        for drop in range(q + 1):
            keep = [c for c in range(width) if c != drop]
            rows = np.full((owners.size, width), big, dtype=np.int64)
            rows[:, : width - 1] = unique[np.ix_(owners, keep)]
            facet_rows.append(rows)
            facet_owner.append(owners)
    if facet_rows:
        facets = np.concatenate(facet_rows)
        owner = np.concatenate(facet_owner)
        both, labels = np.unique(np.concatenate([unique, facets]), axis=0, return_inverse=True)
        labels = labels.reshape(-1)
        label_to_id = np.full(both.shape[0], -1, dtype=np.int64)
        label_to_id[labels[: unique.shape[0]]] = np.arange(unique.shape[0])
        facet_id = label_to_id[labels[unique.shape[0] :]]
        order = np.argsort(owner, kind="stable")
        facet_idx = facet_id[order]
        facet_ptr = np.zeros(unique.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, minlength=unique.shape[0]), out=facet_ptr[1:])
    else:
        facet_idx = np.zeros(0, dtype=np.int64)
        facet_ptr = np.zeros(unique.shape[0] + 1, dtype=np.int64)
    return unique, op_simplex, dims, facet_ptr, facet_idx


def zigzag_barcode(simplices, insertions):
    """Zigzag persistence barcode of a simplex-wise zigzag filtration.

    The zigzag starts from the empty complex ``K_0``; operation ``o`` inserts
    (``insertions[o]`` true) or removes the simplex ``simplices[o]``, giving
    ``K_{o+1}``. A simplex may leave and come back. The complex may end
    non-empty. Homology is over Z/2, computed with the FastZigzag conversion of
    Dey and Hou: the zigzag becomes one ordinary filtration of a cone, reduced
    with the twist optimisation.

    Parameters
    ----------
    simplices : sequence of sequences of int, or int array of shape (m, q)
        Vertex ids of the simplex of each operation; an array is padded with -1.
    insertions : array-like of bool of shape (m,)
        ``True`` inserts, ``False`` removes.

    Returns
    -------
    barcode : ndarray of shape (n_bars, 3), dtype=int64
        Rows ``(dim, birth, death)`` sorted lexicographically: a class alive in
        ``K_birth, ..., K_{death-1}``; ``death = m + 1`` means alive in the final
        complex ``K_m``. All dimensions are reported.

    Raises
    ------
    ValueError
        Naming the operation that removes an absent simplex, inserts a present
        one or one lacking faces, removes a simplex that has cofaces, or lists a
        vertex twice; or when the lengths differ.

    References
    ----------
    .. [1] T. K. Dey, T. Hou, "Fast Computation of Zigzag Persistence", ESA 2022.

    Examples
    --------
    A circle is filled by a triangle, which is then removed again:

    >>> from skrepgeom.topology import zigzag_barcode
    >>> ops = [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2], [0, 1, 2]]
    >>> zigzag_barcode(ops, [True] * 7 + [False])
    array([[0, 1, 9],
           [0, 2, 4],
           [0, 3, 5],
           [1, 6, 7],
           [1, 8, 9]])
    """
    insertions = np.asarray(insertions)
    if insertions.ndim != 1:
        raise ValueError(f"insertions must be 1-D, got shape {insertions.shape}.")
    if insertions.size and insertions.dtype != np.bool_:
        raise TypeError(f"insertions must be booleans, got dtype {insertions.dtype}.")
    n_simplices = len(simplices)
    if n_simplices != insertions.shape[0]:
        raise ValueError(
            f"simplices and insertions must have the same length, got {n_simplices} "
            f"and {insertions.shape[0]}."
        )
    _, op_simplex, dims, facet_ptr, facet_idx = _index_simplices(simplices)
    return run_zigzag(op_simplex, insertions, dims, facet_ptr, facet_idx)


def position_barcode(bars, operations_done):
    """Map complex-index bars to zigzag positions.

    ``operations_done[t]`` is the number of operations done by position ``t``, so
    a bar ``[b, d)`` is alive at ``t`` iff ``b <= operations_done[t] < d``. Bars
    alive at no position are dropped; the result is sorted.
    """
    done = np.asarray(operations_done, dtype=np.int64)
    first = np.searchsorted(done, bars[:, 1], side="left")
    stop = np.searchsorted(done, bars[:, 2], side="left")
    keep = first < stop
    return _sort_barcode(np.column_stack([bars[keep, 0], first[keep], stop[keep]]))


def _check_barcode(barcode, n_layers):
    barcode = np.asarray(barcode)
    if barcode.ndim != 2 or barcode.shape[1] != 3:
        raise ValueError(f"barcode must have shape (n_bars, 3), got {barcode.shape}.")
    if barcode.size and not np.issubdtype(barcode.dtype, np.integer):
        raise TypeError(f"barcode must hold integers, got dtype {barcode.dtype}.")
    barcode = barcode.astype(np.int64)
    n_positions = 2 * n_layers - 1
    if barcode.size and (
        barcode[:, 1].min() < 0
        or barcode[:, 2].max() > n_positions
        or np.any(barcode[:, 2] <= barcode[:, 1])
    ):
        raise ValueError(
            f"barcode rows must satisfy 0 <= birth < death <= {n_positions} "
            f"(2 * n_layers - 1) for n_layers={n_layers}."
        )
    return barcode


@validate_params(
    {"barcode": ["array-like"], "n_layers": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def layer_barcode(barcode, n_layers):
    """Bars of a layer zigzag in layer units.

    Position ``2l`` is layer ``l`` and ``2l + 1`` the intersection of layers ``l``
    and ``l + 1``. A position bar ``[b, d)`` becomes ``[ceil(b / 2), ceil(d / 2))``:
    a class born in an intersection first lives in the next layer, and one that
    dies in an intersection was last alive in the layer before. Bars living only
    in an intersection are dropped.

    Parameters
    ----------
    barcode : array-like of shape (n_bars, 3)
        Position-unit rows ``(dim, birth, death)``.
    n_layers : int
        Number of layers ``L`` (positions ``0 .. 2L - 2``).

    Returns
    -------
    layer_bars : ndarray of shape (n_kept, 3), dtype=int64
        Rows ``(dim, first_layer, end_layer)``: alive on layers
        ``first_layer .. end_layer - 1``; ``end_layer = L`` means alive at the last.

    Examples
    --------
    >>> from skrepgeom.topology import layer_barcode
    >>> layer_barcode([[1, 0, 5], [1, 3, 4], [0, 1, 2]], n_layers=3)
    array([[1, 0, 3]])
    """
    barcode = _check_barcode(barcode, n_layers)
    first = (barcode[:, 1] + 1) // 2
    end = (barcode[:, 2] + 1) // 2
    keep = first < end
    return _sort_barcode(np.column_stack([barcode[keep, 0], first[keep], end[keep]]))


def _dim_layer_bars(barcode, n_layers, dim):
    bars = layer_barcode(barcode, n_layers)
    bars = bars[bars[:, 0] == dim]
    return bars[:, 1], bars[:, 2]


@validate_params(
    {
        "barcode": ["array-like"],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "dims": ["array-like"],
    },
    prefer_skip_nested_validation=True,
)
def betti_curves(barcode, n_layers, dims=(0, 1)):
    """Betti numbers of every layer from a position-unit barcode.

    ``beta_p(l)`` counts the layer bars of dimension ``p`` with
    ``first_layer <= l < end_layer`` (see :func:`layer_barcode`), which equals the
    Betti number of the layer's complex.

    Parameters
    ----------
    barcode : array-like of shape (n_bars, 3)
        Position-unit rows ``(dim, birth, death)``.
    n_layers : int
        Number of layers.
    dims : sequence of int, default=(0, 1)
        Homology dimensions.

    Returns
    -------
    betti : ndarray of shape (len(dims), n_layers), dtype=int64

    Examples
    --------
    >>> from skrepgeom.topology import betti_curves
    >>> betti_curves([[0, 0, 5], [1, 2, 5]], n_layers=3)
    array([[1, 1, 1],
           [0, 1, 1]])
    """
    dims = np.atleast_1d(np.asarray(dims, dtype=np.int64))
    betti = np.zeros((dims.shape[0], n_layers), dtype=np.int64)
    for row, dim in enumerate(dims):
        first, end = _dim_layer_bars(barcode, n_layers, dim)
        change = np.bincount(first, minlength=n_layers + 1) - np.bincount(
            end, minlength=n_layers + 1
        )
        betti[row] = np.cumsum(change)[:n_layers]
    return betti


def _row_normalized(similarity):
    similarity = np.asarray(similarity, dtype=np.float64)
    diagonal = np.diag(similarity)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalized = similarity / diagonal[:, None]
    normalized[diagonal == 0] = 0.0
    return normalized


@validate_params(
    {
        "barcode": ["array-like"],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "dim": [Interval(Integral, 0, None, closed="left")],
        "normalize": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def persistence_similarity(barcode, n_layers, dim=1, normalize=False):
    """Persistence similarity: cycles alive on every layer between two layers.

    ``PS_p[i, j]`` counts the ``p``-dimensional layer bars with
    ``first_layer <= min(i, j)`` and ``end_layer > max(i, j)``. It is symmetric
    and its diagonal is the Betti curve. Computed from the
    ``(L + 1) x (L + 1)`` histogram of (first_layer, end_layer) by a 2-D
    cumulative sum.

    Parameters
    ----------
    barcode : array-like of shape (n_bars, 3)
        Position-unit rows ``(dim, birth, death)``.
    n_layers : int
        Number of layers ``L``.
    dim : int, default=1
        Homology dimension ``p``.
    normalize : bool, default=False
        Divide row ``i`` by ``beta_p(i)`` (rows of layers without cycles are 0):
        the fraction of layer ``i``'s cycles that survive to layer ``j``.

    Returns
    -------
    similarity : ndarray of shape (n_layers, n_layers)
        int64 counts, or float64 fractions when ``normalize``.

    Examples
    --------
    >>> from skrepgeom.topology import persistence_similarity
    >>> persistence_similarity([[1, 0, 5], [1, 2, 5]], n_layers=3)
    array([[1, 1, 1],
           [1, 2, 2],
           [1, 2, 2]])
    """
    first, end = _dim_layer_bars(barcode, n_layers, dim)
    histogram = np.zeros((n_layers + 1, n_layers + 1), dtype=np.int64)
    np.add.at(histogram, (first, end), 1)
    # born[i, d] = bars with first <= i and end == d; then alive[i, j] sums d > j.
    born = np.cumsum(histogram, axis=0)
    alive = np.cumsum(born[:, ::-1], axis=1)[:, ::-1]
    upper = alive[:n_layers, 1 : n_layers + 1]
    lower_index = np.minimum.outer(np.arange(n_layers), np.arange(n_layers))
    upper_index = np.maximum.outer(np.arange(n_layers), np.arange(n_layers))
    similarity = upper[lower_index, upper_index]
    if normalize:
        return _row_normalized(similarity)
    return similarity


def _check_similarity(similarity):
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"similarity must be a square matrix, got shape {similarity.shape}.")
    if not np.all(np.isfinite(similarity)) or np.any(similarity < 0):
        raise ValueError("similarity must hold finite non-negative counts.")
    return similarity


@validate_params(
    {"similarity": ["array-like"], "alpha": [Interval(Real, None, None, closed="neither")]},
    prefer_skip_nested_validation=True,
)
def inter_layer_persistence(similarity, alpha=2.0):
    """Inter-layer persistence: distance-weighted survival of each layer's cycles.

    With ``A[i, j] = PS[i, j] / beta(i)`` (row 0 when ``beta(i) = 0``) and weights
    ``w_ij = |i - j| ** alpha``,
    ``ILP(i) = sum_j A[i, j] w_ij / sum_j w_ij``. The diagonal weight is 0 for
    ``alpha > 0``, 1 for ``alpha = 0`` and 1e-10 for ``alpha < 0`` (where
    ``0 ** alpha`` is infinite). Positive ``alpha`` rewards cycles that reach far
    layers, negative ``alpha`` those that reach the next ones.

    Parameters
    ----------
    similarity : array-like of shape (L, L)
        Persistence-similarity counts (:func:`persistence_similarity`).
    alpha : float, default=2.0
        Distance exponent.

    Returns
    -------
    ilp : ndarray of shape (L,)

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.topology import inter_layer_persistence
    >>> ps = np.array([[2, 1, 0], [1, 1, 1], [0, 1, 3]])
    >>> inter_layer_persistence(ps, alpha=1.0).round(3)
    array([0.167, 1.   , 0.111])
    """
    similarity = _check_similarity(similarity)
    n_layers = similarity.shape[0]
    distance = np.abs(np.subtract.outer(np.arange(n_layers), np.arange(n_layers))).astype(float)
    if alpha < 0:
        np.fill_diagonal(distance, 1.0)
        weights = distance**alpha
        np.fill_diagonal(weights, 1e-10)
    else:
        weights = distance**alpha
    if n_layers == 1 and alpha > 0:
        return np.zeros(1)
    return (_row_normalized(similarity) * weights).sum(axis=1) / weights.sum(axis=1)


@validate_params({"similarity": ["array-like"]}, prefer_skip_nested_validation=True)
def pruning_score(similarity):
    """Layer pruning score ``r(i) = (1 / L) sum_j PS[i, j] / beta(j)``.

    As in the authors' released benchmark the column ``j`` is divided by the Betti
    number of layer ``j`` (not ``i``, unlike :func:`inter_layer_persistence`): the
    fraction of layer ``j``'s cycles that also live on layer ``i`` and every layer
    between, averaged over ``j``. When a layer has no cycle the score is
    undefined: a warning is emitted and every score is NaN.

    Parameters
    ----------
    similarity : array-like of shape (L, L)
        Persistence-similarity counts of the pruning dimension.

    Returns
    -------
    score : ndarray of shape (L,)

    Warns
    -----
    UserWarning
        When some ``beta(j) = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.topology import pruning_score
    >>> pruning_score(np.array([[1, 1], [1, 2]]))
    array([0.75, 1.  ])
    """
    similarity = _check_similarity(similarity)
    betti = np.diag(similarity)
    n_layers = similarity.shape[0]
    if np.any(betti == 0):
        warnings.warn(
            f"{np.count_nonzero(betti == 0)} layer(s) have no cycle of the pruning "
            "dimension (beta = 0): the pruning score is undefined (NaN) and no layer "
            "is pruned.",
            UserWarning,
            stacklevel=3,
        )
        return np.full(n_layers, np.nan)
    return (similarity / betti[None, :]).sum(axis=1) / n_layers


@validate_params(
    {"score": ["array-like"], "threshold": [Interval(Real, 0, 1, closed="right")]},
    prefer_skip_nested_validation=True,
)
def layers_to_prune(score, threshold=0.9):
    """Layers whose pruning score reaches ``threshold`` times the largest score.

    The cut is ``{i <= L - 2 : r(i) >= threshold * max_j r(j)}``: the maximum is
    taken over all layers, but the last layer is never cut (the network's output
    needs it). The cut is a set, gaps are not filled. NaN scores give an empty cut.

    Parameters
    ----------
    score : array-like of shape (L,)
        Pruning scores (:func:`pruning_score`).
    threshold : float in (0, 1], default=0.9
        Fraction of the maximum score.

    Returns
    -------
    layers : ndarray of int64
        Sorted layer indices.

    Examples
    --------
    >>> from skrepgeom.topology import layers_to_prune
    >>> layers_to_prune([0.75, 0.75, 1.0, 1.0, 1.0], threshold=0.9)
    array([2, 3])
    """
    score = np.asarray(score, dtype=np.float64)
    if score.ndim != 1:
        raise ValueError(f"score must be 1-D, got shape {score.shape}.")
    if score.size == 0 or np.any(np.isnan(score)):
        return np.zeros(0, dtype=np.int64)
    cut = np.flatnonzero(score[:-1] >= threshold * score.max())
    return cut.astype(np.int64)
