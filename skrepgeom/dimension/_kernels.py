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


_SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SPLITMIX_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_MUL2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def splitmix64_next(state):
    """One step of SplitMix64 (Steele, Lea & Flood 2014): ``(new state, output)``.

    Its state is one 64-bit word, so every bootstrap resample has its own cheap,
    independent stream.
    """
    state = np.uint64(state) + _SPLITMIX_GAMMA
    z = state
    z = (z ^ (z >> np.uint64(30))) * _SPLITMIX_MUL1
    z = (z ^ (z >> np.uint64(27))) * _SPLITMIX_MUL2
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def bounded_draw(state, bound, threshold):
    """Uniform integer in ``[0, bound)``, ``bound < 2**32``: ``(new state, value)``.

    Lemire's multiply-shift (ACM TOMS 2019) on the high 32 bits ``w`` of a
    SplitMix64 output gives ``(w * bound) >> 32``; ``threshold = 2**32 mod bound``
    rejects the few words whose low product half would bias it, so every value is
    exactly equally likely.
    """
    while True:
        state, z = splitmix64_next(state)
        product = (z >> np.uint64(32)) * bound
        if (product & _LOW32) >= threshold:
            return state, product >> np.uint64(32)


@njit(cache=True, nogil=True)
def twonn_bootstrap_fits(sorted_log_mu, seeds, targets):
    """:func:`twonn_linear_fit` of one resample with replacement per seed.

    Resample ``b`` draws ``N = sorted_log_mu.shape[0]`` indices with
    :func:`bounded_draw` from the SplitMix64 stream started at ``seeds[b]``, so it
    depends on its seed only. A resample, sorted, is the sorted sample with each
    value repeated as often as it was drawn: counting the draws replaces a sort. A
    value drawn ``c`` times at ranks ``r .. r + c - 1`` adds ``x * (T[r + c] - T[r])``
    to the cross product, ``T`` the running sum of ``targets``, so each distinct
    value costs O(1) whatever its count (no branch on ``c == 0``: a missing value
    adds zero).
    """
    n_values = sorted_log_mu.shape[0]
    n_keep = targets.shape[0]
    bound = np.uint64(n_values)
    threshold = (np.uint64(1 << 32) - bound) % bound
    cumulative = np.zeros(n_keep + 1)
    for rank in range(n_keep):
        cumulative[rank + 1] = cumulative[rank] + targets[rank]
    counts = np.empty(n_values, dtype=np.int32)
    estimates = np.empty(seeds.shape[0])
    for b in range(seeds.shape[0]):
        counts[:] = 0
        state = seeds[b]
        for _ in range(n_values):
            state, index = bounded_draw(state, bound, threshold)
            counts[index] += 1
        sum_xy = 0.0
        sum_xx = 0.0
        rank = 0
        previous = 0.0
        for j in range(n_values):
            count = min(np.int64(counts[j]), n_keep - rank)
            x = sorted_log_mu[j]
            rank += count
            current = cumulative[rank]
            sum_xy += x * (current - previous)
            previous = current
            sum_xx += x * x * count
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
