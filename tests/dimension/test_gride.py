"""GRIDE against anchor values (DADApy 0.3.4 return_id_scaling_gride) and closed forms."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.spatial.distance import cdist
from scipy.special import beta
from sklearn.datasets import make_swiss_roll
from sklearn.model_selection import GridSearchCV

from skrepgeom.dimension import GrideDimension, TwoNNDimension
from skrepgeom.exceptions import ConvergenceWarning
from skrepgeom.neighbors import kneighbors

# Measured by running DADApy 0.3.4 return_id_scaling_gride(range_max=64) on these data sets.
SWISS_IDS = [1.967, 1.913, 2.014, 1.968, 1.947, 1.927]
SWISS_ERRS = [0.028, 0.020, 0.015, 0.010, 0.007, 0.005]
CUBE_IDS = [4.763, 4.708, 4.680, 4.595, 4.536, 4.489]


@pytest.fixture(scope="module")
def swiss_roll():
    return make_swiss_roll(5000, noise=0.0, random_state=0)[0]


def test_anchor_values(swiss_roll):
    gride = GrideDimension().fit(swiss_roll)
    np.testing.assert_array_equal(gride.n1_, [1, 2, 4, 8, 16, 32])
    np.testing.assert_array_equal(gride.n2_, [2, 4, 8, 16, 32, 64])
    np.testing.assert_allclose(gride.dimensions_, SWISS_IDS, atol=1e-3)
    np.testing.assert_allclose(gride.dimensions_err_, SWISS_ERRS, atol=1e-3)
    assert np.all(np.diff(gride.scales_) > 0)
    cube = np.random.default_rng(0).uniform(size=(10000, 5))
    np.testing.assert_allclose(GrideDimension().fit(cube).dimensions_, CUBE_IDS, atol=1e-3)


def test_first_scale_is_twonn_mle(swiss_roll):
    gride = GrideDimension(range_max=2).fit(swiss_roll)
    mle = TwoNNDimension(method="mle", discard_fraction=0.0).fit(swiss_roll)
    assert gride.dimensions_.shape == (1,)
    assert gride.dimension_ == pytest.approx(mle.dimension_, abs=1e-6)


def _gride_numpy(X, n1, n2):
    distances, _ = kneighbors(X, n2, backend="sklearn")
    mu = distances[:, n2 - 1] / distances[:, n1 - 1]
    median, q95 = np.quantile(mu, [0.5, 0.95])
    log_mu = np.log(mu[mu < median + 20 * (q95 - median)])

    def score(d):
        return np.sum(((1 - n2 + n1) / (1 - np.exp(-d * log_mu)) + n2 - 1) * log_mu) - (
            log_mu.size - 1
        ) / d

    return brentq(score, 1e-3, 1e3, xtol=1e-12)


def test_custom_pairs_match_scipy_root(swiss_roll):
    X = swiss_roll[:2000]
    gride = GrideDimension(n1=[3, 5], n2=[7, 20]).fit(X)
    np.testing.assert_array_equal(gride.n1_, [3, 5])
    expected = [_gride_numpy(X, 3, 7), _gride_numpy(X, 5, 20)]
    np.testing.assert_allclose(gride.dimensions_, expected, atol=1e-6)
    assert GrideDimension(n1=4).fit(X).n2_.tolist() == [8]
    assert GrideDimension(n2=10).fit(X).n1_.tolist() == [5]


def test_dimension_is_closest_to_median(swiss_roll):
    gride = GrideDimension().fit(swiss_roll)
    median = np.median(gride.dimensions_)
    assert gride.scale_index_ == np.argmin(np.abs(gride.dimensions_ - median))
    assert gride.dimension_ == gride.dimensions_[gride.scale_index_]


def test_outliers_are_filtered():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.uniform(size=(1000, 2)), [[50.0, 50.0], [50.0, 50.001]]])
    gride = GrideDimension(n1=1, n2=4).fit(X)
    assert gride.n_filtered_[0] >= 2


def test_ladder_shrinks_with_few_samples(swiss_roll):
    gride = GrideDimension().fit(swiss_roll[:40])
    np.testing.assert_array_equal(gride.n2_, [2, 4, 8, 16, 32])


def test_float32(swiss_roll):
    d64 = GrideDimension(range_max=16).fit(swiss_roll).dimensions_
    d32 = GrideDimension(range_max=16).fit(swiss_roll.astype(np.float32)).dimensions_
    np.testing.assert_allclose(d32, d64, atol=1e-3)


def test_root_not_bracketed_warns(swiss_roll):
    with pytest.warns(ConvergenceWarning) as record:
        gride = GrideDimension(range_max=4, d1=0.5).fit(swiss_roll[:500])
    messages = [str(w.message) for w in record]
    assert any("n1=1, n2=2" in m for m in messages) and any("n1=2, n2=4" in m for m in messages)
    assert np.all(np.isnan(gride.dimensions_))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n1": [2, 4], "n2": [3]}, "same length"),
        ({"n1": 4, "n2": 4}, "n2 must exceed"),
        ({"n1": [3], "n2": [2]}, "n2 must exceed"),
        ({"n2": 600}, "n2=600 .* n_samples=500"),
        ({"d0": 10.0, "d1": 1.0}, "d0 must be smaller"),
        ({"backend": "ball"}, "backend"),
        ({"n1": [1.5], "n2": [3]}, "ints"),
    ],
)
def test_bad_parameters(swiss_roll, params, match):
    with pytest.raises(ValueError, match=match):
        GrideDimension(**params).fit(swiss_roll[:500])


def test_bad_input():
    with pytest.raises(ValueError, match="n_samples=2"):
        GrideDimension().fit(np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        GrideDimension().fit(np.array([[np.nan, 1.0]] * 5))
    with pytest.raises(ValueError, match=r"duplicate.*remove"):
        GrideDimension(duplicates="raise").fit(np.vstack([np.eye(5), np.eye(5)[:1]]))


def _ratios_brute(X, n1, n2):
    dist = cdist(X, X)
    np.fill_diagonal(dist, np.inf)
    ordered = np.sort(dist, axis=1)
    return ordered[:, n2 - 1] / ordered[:, n1 - 1]


def _gride_density(mu, n1, n2, d):
    # Denti et al. 2022, eq. 3.
    return d * (mu**d - 1) ** (n2 - n1 - 1) / (beta(n2 - n1, n1) * mu ** ((n2 - 1) * d + 1))


def test_gride_density_integrates_to_one():
    for n1, n2, d in [(1, 2, 2.0), (2, 4, 3.5), (4, 8, 1.3)]:
        total, _ = quad(_gride_density, 1, np.inf, args=(n1, n2, d))
        assert total == pytest.approx(1, abs=1e-7)


def test_score_is_mean_log_density_at_the_chosen_scale(swiss_roll):
    train, test = swiss_roll[:3000], swiss_roll[3000:4000]
    gride = GrideDimension(range_max=16).fit(train)
    n1, n2 = gride.n1_[gride.scale_index_], gride.n2_[gride.scale_index_]
    mu = _ratios_brute(test, n1, n2)
    expected = np.mean(np.log(_gride_density(mu, n1, n2, gride.dimension_)))
    assert gride.score(test) == pytest.approx(expected, rel=1e-9)
    search = GridSearchCV(GrideDimension(n1=2, n2=4), {"d1": [100.0, 1000.0]}, cv=3)
    assert np.all(np.isfinite(search.fit(train).cv_results_["mean_test_score"]))


def test_n_jobs_zero_and_verbose(swiss_roll, monkeypatch):
    from skrepgeom.dimension import _gride, _kernels

    with pytest.raises(ValueError, match=r"n_jobs=0 is not valid: use None"):
        GrideDimension(n_jobs=0).fit(swiss_roll[:100])
    calls = []
    monkeypatch.setattr(_gride, "compilation_notice", lambda *args: calls.append(args))
    GrideDimension(range_max=4, verbose=1).fit(swiss_roll[:200])
    assert calls == [(1, _kernels.gride_bisect, _kernels.gride_fisher_information)]
