"""Numba kernels of the dimension area against NumPy versions."""

import numpy as np
import pytest
from numba import njit
from scipy.optimize import brentq

from skrepgeom.dimension._kernels import (
    bounded_draw,
    gride_bisect,
    gride_fisher_information,
    gride_score,
    splitmix64_next,
    twonn_bootstrap_fits,
    twonn_linear_fit,
)

from ._reference import bounded_indices, splitmix64_outputs


def _fit_numpy(sample, n_keep, n_total):
    x = np.sort(sample)[:n_keep]
    y = -np.log(1 - np.arange(1, n_keep + 1) / n_total)
    return (x @ y) / (x @ x)


def test_linear_fit_with_counts_equals_fit_on_expanded_sample():
    rng = np.random.default_rng(0)
    sorted_log_mu = np.sort(rng.exponential(0.3, size=500))
    counts = rng.multinomial(500, np.full(500, 1 / 500))
    expanded = np.repeat(sorted_log_mu, counts)
    n_keep = 450
    x = expanded[:n_keep]
    y = -np.log(1 - np.arange(1, n_keep + 1) / 500)
    expected = (x @ y) / (x @ x)
    assert twonn_linear_fit(sorted_log_mu, counts, y) == pytest.approx(expected, rel=1e-12)


def test_splitmix64_reference_values():
    # Outputs from seed 1234567 published with Vigna's reference splitmix64.c
    # (the test vector used by the xoshiro ports).
    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423,
                4593380528125082431, 16408922859458223821]
    assert [int(v) for v in splitmix64_outputs(1234567, 5)] == expected
    state = np.uint64(1234567)
    for value in expected:
        state, output = splitmix64_next(np.uint64(state))
        assert int(output) == value


@njit
def _draws(seed, n, bound):
    bound = np.uint64(bound)
    threshold = (np.uint64(1 << 32) - bound) % bound
    out = np.empty(n, dtype=np.int64)
    state = np.uint64(seed)
    for i in range(n):
        state, value = bounded_draw(state, bound, threshold)
        out[i] = value
    return out


# 3 * 2**30 rejects a quarter of the outputs: the rejection path is exercised.
@pytest.mark.parametrize("bound", [1, 7, 400, 3 * 2**30, 2**32 - 1])
def test_bounded_draw_equals_numpy_generator(bound):
    for seed in (0, 2**64 - 1, 987654321987654321):
        expected = bounded_indices(seed, 5000, bound)
        np.testing.assert_array_equal(_draws(np.uint64(seed), 5000, bound), expected)
        assert expected.min() >= 0 and expected.max() < bound


def test_bounded_draw_is_uniform():
    draws = _draws(np.uint64(11), 300_000, 6)
    counts = np.bincount(draws, minlength=6)
    chi2 = np.sum((counts - 50_000) ** 2 / 50_000)
    assert chi2 < 20.5  # chi-square, 5 degrees of freedom, p = 0.001


def test_bootstrap_fits_equal_fits_of_sorted_resamples():
    rng = np.random.default_rng(2)
    sorted_log_mu = np.sort(rng.exponential(0.3, size=400))
    seeds = rng.integers(0, 2**64, size=7, dtype=np.uint64)
    n_keep = 350
    targets = -np.log(1 - np.arange(1, n_keep + 1) / 400)
    expected = [
        _fit_numpy(sorted_log_mu[bounded_indices(seed, 400, 400)], n_keep, 400)
        for seed in seeds
    ]
    np.testing.assert_allclose(
        twonn_bootstrap_fits(sorted_log_mu, seeds, targets), expected, rtol=1e-12
    )


def _score_numpy(log_mu, n1, n2, d, floor):
    one_minus = np.maximum(1 - np.exp(-d * log_mu), floor)
    return np.sum(((1 - n2 + n1) / one_minus + n2 - 1) * log_mu) - (log_mu.size - 1) / d


def _information_numpy(log_mu, n1, n2, d, floor):
    power = np.exp(-d * log_mu)
    return log_mu.size / d**2 + (n2 - n1 - 1) * np.sum(
        log_mu**2 * power / np.maximum((1 - power) ** 2, floor)
    )


@pytest.mark.parametrize("n1, n2", [(1, 2), (2, 4), (4, 16)])
def test_gride_score_information_and_root(n1, n2):
    rng = np.random.default_rng(1)
    log_mu = rng.exponential(0.2, size=300)
    for d in (0.5, 3.0, 12.0):
        assert gride_score(log_mu, n1, n2, d, 2e-7) == pytest.approx(
            _score_numpy(log_mu, n1, n2, d, 2e-7), rel=1e-12
        )
        assert gride_fisher_information(log_mu, n1, n2, d, 1e-15) == pytest.approx(
            _information_numpy(log_mu, n1, n2, d, 1e-15), rel=1e-12
        )
    root = gride_bisect(log_mu, float(n1), float(n2), 1e-3, 1e3, 1e-10)
    expected = brentq(lambda d: _score_numpy(log_mu, n1, n2, d, 2e-10), 1e-3, 1e3, xtol=1e-12)
    assert root == pytest.approx(expected, abs=1e-8)
    assert np.isnan(gride_bisect(log_mu, float(n1), float(n2), 1e-3, expected / 2, 1e-10))
