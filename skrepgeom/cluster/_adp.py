"""Advanced Density Peaks: putative peaks, assignment, saddles and statistical merging."""

import heapq

import numpy as np
from sklearn.utils import Bunch

from skrepgeom.cluster._kernels import (
    assign_to_peaks,
    border_neighbors,
    peak_removal_links,
    putative_peaks,
    scan_outcomes,
)

__all__ = ["advanced_density_peaks"]


def _saddles(labels, rho, lists, kstar):
    """Saddle point of every pair of bordering clusters: the border point with the
    largest ``rho`` (smallest index on ties). Returns ``(a, b, point)`` with ``a < b``."""
    other = np.empty_like(labels)
    short = np.empty_like(labels)
    while True:
        border_neighbors(labels, *lists.index_arrays(), kstar, lists.n_columns, other, short)
        undecided = short[short >= 0]
        if not undecided.size:
            break
        lists.extend(undecided)
    points = np.flatnonzero(other >= 0)
    first = np.minimum(labels[points], other[points])
    second = np.maximum(labels[points], other[points])
    order = np.lexsort((points, -rho[points], second, first))
    first, second, points = first[order], second[order], points[order]
    new_pair = np.ones(points.shape[0], dtype=bool)
    new_pair[1:] = (first[1:] != first[:-1]) | (second[1:] != second[:-1])
    return first[new_pair], second[new_pair], points[new_pair]


def _merge(peak_rho, peak_err, pairs, rho, err, z):
    """Merge statistically indistinguishable clusters, highest saddle first.

    A pair is not significant when either peak rises above the saddle by less than
    ``z`` times the sum of their errors. The cluster with the smaller margin
    ``(rho_c - rho_s) / (err_c + err_s)`` is absorbed (the second of the pair on
    ties); the survivor keeps, for every third cluster, the higher of the two
    saddles. Equal saddles are taken in increasing cluster order.

    Returns the surviving cluster of every cluster and the survivors' saddle edges
    ``{(a, b): point}``.
    """
    edges = [dict() for _ in range(peak_rho.shape[0])]
    for a, b, point in zip(*pairs):
        edges[a][b] = edges[b][a] = int(point)

    def not_significant(a, b, point):
        return (peak_rho[a] - rho[point] < z * (peak_err[a] + err[point])) or (
            peak_rho[b] - rho[point] < z * (peak_err[b] + err[point])
        )

    heap = [
        (-rho[point], int(a), int(b), int(point))
        for a, b, point in zip(*pairs)
        if not_significant(a, b, point)
    ]
    heapq.heapify(heap)
    parent = np.arange(peak_rho.shape[0])
    while heap:
        _, a, b, point = heapq.heappop(heap)
        if edges[a].get(b) != point:
            continue  # a cluster is gone or the saddle was raised since the push
        margin_a = (peak_rho[a] - rho[point]) / (peak_err[a] + err[point])
        margin_b = (peak_rho[b] - rho[point]) / (peak_err[b] + err[point])
        survivor, absorbed = (b, a) if margin_a < margin_b else (a, b)
        parent[absorbed] = survivor
        for third, third_point in edges[absorbed].items():
            del edges[third][absorbed]
            if third == survivor:
                continue
            current = edges[survivor].get(third)
            if current is None or rho[current] < rho[third_point]:
                edges[survivor][third] = edges[third][survivor] = third_point
        edges[absorbed] = {}
        for third, third_point in edges[survivor].items():
            if not_significant(survivor, third, third_point):
                low, high = min(survivor, third), max(survivor, third)
                heapq.heappush(heap, (-rho[third_point], low, high, third_point))
    while True:  # path compression to the final survivors
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    final_edges = {
        (a, b): point for a in range(len(edges)) for b, point in edges[a].items() if a < b
    }
    return parent, final_edges


def advanced_density_peaks(log_density, log_density_err, lists, kstar, *, z, halo):
    """Cluster by Advanced Density Peaks on precomputed log-densities.

    Parameters
    ----------
    log_density, log_density_err : ndarray of shape (n_samples,)
        Log-density and its error.
    lists : NeighborLists
        Neighbour lists (self excluded), each at least ``kstar`` long. Where a
        decision needs more of a short list, the list is extended, so the result is
        that of full lists of ``lists.n_columns`` neighbours.
    kstar : ndarray of shape (n_samples,)
        Neighbourhood size of every point.
    z : float
        Significance multiplier.
    halo : bool
        Mark as -1 the points below the highest saddle of their cluster.

    Returns
    -------
    result : Bunch
        ``labels`` (n_samples,), ``peaks`` (n_clusters,) point of each cluster's peak,
        ``saddle_points`` (n_clusters, n_clusters) point of each saddle (-1 where
        none).
    """
    # Shift so that every rho - z * err is >= 1 (all comparisons are differences).
    rho = log_density - np.min(log_density - z * log_density_err) + 1.0
    err = log_density_err
    g = rho - err
    n = g.shape[0]
    is_peak = np.empty(n, dtype=np.bool_)
    putative_peaks(g, *lists.index_arrays(), kstar, is_peak)
    link = np.empty(n, dtype=np.intp)
    peak_removal_links(g, *lists.index_arrays(), kstar, is_peak, link)
    peaks = np.flatnonzero(is_peak & (link == -1))
    labels = np.full(n, -1, dtype=np.intp)
    labels[peaks] = np.arange(peaks.shape[0])
    order = np.argsort(-g, kind="stable")
    if lists.ragged:
        rank = np.empty(n, dtype=np.intp)
        rank[order] = np.arange(n)
        short = np.empty(n, dtype=np.bool_)
        scan_outcomes(rank, labels >= 0, *lists.index_arrays(), lists.n_columns, short)
        lists.extend(np.flatnonzero(short))
    assign_to_peaks(order, *lists.index_arrays(), link, labels)

    pairs = _saddles(labels, rho, lists, kstar)
    parent, edges = _merge(rho[peaks], err[peaks], pairs, rho, err, z)
    survivors = np.flatnonzero(parent == np.arange(parent.shape[0]))
    new_label = np.full(parent.shape[0], -1, dtype=np.intp)
    new_label[survivors] = np.arange(survivors.shape[0])
    labels = new_label[parent][labels]

    n_clusters = survivors.shape[0]
    saddle_points = np.full((n_clusters, n_clusters), -1, dtype=np.intp)
    for (a, b), point in edges.items():
        a, b = new_label[a], new_label[b]
        saddle_points[a, b] = saddle_points[b, a] = point
    if halo:
        saddle_rho = np.where(saddle_points >= 0, rho[saddle_points], -np.inf)
        highest = saddle_rho.max(axis=1) if n_clusters else np.empty(0)
        labels = np.where(rho < highest[labels], -1, labels)
    return Bunch(labels=labels, peaks=peaks[survivors], saddle_points=saddle_points)
