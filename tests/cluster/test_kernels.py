"""Every Numba kernel of skrepgeom.cluster against a plain NumPy / Python version."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import gammaln
from scipy.stats import chi2

from skrepgeom.cluster._density_peaks import log_unit_ball_volume
from skrepgeom.cluster._kernels import (
    _shell_log_volumes,
    adaptive_kstar,
    assign_to_peaks,
    border_neighbors,
    kstar_ratio_bounds,
    pak_log_density,
    peak_removal_links,
    putative_peaks,
    scan_outcomes,
)
from skrepgeom.neighbors import kneighbors


def _whole(array):
    """A full array as the kernels' ragged ``(base, long, long_row)`` triple."""
    return array, np.empty((0, array.shape[1]), dtype=array.dtype), np.full(
        array.shape[0], -1, dtype=np.intp
    )


def _kstar(distances, indices, d, threshold):
    n, n_columns = distances.shape
    kstar = np.empty(n, dtype=np.intp)
    blocked = np.empty(n, dtype=np.intp)
    D, long_D, long_row = _whole(distances)
    I, long_I, _ = _whole(indices)
    adaptive_kstar(
        D, long_D, I, long_I, long_row, np.arange(n), np.full(n, 4), n_columns,
        kstar_ratio_bounds(n_columns, d, threshold), d, threshold, kstar, blocked,
    )
    assert not blocked.any()
    return kstar


@pytest.fixture(scope="module")
def neighbors():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(300, 2)), rng.normal(size=(200, 2)) * 0.5 + [3, 0]]
    distances, indices = kneighbors(X, 60)
    return X, distances, indices


def test_unit_ball_volume():
    for d in (1, 2, 3, 7.5, 60):
        expected = math.log(math.pi ** (d / 2) / math.gamma(d / 2 + 1))
        assert log_unit_ball_volume(d) == pytest.approx(expected, rel=1e-13)
    assert np.isfinite(log_unit_ball_volume(5000.0))


def test_shell_log_volumes_match_differences_of_balls(neighbors):
    _, distances, _ = neighbors
    for d in (1.0, 2.0, 3.7):
        log_omega = 0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1)
        out = np.empty(40)
        _shell_log_volumes(distances[5], 40, d, log_omega, out)
        r = np.r_[0.0, distances[5, :40]]
        expected = np.log(np.exp(log_omega) * (r[1:] ** d - r[:-1] ** d))
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_shell_log_volumes_ties_and_large_dimension():
    out = np.empty(3)
    _shell_log_volumes(np.array([1.0, 2.0, 2.0]), 3, 60.0, 0.0, out)
    assert out[0] == 0.0
    assert out[2] == pytest.approx(60 * np.log(2.0) + np.log(np.finfo(float).eps))
    assert np.all(np.isfinite(out))


def _kstar_reference(distances, indices, d, threshold):
    """The k* loop written with volumes omega r**d, one point at a time."""
    omega = math.pi ** (d / 2) / math.gamma(d / 2 + 1)
    n_columns = distances.shape[1]
    kstar = []
    for i in range(distances.shape[0]):
        result = n_columns
        for j in range(4, n_columns + 1):
            k = j - 1
            vi = omega * distances[i, k - 1] ** d
            vj = omega * distances[indices[i, j - 1], k - 1] ** d
            D = -2 * k * (math.log(vi) + math.log(vj) - 2 * math.log(vi + vj) + math.log(4))
            if D > threshold:
                result = j - 1
                break
        kstar.append(result)
    return np.array(kstar)


def test_adaptive_kstar_matches_loop(neighbors):
    _, distances, indices = neighbors
    threshold = chi2.isf(1e-6, 1)
    kstar = _kstar(distances, indices, 2.0, threshold)
    expected = _kstar_reference(distances, indices, 2.0, threshold)
    np.testing.assert_array_equal(kstar, expected)
    assert 3 <= kstar.min() and len(np.unique(kstar)) > 5


def _neg_likelihood(params, v):
    F, a = params
    l = np.arange(1, v.shape[0] + 1)
    t = F + a * l
    e = v * np.exp(t)
    return -(t - e).sum(), -np.array([(1 - e).sum(), (l * (1 - e)).sum()])


def _neg_hessian(params, v):
    F, a = params
    l = np.arange(1, v.shape[0] + 1)
    e = v * np.exp(F + a * l)
    return np.array([[e.sum(), (l * e).sum()], [(l * e).sum(), (l * l * e).sum()]])


def test_pak_matches_scipy_minimize(neighbors):
    _, distances, indices = neighbors
    d = 2.0
    log_omega = log_unit_ball_volume(d)
    kstar = _kstar(distances, indices, d, chi2.isf(1e-6, 1))
    F = np.empty(distances.shape[0])
    a = np.empty(distances.shape[0])
    pak_log_density(*_whole(distances), kstar, d, log_omega, 1e-8, 200, F, a)
    omega = np.exp(log_omega)
    for i in range(200):
        k = kstar[i]
        r = np.r_[0.0, distances[i, :k]]
        v = omega * (r[1:] ** d - r[:-1] ** d)
        start = [np.log(k / (omega * r[k] ** d)), 0.0]
        best = minimize(
            _neg_likelihood, start, args=(v,), jac=True, hess=_neg_hessian,
            method="trust-exact", options={"gtol": 1e-11},
        )
        assert abs(F[i] - best.x[0]) <= 1e-6
        assert abs(a[i] - best.x[1]) <= 1e-6


def test_pak_converges_for_small_and_tied_neighbourhoods():
    distances = np.array([[1.0, 1.0, 2.0, 3.0], [0.5, 1.0, 1.5, 2.0]])
    F = np.empty(2)
    a = np.empty(2)
    D, long_D, long_row = _whole(distances)
    pak_log_density(D, long_D, long_row, np.array([3, 4]), 1.0, np.log(2.0), 1e-8, 200, F, a)
    assert np.all(np.isfinite(F)) and np.all(np.isfinite(a))
    v = 2.0 * np.diff(np.r_[0.0, distances[1]])
    grad = _neg_likelihood([F[1], a[1]], v)[1]
    assert np.all(np.abs(grad) < 1e-8)


def test_putative_peaks(neighbors):
    _, _, indices = neighbors
    rng = np.random.default_rng(1)
    g = rng.normal(size=indices.shape[0])
    kstar = rng.integers(3, 60, size=indices.shape[0])
    out = np.empty(indices.shape[0], dtype=bool)
    putative_peaks(g, *_whole(indices), kstar, out)
    expected = [all(g[indices[i, :kstar[i]]] <= g[i]) for i in range(len(g))]
    np.testing.assert_array_equal(out, expected)
    assert 0 < out.sum() < len(g)


def test_peak_removal_links(neighbors):
    _, _, indices = neighbors
    rng = np.random.default_rng(2)
    n = indices.shape[0]
    g = rng.normal(size=n)
    kstar = rng.integers(3, 60, size=n)
    is_peak = rng.random(n) < 0.3
    link = np.empty(n, dtype=np.intp)
    peak_removal_links(g, *_whole(indices), kstar, is_peak, link)
    for j in range(n):
        remover = [l for l in range(n) if j in indices[l, : kstar[l]] and g[l] > g[j]]
        if is_peak[j] and remover:
            best = max(remover, key=lambda l: (g[l], -l))
            assert link[j] == best
        else:
            assert link[j] == -1


def test_assign_to_peaks(neighbors):
    _, _, indices = neighbors
    n = indices.shape[0]
    rng = np.random.default_rng(3)
    g = rng.normal(size=n)
    labels = np.full(n, -1, dtype=np.intp)
    seeds = np.argsort(-g)[:4]
    labels[seeds] = np.arange(4)
    link = np.full(n, -1, dtype=np.intp)
    order = np.argsort(-g, kind="stable")
    expected = labels.copy()
    for i in order:
        if expected[i] == -1:
            expected[i] = next((expected[j] for j in indices[i] if expected[j] != -1), -1)
    assign_to_peaks(order, *_whole(indices), link, labels)
    np.testing.assert_array_equal(labels, expected)


def test_assign_to_peaks_falls_back_to_link():
    indices = np.array([[1], [2], [1]])
    labels = np.array([0, -1, -1])
    link = np.array([-1, -1, 0])
    assign_to_peaks(np.array([0, 2, 1]), *_whole(indices), link, labels)
    np.testing.assert_array_equal(labels, [0, 0, 0])


def test_border_neighbors(neighbors):
    X, _, indices = neighbors
    rng = np.random.default_rng(4)
    n = indices.shape[0]
    labels = (X[:, 0] > 1.5).astype(np.intp) + (X[:, 1] > 0.5)
    kstar = rng.integers(3, 60, size=n)
    out = np.empty(n, dtype=np.intp)
    short = np.empty(n, dtype=np.intp)
    border_neighbors(labels, *_whole(indices), kstar, indices.shape[1], out, short)
    assert np.all(short == -1)
    for p1 in range(n):
        c = labels[p1]
        outside = [j for j in indices[p1, : kstar[p1]] if labels[j] != c]
        expected = -1
        if outside:
            p2 = outside[0]
            same = [q for q in indices[p2] if labels[q] == c]
            if same and same[0] == p1:
                expected = labels[p2]
        assert out[p1] == expected
    assert np.count_nonzero(out >= 0) > 5


def test_estimator_kstar_and_pak_match_references(neighbors):
    import warnings

    from skrepgeom.cluster import DensityPeakClusterer

    X, distances, indices = neighbors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dp = DensityPeakClusterer(intrinsic_dimension=2, max_neighbors=61).fit(X)
    expected = _kstar_reference(distances, indices, 2.0, chi2.isf(1e-6, 1))
    np.testing.assert_array_equal(dp.kstar_, expected)
    omega = np.pi  # unit disc
    for i in range(0, 500, 25):
        k = dp.kstar_[i]
        r = np.r_[0.0, distances[i, :k]]
        v = omega * (r[1:] ** 2 - r[:-1] ** 2)
        best = minimize(
            _neg_likelihood, [np.log(k / (omega * r[k] ** 2)), 0.0], args=(v,), jac=True,
            hess=_neg_hessian, method="trust-exact", options={"gtol": 1e-11},
        )
        assert abs(dp.density_[i] + np.log(500) - best.x[0]) <= 1e-6


def _shortened(indices, rows_long, width=10):
    """Ragged indices: rows ``rows_long`` keep all columns, the others the first ``width``."""
    n = indices.shape[0]
    long_row = np.full(n, -1, dtype=np.intp)
    long_row[rows_long] = np.arange(len(rows_long))
    return np.ascontiguousarray(indices[:, :width]), indices[rows_long].copy(), long_row


def test_kstar_ratio_bounds_put_the_statistic_at_the_threshold():
    threshold = chi2.isf(1e-6, 1)
    for d in (1.0, 2.5, 60.0):
        bounds = kstar_ratio_bounds(300, d, threshold)
        for k in (3, 17, 299):
            x = d * np.log(bounds[k])
            vi, vj = 1.0, np.exp(x)
            D = -2 * k * (np.log(vi) + np.log(vj) - 2 * np.log(vi + vj) + np.log(4))
            assert D == pytest.approx(threshold, rel=1e-10)


def test_adaptive_kstar_on_ratios_at_the_bound():
    # Neighbour radii within rounding of the bound: the statistic decides.
    threshold = chi2.isf(1e-6, 1)
    d = 2.0
    bounds = kstar_ratio_bounds(30, d, threshold)
    rng = np.random.default_rng(5)
    n = 200
    distances = np.sort(rng.uniform(1, 2, size=(n, 30)), axis=1)
    indices = (np.arange(n)[:, None] + 1 + np.arange(30)) % n
    for i in range(0, n, 2):
        k = rng.integers(3, 30)
        j = indices[i, k]
        distances[i, k - 1] = distances[j, k - 1] * bounds[k] * (1 + rng.choice([-1, 0, 1]) * 1e-15)
    distances = np.sort(distances, axis=1)
    np.testing.assert_array_equal(
        _kstar(distances, indices, d, threshold), _kstar_reference(distances, indices, d, threshold)
    )


def test_scan_outcomes(neighbors):
    _, _, indices = neighbors
    n = indices.shape[0]
    rng = np.random.default_rng(6)
    rank = rng.permutation(n)
    labelled = rng.random(n) < 0.02
    ragged = _shortened(indices, np.arange(0, n, 3))
    short = np.empty(n, dtype=bool)
    scan_outcomes(rank, labelled, *ragged, indices.shape[1], short)
    for i in range(n):
        width = indices.shape[1] if i % 3 == 0 else 10
        found = labelled[i] or any(rank[q] < rank[i] or labelled[q] for q in indices[i, :width])
        assert short[i] == (width < indices.shape[1] and not found)
    assert 0 < short.sum() < n


def test_border_neighbors_flags_short_lists(neighbors):
    X, _, indices = neighbors
    n = indices.shape[0]
    labels = (X[:, 0] > 1.5).astype(np.intp) + (X[:, 1] > 0.5)
    kstar = np.random.default_rng(7).integers(1, 4, size=n)
    ragged = _shortened(indices, np.arange(0, n, 2), width=3)
    other = np.empty(n, dtype=np.intp)
    short = np.empty(n, dtype=np.intp)
    border_neighbors(labels, *ragged, kstar, indices.shape[1], other, short)
    full_other = np.empty(n, dtype=np.intp)
    border_neighbors(labels, *_whole(indices), kstar, indices.shape[1], full_other, short.copy())
    for p1 in range(n):
        c = labels[p1]
        outside = [j for j in indices[p1, : kstar[p1]] if labels[j] != c]
        if not outside:
            assert other[p1] == -1 and short[p1] == -1
            continue
        p2 = outside[0]
        width = indices.shape[1] if p2 % 2 == 0 else 3
        seen = [q for q in indices[p2, :width] if q == p1 or labels[q] == c]
        if seen:
            assert short[p1] == -1 and other[p1] == full_other[p1]
        else:
            assert short[p1] == (p2 if width < indices.shape[1] else -1)
            assert other[p1] == -1
    assert np.count_nonzero(short >= 0) > 0
