"""Numba kernels of the density-peak clustering: k*, PAk, and the ADP passes.

Every kernel works on the neighbour lists of :func:`skrepgeom.neighbors.kneighbors`
(the point itself excluded, column ``m`` = neighbour ``m + 1``); none builds an
N x N array. The lists are ragged: every row has the ``base`` columns, and the rows
with ``long_row[i] >= 0`` have the longer list ``long[long_row[i]]`` instead (see
:class:`~skrepgeom.cluster._lists.NeighborLists`).
"""

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "adaptive_kstar",
    "kstar_ratio_bounds",
    "scan_outcomes",
    "assign_to_peaks",
    "border_neighbors",
    "pak_log_density",
    "peak_removal_links",
    "putative_peaks",
]

_LOG4 = math.log(4.0)
_EPS = np.finfo(np.float64).eps


@njit(cache=True, inline="always")
def _row(base, long, long_row, i):
    """Row ``i`` of a ragged neighbour array (its longer list when it has one)."""
    r = long_row[i]
    if r >= 0:
        return long[r]
    return base[i]


# Relative band around a k* threshold ratio inside which the likelihood-ratio
# statistic itself decides (far wider than its rounding error).
_RATIO_BAND = 1e-8


def kstar_ratio_bounds(n_columns, dimension, threshold):
    """Per ``k``, the distance ratio above which the k* test fails.

    With ``x = d ln(r_i / r_j)`` the statistic of :func:`adaptive_kstar` is
    ``D = 4k ln cosh(x / 2)``, so ``D > threshold`` exactly when
    ``max(r_i, r_j) / min(r_i, r_j) > exp(2 arccosh(exp(threshold / 4k)) / d)``.
    Entry ``k`` of the result (``1 <= k <= n_columns``) is that ratio; entry 0 is unused.
    """
    k = np.arange(1, n_columns + 1, dtype=np.float64)
    y = threshold / (4.0 * k)
    # arccosh(e**y) = ln(e**y + sqrt(e**(2y) - 1)), with expm1 for small y.
    x = 2.0 * np.log(np.exp(y) + np.sqrt(np.expm1(2.0 * y)))
    return np.r_[np.inf, np.exp(x / dimension)]


@njit(cache=True, inline="always")
def _kstar_fails(r_i, r_j, k, bound, dimension, threshold):
    """Whether the k* test at neighbourhood ``k`` fails (``D > threshold``)."""
    ratio = r_i / r_j if r_i > r_j else r_j / r_i
    if ratio < bound * (1.0 - _RATIO_BAND):
        return False
    if ratio > bound * (1.0 + _RATIO_BAND):
        return True
    log_vi = dimension * math.log(r_i)
    log_vj = dimension * math.log(r_j)
    top = max(log_vi, log_vj)
    log_sum = top + math.log1p(math.exp(min(log_vi, log_vj) - top))
    return -2.0 * k * (log_vi + log_vj - 2.0 * log_sum + _LOG4) > threshold


@njit(cache=True, parallel=True)
def adaptive_kstar(
    distances, long_distances, indices, long_indices, long_row,
    rows, first_j, n_columns, bounds, dimension, threshold, kstar, blocked,
):
    """k* of ``rows``: the largest neighbourhood of statistically constant density.

    For ``j = 4 .. n_columns`` (``n_columns = max_neighbors - 1``) with ``k = j - 1``,
    the likelihood-ratio statistic of "point i and its j-th neighbour have the same
    density within their k-th neighbour volumes" is
    ``D = -2k [ln V_i + ln V_j - 2 ln(V_i + V_j) + ln 4]``; at the first ``D >
    threshold``, ``k* = j - 1``; when none, ``k* = n_columns``. The volume prefactor
    cancels in ``D``, which depends on the ratio of the two radii only: the test
    compares that ratio with ``bounds[k]`` (:func:`kstar_ratio_bounds`) and
    evaluates ``D`` when it is within a relative 1e-8 of it.

    Row ``rows[r]`` (which must have ``n_columns`` columns) resumes at
    ``j = first_j[r]``. Where the ``j``-th neighbour's list is too short for the test,
    ``blocked[r] = j`` and ``kstar`` is left unset; otherwise ``blocked[r] = 0``.
    """
    for r in prange(rows.shape[0]):
        i = rows[r]
        row_distances = _row(distances, long_distances, long_row, i)
        row_indices = _row(indices, long_indices, long_row, i)
        result = n_columns
        stop = 0
        for j in range(first_j[r], n_columns + 1):
            k = j - 1
            neighbor = _row(distances, long_distances, long_row, row_indices[j - 1])
            if neighbor.shape[0] < k:
                stop = j
                break
            if _kstar_fails(
                row_distances[k - 1], neighbor[k - 1], k, bounds[k], dimension, threshold
            ):
                result = j - 1
                break
        blocked[r] = stop
        if stop == 0:
            kstar[i] = result


@njit(cache=True)
def _shell_log_volumes(distances_row, k, dimension, log_omega, out):
    """``log v_l`` of the shells between neighbours ``l - 1`` and ``l`` (``r_0 = 0``).

    ``log v_l = log omega + d ln r_l + log1p(-(r_{l-1} / r_l)**d)``; tied distances
    would give an empty shell, which gets the volume ``eps * omega * r_l**d``
    (float64 epsilon) instead of 0.
    """
    previous = -np.inf
    for l in range(k):
        log_r = dimension * math.log(distances_row[l])
        ratio = math.exp(previous - log_r)
        if ratio > 1.0 - _EPS:
            ratio = 1.0 - _EPS
        out[l] = log_omega + log_r + math.log1p(-ratio)
        previous = log_r


@njit(cache=True)
def _pak_likelihood(log_v, k, G, a, center):
    total = 0.0
    for l in range(k):
        t = G + a * (l + 1.0 - center)
        total += t - math.exp(log_v[l] + t)
    return total


@njit(cache=True)
def _pak_maximize(log_v, k, F, a, tolerance, max_iter):
    """Damped Newton ascent of the concave PAk likelihood from ``(F, a)``.

    Works with ``F + a l = G + a (l - c)``, ``c = (k + 1) / 2``, which makes the
    Hessian nearly diagonal; stops when both components of the gradient in
    ``(F, a)`` are below ``tolerance``, or when a step no longer changes them.
    """
    center = 0.5 * (k + 1.0)
    G = F + a * center
    current = _pak_likelihood(log_v, k, G, a, center)
    for _ in range(max_iter):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for l in range(k):
            offset = l + 1.0 - center
            e = math.exp(log_v[l] + G + a * offset)
            s0 += e
            s1 += offset * e
            s2 += offset * offset * e
        grad_G = k - s0
        grad_a = -s1
        if abs(grad_G) < tolerance and abs(grad_a + center * grad_G) < tolerance:
            break
        det = s0 * s2 - s1 * s1
        if not det > 0.0:
            break
        delta_G = (s2 * grad_G - s1 * grad_a) / det
        delta_a = (s0 * grad_a - s1 * grad_G) / det
        decrement = delta_G * grad_G + delta_a * grad_a
        t = 1.0
        if decrement > 1e-6:
            # Far from the optimum a full step can overshoot through the
            # exponentials: halve it until the likelihood does not drop. Near the
            # optimum the full step is taken, as the likelihood's rounding would
            # hide the (quadratically small) gain.
            while t > 1e-12:
                candidate = _pak_likelihood(log_v, k, G + t * delta_G, a + t * delta_a, center)
                if candidate >= current:
                    current = candidate
                    break
                t *= 0.5
            if t <= 1e-12:
                break
        G_new = G + t * delta_G
        a_new = a + t * delta_a
        if G_new == G and a_new == a:
            break
        G = G_new
        a = a_new
    return G - a * center, a


@njit(cache=True, parallel=True)
def pak_log_density(
    distances, long_distances, long_row, kstar, dimension, log_omega, tolerance, max_iter,
    F_out, a_out,
):
    """PAk: maximise ``L(F, a) = sum_{l <= k*} (F + a l) - v_l exp(F + a l)`` per point.

    Starts from the k-NN value ``F_0 = ln k* - ln(omega r_{k*}**d)``, ``a_0 = 0``,
    and stops when both gradient components are below ``tolerance``. ``F`` is the
    log-density in units of ``1 / N`` (subtract ``ln N`` to normalise).
    """
    n = distances.shape[0]
    for i in prange(n):
        k = kstar[i]
        row = _row(distances, long_distances, long_row, i)
        log_v = np.empty(k)
        _shell_log_volumes(row, k, dimension, log_omega, log_v)
        F0 = math.log(k) - log_omega - dimension * math.log(row[k - 1])
        F, a = _pak_maximize(log_v, k, F0, 0.0, tolerance, max_iter)
        F_out[i] = F
        a_out[i] = a


@njit(cache=True, parallel=True)
def putative_peaks(g, indices, long_indices, long_row, kstar, is_peak):
    """A point is a putative peak when no neighbour within its k* has a larger ``g``."""
    for i in prange(g.shape[0]):
        row = _row(indices, long_indices, long_row, i)
        peak = True
        for m in range(kstar[i]):
            if g[row[m]] > g[i]:
                peak = False
                break
        is_peak[i] = peak


@njit(cache=True)
def peak_removal_links(g, indices, long_indices, long_row, kstar, is_peak, link):
    """One pass over all k*-neighbourhoods: a putative peak inside the k*-neighbourhood
    of a point with larger ``g`` is not a peak; ``link`` gets the point with the
    largest ``g`` among those (smallest index on ties), -1 for peaks that stay."""
    link[:] = -1
    for l in range(g.shape[0]):
        row = _row(indices, long_indices, long_row, l)
        for m in range(kstar[l]):
            j = row[m]
            if is_peak[j] and g[l] > g[j]:
                if link[j] == -1 or g[l] > g[link[j]]:
                    link[j] = l


@njit(cache=True, parallel=True)
def scan_outcomes(rank, labelled, indices, long_indices, long_row, n_columns, short):
    """Rows whose :func:`assign_to_peaks` scan would run off a list shorter than
    ``n_columns``.

    When point ``i`` is reached (``rank[i]``: its position in the order), exactly the
    points of smaller rank and the ``labelled`` ones (peaks) carry a label, so its
    scan finds one within its list unless none of these is in it. ``short[i]`` tells
    whether a longer list could change the outcome.
    """
    for i in prange(rank.shape[0]):
        row = _row(indices, long_indices, long_row, i)
        found = row.shape[0] >= n_columns or labelled[i]
        for m in range(row.shape[0]):
            if found:
                break
            q = row[m]
            found = rank[q] < rank[i] or labelled[q]
        short[i] = not found


@njit(cache=True)
def assign_to_peaks(order, indices, long_indices, long_row, link, labels):
    """In the given order (decreasing ``g``), give each unlabelled point the label of
    its first labelled neighbour, else that of its ``link`` (already labelled).

    ``labels`` holds the peaks' labels and -1 elsewhere on entry.
    """
    for position in range(order.shape[0]):
        i = order[position]
        if labels[i] != -1:
            continue
        row = _row(indices, long_indices, long_row, i)
        for m in range(row.shape[0]):
            label = labels[row[m]]
            if label != -1:
                labels[i] = label
                break
        if labels[i] == -1 and link[i] != -1:
            labels[i] = labels[link[i]]


@njit(cache=True, parallel=True)
def border_neighbors(labels, indices, long_indices, long_row, kstar, n_columns, other, short):
    """Border points between clusters.

    ``p1`` of cluster ``c`` borders ``c'`` when its first neighbour within k* outside
    ``c``, ``p2`` of ``c'``, has ``p1`` as the closest point of ``c`` in its
    neighbour list. ``other[p1]`` gets ``c'``, or -1 when ``p1`` is no border point.
    When ``p2``'s list is shorter than ``n_columns`` and holds neither ``p1`` nor
    another point of ``c``, the answer needs a longer list: ``short[p1] = p2``
    (else -1).
    """
    for p1 in prange(labels.shape[0]):
        c = labels[p1]
        result = -1
        undecided = -1
        row = _row(indices, long_indices, long_row, p1)
        for m in range(kstar[p1]):
            p2 = row[m]
            if labels[p2] != c:
                row2 = _row(indices, long_indices, long_row, p2)
                decided = False
                for mm in range(row2.shape[0]):
                    q = row2[mm]
                    if q == p1:
                        result = labels[p2]
                        decided = True
                        break
                    if labels[q] == c:
                        decided = True
                        break
                if not decided and row2.shape[0] < n_columns:
                    undecided = p2
                break
        other[p1] = result
        short[p1] = undecided
