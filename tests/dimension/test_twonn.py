"""TwoNN against anchor values, closed forms and brute-force NumPy versions."""

import pickle
import warnings

import numpy as np
import pytest
from scipy import sparse
from scipy.spatial.distance import cdist
from sklearn.base import clone
from sklearn.datasets import make_swiss_roll
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skrepgeom.dimension import TwoNNDimension, twonn_decimation, twonn_from_distances
from skrepgeom.exceptions import DuplicateSamplesWarning

from ._reference import bounded_indices


@pytest.fixture(scope="module")
def swiss_roll():
    return make_swiss_roll(5000, noise=0.0, random_state=0)[0]


@pytest.fixture(scope="module")
def cube5():
    return np.random.default_rng(0).uniform(size=(10000, 5))


# Anchors, measured by running DADApy 0.3.4 compute_id_2NN (linear, mle with its fraction ignored)
# and scikit-dimension 0.5.0 TwoNN (= linear) on these data sets.
ANCHORS = {
    "swiss_roll": {"linear": 1.9534, "mle0": 1.9671, "linear0.001": 1.9891, "scale": 0.3785},
    "cube5": {"linear": 4.7754, "mle0": 4.7635, "linear0.001": 4.7575},
}


@pytest.mark.parametrize("name", ["swiss_roll", "cube5"])
def test_anchor_values(name, request):
    X = request.getfixturevalue(name)
    anchor = ANCHORS[name]
    linear = TwoNNDimension(random_state=0).fit(X)
    assert linear.dimension_ == pytest.approx(anchor["linear"], abs=2e-4)
    mle = TwoNNDimension(method="mle", discard_fraction=0.0).fit(X)
    assert mle.dimension_ == pytest.approx(anchor["mle0"], abs=2e-4)
    fine = TwoNNDimension(discard_fraction=0.001, n_bootstrap=0).fit(X)
    assert fine.dimension_ == pytest.approx(anchor["linear0.001"], abs=2e-4)
    if "scale" in anchor:
        assert linear.scale_ == pytest.approx(anchor["scale"], abs=1e-4)


def _linear_numpy(mu, discard_fraction):
    n_total = mu.size
    n_keep = min(int(n_total * (1 - discard_fraction)), n_total - 1)
    x = np.sort(np.log(mu))[:n_keep]
    y = -np.log(1 - np.arange(1, n_keep + 1) / n_total)
    return (x @ y) / (x @ x)


@pytest.mark.parametrize("discard_fraction", [0.0, 0.1, 0.5])
def test_linear_fit_equals_numpy_least_squares(cube5, discard_fraction):
    twonn = TwoNNDimension(discard_fraction=discard_fraction, n_bootstrap=0).fit(cube5[:2000])
    assert twonn.dimension_ == pytest.approx(_linear_numpy(twonn.mu_, discard_fraction), rel=1e-12)
    assert np.isnan(twonn.dimension_err_)
    np.testing.assert_allclose(
        twonn.mu_, twonn.neighbor_distances_[:, 1] / twonn.neighbor_distances_[:, 0]
    )


def test_mle_discard_zero_is_closed_form(cube5):
    twonn = TwoNNDimension(method="mle", discard_fraction=0.0).fit(cube5[:3000])
    n = twonn.mu_.size
    assert twonn.dimension_ == pytest.approx((n - 1) / np.log(twonn.mu_).sum(), rel=1e-12)
    assert twonn.dimension_err_ == pytest.approx(twonn.dimension_ / np.sqrt(n - 2), rel=1e-12)


def test_censored_mle_on_exact_pareto():
    d, n = 7.0, 200_000
    rng = np.random.default_rng(0)
    mu = rng.uniform(size=n) ** (-1 / d)  # F(mu) = 1 - mu^(-d)
    r1 = rng.uniform(0.5, 1.5, size=n)
    estimate, error = twonn_from_distances(np.c_[r1, r1 * mu], method="mle", discard_fraction=0.1)
    assert abs(estimate - d) < 3 * error
    assert error == pytest.approx(estimate / np.sqrt(int(n * 0.9) - 2))
    # Ignoring the censoring biases the estimate upwards, far beyond the error.
    n_keep = int(n * 0.9)
    naive = (n_keep - 1) / np.sort(np.log(mu))[:n_keep].sum()
    assert naive - d > 10 * error


def test_bootstrap_error_scale(cube5):
    twonn = TwoNNDimension(random_state=0).fit(cube5)
    expected = twonn.dimension_ / np.sqrt(cube5.shape[0])
    assert 0.5 * expected <= twonn.dimension_err_ <= 2 * expected
    again = TwoNNDimension(random_state=0).fit(cube5)
    assert again.dimension_err_ == twonn.dimension_err_


def test_float32_matches_float64(swiss_roll):
    d64 = TwoNNDimension(n_bootstrap=0).fit(swiss_roll).dimension_
    d32 = TwoNNDimension(n_bootstrap=0).fit(swiss_roll.astype(np.float32)).dimension_
    assert abs(d32 - d64) < 1e-3
    local = TwoNNDimension().fit(swiss_roll[:500].astype(np.float32)).transform(swiss_roll[:5])
    assert local.dtype == np.float64  # output dtype follows the transformed X
    local32 = TwoNNDimension().fit(swiss_roll[:500]).transform(swiss_roll[:5].astype(np.float32))
    assert local32.dtype == np.float32


def _square_and_gaussian():
    rng = np.random.default_rng(0)
    square = np.zeros((2000, 10))
    square[:, :2] = rng.uniform(size=(2000, 2))
    gauss = np.zeros((2000, 10))
    gauss[:, 4:] = rng.normal(size=(2000, 6)) * 0.1
    gauss[:, 0] += 5.0
    return np.vstack([square, gauss])


def _local_numpy(X_fit, X_query, k):
    dist = cdist(X_fit, X_fit)  # direct differences, not the norm expansion
    np.fill_diagonal(dist, np.inf)
    sorted_dist = np.sort(dist, axis=1)
    mu = sorted_dist[:, 1] / sorted_dist[:, 0]
    query_dist = cdist(X_query, X_fit)
    neighbours = np.argsort(query_dist, axis=1, kind="stable")[:, :k]
    return (k - 1) / np.log(mu)[neighbours].sum(axis=1)


def test_local_dimension_two_regions():
    X = _square_and_gaussian()
    twonn = TwoNNDimension(n_neighbors=20)
    local = twonn.fit_transform(X)[:, 0]
    assert np.median(local[:2000]) == pytest.approx(2, abs=0.3)
    assert np.median(local[2000:]) == pytest.approx(6, abs=0.7)
    np.testing.assert_allclose(local, _local_numpy(X, X, 20), rtol=1e-10)
    np.testing.assert_allclose(twonn.transform(X)[:, 0], local)
    assert twonn.get_feature_names_out().tolist() == ["twonndimension0"]


def test_duplicates_policies(swiss_roll):
    X = np.vstack([swiss_roll[:500], swiss_roll[:3]])
    with pytest.warns(DuplicateSamplesWarning, match="Removed 3 duplicate"):
        warned = TwoNNDimension(random_state=0).fit(X)
    removed = TwoNNDimension(duplicates="remove", random_state=0).fit(X)
    clean = TwoNNDimension(random_state=0).fit(swiss_roll[:500])
    assert warned.n_duplicates_ == removed.n_duplicates_ == 3
    assert warned.dimension_ == removed.dimension_ == clean.dimension_
    assert removed.n_samples_fit_ == 500
    local = removed.transform(X)
    np.testing.assert_array_equal(local[500:], local[:3])
    with pytest.raises(ValueError, match=r"3 duplicate.*row 500 equals row 0.*remove"):
        TwoNNDimension(duplicates="raise").fit(X)
    with pytest.raises(ValueError, match="only 1 distinct"):
        TwoNNDimension(duplicates="remove").fit(np.ones((10, 3)))


def test_ties_r1_equal_r2_are_legal():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 3.0], [5.0, 5.0], [7.0, 1.0]])
    twonn = TwoNNDimension(discard_fraction=0.0, n_bootstrap=0).fit(X)
    assert twonn.mu_[0] == 1.0
    assert np.isfinite(twonn.dimension_)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[0.0, np.nan]] + [[i, 1.0] for i in range(5)]), "NaN"),
        (np.array([[0.0, np.inf]] + [[i, 1.0] for i in range(5)]), "infinity"),
        (np.arange(10.0), "2D array"),
        (np.ones((5, 2)) * 1j, "Complex"),
        (np.array([["a", "b"]] * 5), "could not convert|dtype"),
        (np.random.default_rng(0).normal(size=(2, 3)), "n_samples=2"),
    ],
)
def test_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        TwoNNDimension().fit(X)


def test_bad_input_sparse_and_parameters(swiss_roll):
    with pytest.raises(TypeError, match="[Ss]parse"):
        TwoNNDimension().fit(sparse.random(20, 3, density=0.5, format="csr"))
    with pytest.raises(ValueError, match="discard_fraction"):
        TwoNNDimension(discard_fraction=1.0).fit(swiss_roll)
    with pytest.raises(ValueError, match="leaves 2 of 4 points"):
        TwoNNDimension(discard_fraction=0.5).fit(swiss_roll[:4])
    with pytest.raises(ValueError, match="backend"):
        TwoNNDimension(backend="ball_tree").fit(swiss_roll)
    with pytest.raises(NotFittedError):
        TwoNNDimension().transform(swiss_roll)
    fitted = TwoNNDimension().fit(swiss_roll[:100])
    with pytest.raises(ValueError, match="features"):
        fitted.transform(swiss_roll[:, :2])


def test_twonn_from_distances_input_checks():
    with pytest.raises(ValueError, match="shape"):
        twonn_from_distances(np.ones((10, 1)))
    with pytest.raises(ValueError, match="10 first-neighbour distance.*duplicate rows"):
        twonn_from_distances(np.c_[np.zeros(10), np.ones(10)])
    with pytest.raises(ValueError, match="sorted"):
        twonn_from_distances(np.c_[np.full(10, 2.0), np.ones(10)])


def test_pipeline_gridsearch_clone_pickle(swiss_roll):
    X = _square_and_gaussian()[::4]
    y = np.r_[np.zeros(500), np.ones(500)]
    pipe = make_pipeline(TwoNNDimension(), LogisticRegression())
    search = GridSearchCV(pipe, {"twonndimension__n_neighbors": [5, 20]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.9
    twonn = TwoNNDimension(random_state=0).fit(swiss_roll[:800])
    restored = pickle.loads(pickle.dumps(twonn))
    np.testing.assert_array_equal(restored.transform(swiss_roll[:50]), twonn.transform(swiss_roll[:50]))
    assert clone(twonn).get_params() == twonn.get_params()
    assert not hasattr(clone(twonn), "dimension_")


def test_decimation_swiss_roll(swiss_roll):
    result = twonn_decimation(swiss_roll, random_state=0)
    assert result.n_samples[0] == 5000
    np.testing.assert_array_equal(result.n_samples, 5000 // 2 ** np.arange(result.n_samples.size))
    assert result.n_samples[-1] > 10 and result.n_samples[-1] // 2 <= 10
    large = result.n_samples >= 300
    np.testing.assert_allclose(result.dimensions[large], 2, atol=0.15)
    assert np.all(np.diff(result.scales) > 0)
    assert result.errors[0] == pytest.approx(
        TwoNNDimension(random_state=0).fit(swiss_roll).dimension_err_, rel=0.5
    )


def test_decimation_level_is_mean_over_disjoint_subsets(swiss_roll):
    X = swiss_roll[:1000]
    result = twonn_decimation(X, n_min=200, random_state=42, n_jobs=2)
    rng = np.random.RandomState(42)
    TwoNNDimension(random_state=rng).fit(X)  # level 0 draws the bootstrap first
    permutation = rng.permutation(1000)
    halves = [
        TwoNNDimension(n_bootstrap=0).fit(X[permutation[s * 500 : (s + 1) * 500]]).dimension_
        for s in range(2)
    ]
    assert result.dimensions[1] == pytest.approx(np.mean(halves), rel=1e-12)
    assert result.errors[1] == pytest.approx(np.std(halves) / np.sqrt(2), rel=1e-12)


def _bootstrap_numpy(mu, discard_fraction, n_bootstrap, seed):
    """The documented draws (one SplitMix64 stream per resample, seeded by a
    SeedSequence fed from ``seed``), fitted by sorting every resample."""
    entropy = np.random.RandomState(seed).randint(0, 2**32, size=4, dtype=np.uint64)
    seeds = np.random.SeedSequence([int(e) for e in entropy]).generate_state(
        n_bootstrap, dtype=np.uint64
    )
    sorted_mu = np.sort(mu)
    estimates = [
        _linear_numpy(sorted_mu[bounded_indices(s, mu.size, mu.size)], discard_fraction)
        for s in seeds
    ]
    return np.std(estimates, ddof=1)


def test_bootstrap_equals_numpy_resampling_and_ignores_n_jobs(cube5):
    twonn = TwoNNDimension(n_bootstrap=40, random_state=3).fit(cube5[:3000])
    expected = _bootstrap_numpy(twonn.mu_, 0.1, 40, 3)
    assert twonn.dimension_err_ == pytest.approx(expected, rel=1e-10)
    distances = twonn.neighbor_distances_
    one = twonn_from_distances(distances, n_bootstrap=40, random_state=3, n_jobs=1)
    two = twonn_from_distances(distances, n_bootstrap=40, random_state=3, n_jobs=2)
    three = twonn_from_distances(distances, n_bootstrap=40, random_state=3, n_jobs=3)
    assert one == two == three == (twonn.dimension_, twonn.dimension_err_)
    other_seed = twonn_from_distances(distances, n_bootstrap=40, random_state=4)
    assert other_seed[1] != one[1]


def test_n_local_neighbors_is_deprecated(swiss_roll):
    X = swiss_roll[:600]
    old = TwoNNDimension(n_local_neighbors=7)
    assert old.get_params()["n_local_neighbors"] == 7
    assert clone(old).get_params() == old.get_params()
    with pytest.warns(FutureWarning, match="n_local_neighbors was renamed n_neighbors"):
        old.fit(X)
    new = TwoNNDimension(n_neighbors=7).fit(X)
    assert old.n_neighbors_ == new.n_neighbors_ == 7
    np.testing.assert_array_equal(old.transform(X[:20]), new.transform(X[:20]))
    with pytest.warns(FutureWarning, match="n_local_neighbors_ was renamed"):
        assert new.n_local_neighbors_ == 7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TwoNNDimension().fit(X)


def test_score_is_mean_pareto_log_likelihood(swiss_roll):
    train, test = swiss_roll[:3000], swiss_roll[3000:4000]
    twonn = TwoNNDimension(n_bootstrap=0).fit(train)
    dist = cdist(test, test)
    np.fill_diagonal(dist, np.inf)
    r = np.sort(dist, axis=1)[:, :2]
    mu = r[:, 1] / r[:, 0]
    d = twonn.dimension_
    expected = np.mean(np.log(d * mu ** (-d - 1)))  # f(mu) = d mu^(-d-1)
    assert twonn.score(test) == pytest.approx(expected, rel=1e-10)
    # The likelihood peaks near the estimate: a wrong dimension scores lower.
    wrong = clone(twonn).fit(train)
    wrong.dimension_ = 3.0
    assert wrong.score(test) < twonn.score(test)


def test_gridsearch_without_a_supervised_step(swiss_roll):
    search = GridSearchCV(
        TwoNNDimension(n_bootstrap=0), {"discard_fraction": [0.0, 0.1]}, cv=3
    ).fit(swiss_roll[:1500])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@pytest.mark.parametrize(
    "call",
    [
        lambda X: TwoNNDimension(n_jobs=0).fit(X),
        lambda X: twonn_decimation(X, n_jobs=0),
        lambda X: twonn_from_distances(np.c_[np.ones(10), np.full(10, 2.0)], n_jobs=0),
    ],
)
def test_n_jobs_zero_gets_the_one_message(swiss_roll, call):
    with pytest.raises(ValueError, match=r"n_jobs=0 is not valid: use None"):
        call(swiss_roll[:100])


def test_negative_distances_are_called_negative():
    with pytest.raises(ValueError, match="1 negative value"):
        twonn_from_distances(np.c_[np.r_[-1.0, np.ones(9)], np.full(10, 2.0)])


def test_decimation_refuses_tiny_data():
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match=r"more than n_min=10 distinct rows, got n_samples=10"):
        twonn_decimation(X)
    assert twonn_decimation(X, n_min=9).n_samples.tolist() == [10]


def test_verbose_announces_compilation_and_shows_levels(swiss_roll, monkeypatch, capsys):
    from skrepgeom.dimension import _kernels, _twonn

    calls = []
    monkeypatch.setattr(_twonn, "compilation_notice", lambda *args: calls.append(args))
    kernels = (1, _kernels.twonn_linear_fit, _kernels.twonn_bootstrap_fits)
    twonn_decimation(swiss_roll[:400], n_min=100, random_state=0, verbose=1)
    assert "TwoNN decimation levels" in capsys.readouterr().err
    assert calls[0] == kernels
    calls.clear()
    TwoNNDimension(verbose=1).fit(swiss_roll[:400])
    assert calls == [kernels]
    calls.clear()
    TwoNNDimension().fit(swiss_roll[:400])
    assert calls == [(0, *kernels[1:])]
