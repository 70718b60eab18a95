"""Numba kernels of the intrinsic-dimension estimators (tested against NumPy in
``tests/dimension/test_kernels.py``)."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def twonn_linear_fit(sorted_log_mu, counts, targets):
    """Slope through the origin of ``targets[i]`` against the i-th smallest log mu.

    ``targets[i] = -log(1 - (i + 1) / N)`` for the ``n_keep = targets.shape[0]``
    smallest values kept. ``counts[j]`` is how often the j-th sorted value occurs
    in the sample (all ones for the data itself, the draw counts of a bootstrap
    resample), so a resample is fitted without sorting it again.
    """
    n_keep = targets.shape[0]
    sum_xy = 0.0
    sum_xx = 0.0
    rank = 0
    for j in range(sorted_log_mu.shape[0]):
        x = sorted_log_mu[j]
        for _ in range(counts[j]):
            if rank >= n_keep:
                return sum_xy / sum_xx
            sum_xy += x * targets[rank]
            sum_xx += x * x
            rank += 1
    return sum_xy / sum_xx


@njit(cache=True, nogil=True)
def twonn_bootstrap_fits(sorted_log_mu, draws, targets):
    """:func:`twonn_linear_fit` of every resample ``draws[b]`` (indices into the sample).

    A resample with replacement, sorted, is the sorted sample with each value
    repeated as often as it was drawn: counting the draws replaces a sort. A value
    drawn ``c`` times at ranks ``r .. r + c - 1`` adds ``x * (T[r + c] - T[r])`` to
    the cross product, ``T`` the running sum of ``targets``, so each distinct value
    costs O(1) whatever its count.
    """
    n_resamples, n_draws = draws.shape
    n_values = sorted_log_mu.shape[0]
    n_keep = targets.shape[0]
    cumulative = np.zeros(n_keep + 1)
    for rank in range(n_keep):
        cumulative[rank + 1] = cumulative[rank] + targets[rank]
    counts = np.empty(n_values, dtype=np.int32)
    estimates = np.empty(n_resamples)
    for b in range(n_resamples):
        counts[:] = 0
        for i in range(n_draws):
            counts[draws[b, i]] += 1
        sum_xy = 0.0
        sum_xx = 0.0
        rank = 0
        for j in range(n_values):
            count = counts[j]
            if count == 0:
                continue
            if rank + count > n_keep:
                count = n_keep - rank
            x = sorted_log_mu[j]
            sum_xy += x * (cumulative[rank + count] - cumulative[rank])
            sum_xx += x * x * count
            rank += count
            if rank == n_keep:
                break
        estimates[b] = sum_xy / sum_xx
    return estimates


@njit(cache=True, nogil=True)
def gride_score(log_mu, n1, n2, dimension, floor):
    """Derivative of the GRIDE log-likelihood in the dimension (zero at the estimate)."""
    total = 0.0
    for j in range(log_mu.shape[0]):
        one_minus = 1.0 - np.exp(-dimension * log_mu[j])
        if one_minus < floor:
            one_minus = floor
        total += ((1.0 - n2 + n1) / one_minus + n2 - 1.0) * log_mu[j]
    return total - (log_mu.shape[0] - 1.0) / dimension


@njit(cache=True, nogil=True)
def gride_fisher_information(log_mu, n1, n2, dimension, floor):
    """Fisher information of the GRIDE likelihood at ``dimension``."""
    total = 0.0
    for j in range(log_mu.shape[0]):
        power = np.exp(-dimension * log_mu[j])
        denominator = (1.0 - power) ** 2
        if denominator < floor:
            denominator = floor
        total += log_mu[j] ** 2 * power / denominator
    return log_mu.shape[0] / dimension**2 + (n2 - n1 - 1.0) * total


@njit(cache=True, nogil=True)
def gride_bisect(log_mu, n1, n2, lower, upper, tol):
    """Root of :func:`gride_score` on ``[lower, upper]`` by bisection.

    Returns NaN when the score has the same sign at both ends (root not bracketed).
    """
    floor = 2.0 * tol
    score_lower = gride_score(log_mu, n1, n2, lower, floor)
    score_upper = gride_score(log_mu, n1, n2, upper, floor)
    if score_lower * score_upper > 0.0:
        return np.nan
    while upper - lower > tol:
        middle = 0.5 * (lower + upper)
        score_middle = gride_score(log_mu, n1, n2, middle, floor)
        if (score_middle < 0.0) == (score_lower < 0.0):
            lower = middle
            score_lower = score_middle
        else:
            upper = middle
    return 0.5 * (lower + upper)
