"""Numba kernels of the density-peak clustering: k*, PAk, and the ADP passes.

Every kernel works on the neighbour lists of :func:`skrepgeom.neighbors.kneighbors`
(``distances``, ``indices`` of shape (n_samples, n_columns), the point itself
excluded, column ``m`` = neighbour ``m + 1``); none builds an N x N array.
"""

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "adaptive_kstar",
    "assign_to_peaks",
    "border_neighbors",
    "pak_log_density",
    "peak_removal_links",
    "putative_peaks",
]

_LOG4 = math.log(4.0)
_EPS = np.finfo(np.float64).eps


@njit(cache=True, parallel=True)
def adaptive_kstar(distances, indices, dimension, threshold, kstar):
    """k* of every point: the largest neighbourhood of statistically constant density.

    For ``j = 4 .. n_columns`` (``n_columns = max_neighbors - 1``) with ``k = j - 1``,
    the likelihood-ratio statistic of "point i and its j-th neighbour have the same
    density within their k-th neighbour volumes" is
    ``D = -2k [ln V_i + ln V_j - 2 ln(V_i + V_j) + ln 4]``; at the first ``D >
    threshold``, ``k* = j - 1``; when none, ``k* = n_columns``. The volume prefactor
    cancels in ``D``, so only ``d ln r`` enters (no ``r**d`` overflow).
    """
    n, n_columns = distances.shape
    for i in prange(n):
        result = n_columns
        for j in range(4, n_columns + 1):
            k = j - 1
            log_vi = dimension * math.log(distances[i, k - 1])
            log_vj = dimension * math.log(distances[indices[i, j - 1], k - 1])
            top = max(log_vi, log_vj)
            log_sum = top + math.log1p(math.exp(min(log_vi, log_vj) - top))
            statistic = -2.0 * k * (log_vi + log_vj - 2.0 * log_sum + _LOG4)
            if statistic > threshold:
                result = j - 1
                break
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
def pak_log_density(distances, kstar, dimension, log_omega, tolerance, max_iter, F_out, a_out):
    """PAk: maximise ``L(F, a) = sum_{l <= k*} (F + a l) - v_l exp(F + a l)`` per point.

    Starts from the k-NN value ``F_0 = ln k* - ln(omega r_{k*}**d)``, ``a_0 = 0``,
    and stops when both gradient components are below ``tolerance``. ``F`` is the
    log-density in units of ``1 / N`` (subtract ``ln N`` to normalise).
    """
    n = distances.shape[0]
    for i in prange(n):
        k = kstar[i]
        log_v = np.empty(k)
        _shell_log_volumes(distances[i], k, dimension, log_omega, log_v)
        F0 = math.log(k) - log_omega - dimension * math.log(distances[i, k - 1])
        F, a = _pak_maximize(log_v, k, F0, 0.0, tolerance, max_iter)
        F_out[i] = F
        a_out[i] = a


@njit(cache=True, parallel=True)
def putative_peaks(g, indices, kstar, is_peak):
    """A point is a putative peak when no neighbour within its k* has a larger ``g``."""
    for i in prange(g.shape[0]):
        peak = True
        for m in range(kstar[i]):
            if g[indices[i, m]] > g[i]:
                peak = False
                break
        is_peak[i] = peak


@njit(cache=True)
def peak_removal_links(g, indices, kstar, is_peak, link):
    """One pass over all k*-neighbourhoods: a putative peak inside the k*-neighbourhood
    of a point with larger ``g`` is not a peak; ``link`` gets the point with the
    largest ``g`` among those (smallest index on ties), -1 for peaks that stay."""
    link[:] = -1
    for l in range(g.shape[0]):
        for m in range(kstar[l]):
            j = indices[l, m]
            if is_peak[j] and g[l] > g[j]:
                if link[j] == -1 or g[l] > g[link[j]]:
                    link[j] = l


@njit(cache=True)
def assign_to_peaks(order, indices, link, labels):
    """In the given order (decreasing ``g``), give each unlabelled point the label of
    its first labelled neighbour, else that of its ``link`` (already labelled).

    ``labels`` holds the peaks' labels and -1 elsewhere on entry.
    """
    n_columns = indices.shape[1]
    for position in range(order.shape[0]):
        i = order[position]
        if labels[i] != -1:
            continue
        for m in range(n_columns):
            label = labels[indices[i, m]]
            if label != -1:
                labels[i] = label
                break
        if labels[i] == -1 and link[i] != -1:
            labels[i] = labels[link[i]]


@njit(cache=True, parallel=True)
def border_neighbors(labels, indices, kstar, other):
    """Border points between clusters.

    ``p1`` of cluster ``c`` borders ``c'`` when its first neighbour within k* outside
    ``c``, ``p2`` of ``c'``, has ``p1`` as the closest point of ``c`` in its
    neighbour list. ``other[p1]`` gets ``c'``, or -1 when ``p1`` is no border point.
    """
    n_columns = indices.shape[1]
    for p1 in prange(labels.shape[0]):
        c = labels[p1]
        result = -1
        for m in range(kstar[p1]):
            p2 = indices[p1, m]
            if labels[p2] != c:
                for mm in range(n_columns):
                    q = indices[p2, mm]
                    if q == p1:
                        result = labels[p2]
                        break
                    if labels[q] == c:
                        break
                break
        other[p1] = result
