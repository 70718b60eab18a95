"""DensityPeakClusterer: closed forms, a plain-Python ADP, DADApy anchors, hierarchy, API."""

import pickle
import warnings

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, is_valid_linkage
from scipy.special import gammaln
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_moons
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrepgeom.cluster import DensityPeakClusterer
from skrepgeom.exceptions import DuplicateSamplesWarning, KstarSaturationWarning
from skrepgeom.neighbors import kneighbors


def _fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KstarSaturationWarning)
        return DensityPeakClusterer(**params).fit(X)


def _perf_blobs(n_samples, n_features):
    """The benchmark recipe: 10 blobs in 5 dimensions, embedded linearly in R^D."""
    X, y = make_blobs(n_samples, n_features=5, centers=10, random_state=0)
    A = np.random.default_rng(0).normal(size=(5, n_features))
    return X @ A / np.sqrt(5), y


@pytest.fixture(scope="module")
def blobs5():
    return make_blobs(n_samples=5000, centers=5, random_state=0)


@pytest.fixture(scope="module")
def fit100(blobs5):
    X, _ = blobs5
    with pytest.warns(KstarSaturationWarning, match="64.0%"):
        return DensityPeakClusterer(max_neighbors=100).fit(X)


# ----------------------------------------------------------------------------------
# Plain-Python Advanced Density Peaks (dense per-cluster tables, fine at test sizes).


def _reference_adp(log_den, err, indices, kstar, z, halo):
    n = len(log_den)
    rho = log_den - np.min(log_den - z * err) + 1.0
    g = rho - err
    putative = [i for i in range(n) if all(g[j] <= g[i] for j in indices[i, : kstar[i]])]
    putative_set = set(putative)
    removed_by = {}
    for l in range(n):
        for j in indices[l, : kstar[l]]:
            if j in putative_set and g[l] > g[j]:
                if j not in removed_by or g[l] > g[removed_by[j]]:
                    removed_by[j] = l
    peaks = sorted(p for p in putative if p not in removed_by)
    label = [-1] * n
    for c, p in enumerate(peaks):
        label[p] = c
    for i in sorted(range(n), key=lambda i: (-g[i], i)):
        if label[i] == -1:
            found = [label[j] for j in indices[i] if label[j] != -1]
            label[i] = found[0] if found else label[removed_by[i]]
    P = len(peaks)
    S = [[-1] * P for _ in range(P)]
    for p1 in range(n):
        c = label[p1]
        outside = [j for j in indices[p1, : kstar[p1]] if label[j] != c]
        if not outside:
            continue
        p2 = outside[0]
        same = [q for q in indices[p2] if label[q] == c]
        if not same or same[0] != p1:
            continue
        a, b = sorted((c, label[p2]))
        old = S[a][b]
        if old == -1 or rho[p1] > rho[old] or (rho[p1] == rho[old] and p1 < old):
            S[a][b] = S[b][a] = p1
    alive = [True] * P
    parent = list(range(P))

    def significant(a, b, s):
        pa, pb = peaks[a], peaks[b]
        return rho[pa] - rho[s] >= z * (err[pa] + err[s]) and rho[pb] - rho[s] >= z * (
            err[pb] + err[s]
        )

    while True:
        best = None
        for a in range(P):
            for b in range(a + 1, P):
                s = S[a][b]
                if alive[a] and alive[b] and s != -1 and not significant(a, b, s):
                    if best is None or rho[s] > rho[S[best[0]][best[1]]]:
                        best = (a, b)
        if best is None:
            break
        a, b = best
        s = S[a][b]
        margin_a = (rho[peaks[a]] - rho[s]) / (err[peaks[a]] + err[s])
        margin_b = (rho[peaks[b]] - rho[s]) / (err[peaks[b]] + err[s])
        keep, gone = (b, a) if margin_a < margin_b else (a, b)
        alive[gone] = False
        parent[gone] = keep
        for t in range(P):
            if t in (a, b):
                continue
            if S[gone][t] != -1 and (S[keep][t] == -1 or rho[S[keep][t]] < rho[S[gone][t]]):
                S[keep][t] = S[t][keep] = S[gone][t]
            S[gone][t] = S[t][gone] = -1
        S[a][b] = S[b][a] = -1

    def root(c):
        while parent[c] != c:
            c = parent[c]
        return c

    survivors = [c for c in range(P) if alive[c]]
    rank = {c: r for r, c in enumerate(survivors)}
    final = np.array([rank[root(label[i])] for i in range(n)])
    saddles = np.array([[S[a][b] for b in survivors] for a in survivors]).reshape(
        len(survivors), len(survivors)
    )
    if halo:
        for r, c in enumerate(survivors):
            border = [rho[s] for s in saddles[r] if s != -1]
            if border:
                final[(final == r) & (rho < max(border))] = -1
    return final, np.array([peaks[c] for c in survivors]), saddles


def _adp_datasets():
    X1, _ = make_blobs(1500, centers=6, cluster_std=1.2, random_state=3)
    X2, _ = make_moons(1000, noise=0.08, random_state=0)
    rng = np.random.default_rng(5)
    X3 = np.r_[rng.normal(size=(700, 3)), rng.normal(size=(500, 3)) * 0.6 + [2.5, 0, 0]]
    return [
        (X1, dict(max_neighbors=60, z=1.0)),
        (X2, dict(z=1.0, halo=True)),
        (X3, dict(z=0.5, halo=True)),
    ]


@pytest.mark.parametrize("case", range(3))
def test_adp_matches_plain_python(case):
    X, params = _adp_datasets()[case]
    dp = _fit(X, **params)
    _, indices = kneighbors(X, dp.max_neighbors_ - 1)
    labels, peaks, saddles = _reference_adp(
        dp.density_, dp.density_err_, indices, dp.kstar_, params["z"], params.get("halo", False)
    )
    np.testing.assert_array_equal(dp.labels_, labels)
    np.testing.assert_array_equal(dp.cluster_centers_indices_, peaks)
    np.testing.assert_array_equal(dp.saddle_indices_, saddles)
    has = saddles >= 0
    np.testing.assert_array_equal(dp.saddle_density_[has], dp.density_[saddles[has]])
    assert dp.n_clusters_ >= 2


# ----------------------------------------------------------------------------------
# Closed forms.


@pytest.mark.parametrize("scale", [1e3, 1e-3])
@pytest.mark.parametrize("dimension", [None, 60.0])
def test_scaling_shifts_log_density(scale, dimension):
    X, _ = make_blobs(800, n_features=4, centers=3, random_state=1)
    base = _fit(X, intrinsic_dimension=dimension)
    scaled = _fit(X * scale, intrinsic_dimension=dimension)
    d = base.intrinsic_dimension_
    assert scaled.intrinsic_dimension_ == pytest.approx(d, rel=1e-12)
    shifted = base.density_ - d * np.log(scale)
    np.testing.assert_allclose(scaled.density_, shifted, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(scaled.kstar_, base.kstar_)
    np.testing.assert_array_equal(scaled.labels_, base.labels_)


def test_uniform_cube_density_is_zero():
    # DADApy 0.3.4 PAk (maxk=100): median -0.019. max_neighbors=100 as there: on
    # smooth data "auto" grows the neighbour lists towards N.
    X = np.random.default_rng(0).uniform(size=(20_000, 3))
    dp = _fit(X, intrinsic_dimension=3, max_neighbors=100)
    inside = np.all((X > 0.2) & (X < 0.8), axis=1)
    assert abs(np.median(dp.density_[inside])) <= 0.05


def test_gaussian_density_within_error_bars():
    # DADApy 0.3.4 PAk (maxk=100): 0.950 within 2 error bars, median |error| 0.141.
    X = np.random.default_rng(0).normal(size=(20_000, 2))
    dp = _fit(X, max_neighbors=100)
    inner = np.linalg.norm(X, axis=1) < 2
    log_phi = -0.5 * np.sum(X**2, axis=1) - np.log(2 * np.pi)
    error = np.abs(dp.density_ - log_phi)[inner]
    within = np.mean(error < 2 * dp.density_err_[inner])
    assert 0.90 <= within <= 0.99
    assert np.median(error) <= 0.2


def test_knn_density_formula():
    X, _ = make_blobs(600, n_features=3, centers=2, random_state=0)
    dp = _fit(X, density="knn", n_neighbors=12, intrinsic_dimension=2.5)
    distances, _ = kneighbors(X, 12)
    d = 2.5
    log_omega = d / 2 * np.log(np.pi) - gammaln(d / 2 + 1)
    expected = np.log(12) - log_omega - d * np.log(distances[:, 11]) - np.log(600)
    np.testing.assert_allclose(dp.density_, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(dp.density_err_, 1 / np.sqrt(12))
    np.testing.assert_array_equal(dp.kstar_, 12)


# ----------------------------------------------------------------------------------
# DADApy 0.3.4 anchors on make_blobs(n_samples=5000, centers=5, random_state=0):
# Data(X, maxk=...).compute_id_2NN() (1.9808), compute_density_PAk(),
# compute_clustering_ADP(Z=1.65, halo=...).


def test_anchor_max_neighbors_100(blobs5, fit100):
    _, y = blobs5
    dp = fit100
    assert dp.intrinsic_dimension_ == pytest.approx(1.9808, abs=1e-4)
    assert dp.n_clusters_ == 4
    assert adjusted_rand_score(y, dp.labels_) == pytest.approx(0.7040, abs=0.005)
    assert set(dp.cluster_centers_indices_) == {1249, 3899, 4472, 4521}
    center = {int(p): c for c, p in enumerate(dp.cluster_centers_indices_)}
    expected = {(1249, 3899): -9.272, (3899, 4472): -4.124, (4472, 4521): -4.735}
    for a in center:
        for b in center:
            if a >= b:
                continue
            value = dp.saddle_density_[center[a], center[b]]
            if (a, b) in expected:
                assert value == pytest.approx(expected[(a, b)], abs=0.1)
            else:
                assert value == -np.inf
    assert dp.kstar_saturated_fraction_ > 0.5


def test_anchor_halo(blobs5):
    X, _ = blobs5
    dp = _fit(X, max_neighbors=100, halo=True)
    assert np.mean(dp.labels_ == -1) == pytest.approx(0.3126, abs=0.01)


def test_anchor_max_neighbors_300(blobs5):
    X, y = blobs5
    dp = _fit(X, max_neighbors=300)
    assert dp.n_clusters_ == 5
    assert adjusted_rand_score(y, dp.labels_) == pytest.approx(0.8537, abs=0.01)


def test_anchor_auto_grows_without_warning(blobs5):
    X, y = blobs5
    with warnings.catch_warnings():
        warnings.simplefilter("error", KstarSaturationWarning)
        dp = DensityPeakClusterer().fit(X)
    assert dp.n_clusters_ == 5
    assert adjusted_rand_score(y, dp.labels_) >= 0.85
    assert dp.kstar_saturated_fraction_ <= 0.01
    assert dp.max_neighbors_ > 100


def test_perf_data_10k():
    X, y = _perf_blobs(10_000, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KstarSaturationWarning)
        dp = DensityPeakClusterer().fit(X)
    assert dp.max_neighbors_ == 128  # "auto" does not grow here
    assert dp.n_clusters_ == 10
    assert adjusted_rand_score(y, dp.labels_) >= 0.999


# ----------------------------------------------------------------------------------
# Hierarchy.


def _union_find_partition(saddle, heights_top, t):
    n = saddle.shape[0]
    parent = list(range(n))

    def find(c):
        while parent[c] != c:
            c = parent[c]
        return c

    for a in range(n):
        for b in range(a + 1, n):
            if np.isfinite(saddle[a, b]) and heights_top - saddle[a, b] <= t:
                parent[find(a)] = find(b)
    return np.array([find(c) for c in range(n)])


def _same_partition(a, b):
    return adjusted_rand_score(a, b) == 1.0 or (len(set(a)) == 1 and len(set(b)) == 1)


def test_linkage_is_single_linkage_of_saddles():
    X, _ = make_blobs(1500, centers=6, cluster_std=1.2, random_state=3)
    dp = _fit(X, max_neighbors=60, z=3.0)
    L = dp.linkage_
    assert dp.n_clusters_ >= 3
    assert L.shape == (dp.n_clusters_ - 1, 4)
    assert is_valid_linkage(L)
    assert np.all(np.diff(L[:, 2]) >= 0) and np.all(L[:, 2] >= 0)
    top = dp.density_.max()
    finite = dp.saddle_density_[np.isfinite(dp.saddle_density_)]
    cuts = np.unique(np.r_[top - finite, L[:, 2]])
    for t in np.r_[cuts, cuts + 1e-9, 0.0]:
        flat = fcluster(L, t, criterion="distance")
        assert _same_partition(flat, _union_find_partition(dp.saddle_density_, top, t))


def test_unconnected_components_join_above_every_saddle():
    X, _ = make_blobs(1200, centers=[[0, 0], [4, 0], [100, 0], [104, 0]], random_state=0)
    dp = _fit(X, z=0.5)
    assert dp.n_clusters_ == 4
    assert is_valid_linkage(dp.linkage_)
    finite_heights = dp.density_.max() - dp.saddle_density_[np.isfinite(dp.saddle_density_)]
    assert dp.linkage_[-1, 2] == pytest.approx(1 + finite_heights.max())
    assert dp.linkage_[-1, 3] == 4


def test_saddle_attributes_are_consistent(fit100):
    dp = fit100
    S = dp.saddle_density_
    assert np.all(np.isnan(np.diag(S)))
    off = ~np.eye(dp.n_clusters_, dtype=bool)
    np.testing.assert_array_equal(S[off], S.T[off])
    has = dp.saddle_indices_ >= 0
    assert np.array_equal(np.isfinite(S) & off, has)
    assert np.all(np.isnan(dp.saddle_density_err_[~has]))
    at_saddles = dp.density_err_[dp.saddle_indices_[has]]
    np.testing.assert_array_equal(dp.saddle_density_err_[has], at_saddles)
    np.testing.assert_array_equal(dp.peak_density_, dp.density_[dp.cluster_centers_indices_])
    assert np.all(dp.peak_density_[:, None] > np.where(has, S, -np.inf))


# ----------------------------------------------------------------------------------
# predict, duplicates, threads, labels.


def test_predict(blobs5, fit100):
    X, _ = blobs5
    np.testing.assert_array_equal(fit100.predict(X), fit100.labels_)
    jitter = np.random.default_rng(0).normal(scale=1e-6, size=X.shape)
    np.testing.assert_array_equal(fit100.predict(X + jitter), fit100.labels_)
    with pytest.raises(ValueError, match="features"):
        fit100.predict(X[:, :1])
    with pytest.raises(NotFittedError):
        DensityPeakClusterer().predict(X)


def test_predict_halo_gives_minus_one(blobs5):
    X, _ = blobs5
    dp = _fit(X[:2000], max_neighbors=100, halo=True)
    assert np.any(dp.labels_ == -1)
    np.testing.assert_array_equal(dp.predict(X[:2000]), dp.labels_)


def test_duplicates():
    X, _ = make_blobs(600, centers=3, random_state=0)
    X_dup = np.r_[X, X[:50]]
    with pytest.warns(DuplicateSamplesWarning, match="50"):
        dp = _fit(X_dup)
    reference = _fit(X)
    assert dp.n_duplicates_ == 50
    for name in ("labels_", "density_", "density_err_", "kstar_"):
        got = getattr(dp, name)
        np.testing.assert_array_equal(got[:600], getattr(reference, name))
        np.testing.assert_array_equal(got[600:], got[:50])
    np.testing.assert_array_equal(dp.cluster_centers_indices_, reference.cluster_centers_indices_)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DuplicateSamplesWarning)
        _fit(X_dup, duplicates="remove")
    with pytest.raises(ValueError, match="50 duplicate"):
        _fit(X_dup, duplicates="raise")


def test_threads_do_not_change_results():
    X, _ = _perf_blobs(3000, 10)
    one = _fit(X, n_jobs=1)
    two = _fit(X, n_jobs=2)
    for name in ("labels_", "density_", "kstar_", "saddle_indices_", "linkage_"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


def test_labels_format_with_noise():
    # The label-format part of scikit-learn's check_clustering, on data large enough
    # for the k* test to resolve the blobs.
    X, y = make_blobs(1500, centers=3, random_state=1)
    X = StandardScaler().fit_transform(X)
    rng = np.random.default_rng(7)
    X_noise = np.r_[X, rng.uniform(-3, 3, size=(60, 2))]
    dp = _fit(X)
    assert adjusted_rand_score(y, dp.labels_) > 0.9
    assert dp.labels_.dtype in (np.int32, np.int64)
    np.testing.assert_array_equal(dp.fit_predict(X), dp.labels_)
    for halo in (False, True):
        labels = _fit(X_noise, halo=halo).labels_
        present = np.unique(labels)
        np.testing.assert_array_equal(present, np.arange(present[0], present[-1] + 1))
        assert present[0] in (0, -1)


def test_saturation_warning_for_int_max_neighbors(blobs5):
    X, _ = blobs5
    with pytest.warns(KstarSaturationWarning, match="max_neighbors"):
        DensityPeakClusterer(max_neighbors=20).fit(X[:1000])


def test_float32_input():
    X, _ = make_blobs(800, centers=3, cluster_std=0.6, random_state=0)
    dp32 = _fit(X.astype(np.float32))
    assert dp32.density_.dtype == np.float64
    assert dp32.cluster_centers_.dtype == np.float32
    assert dp32.n_clusters_ == 3
    np.testing.assert_array_equal(dp32.predict(X.astype(np.float32)), dp32.labels_)


# ----------------------------------------------------------------------------------
# Bad input and ecosystem.


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(z=0), "z"),
        (dict(z=-1.0), "z"),
        (dict(alpha=0), "alpha"),
        (dict(alpha=1), "alpha"),
        (dict(intrinsic_dimension=0), "intrinsic_dimension"),
        (dict(max_neighbors=3), "max_neighbors"),
        (dict(n_neighbors=0), "n_neighbors"),
        (dict(density="knn", n_neighbors=200), "n_neighbors=200"),
        (dict(density="kde"), "density"),
    ],
)
def test_bad_parameters(params, match):
    X, _ = make_blobs(200, random_state=0)
    with pytest.raises(ValueError, match=match):
        DensityPeakClusterer(**params).fit(X)


def test_bad_data():
    X, _ = make_blobs(200, random_state=0)
    with pytest.raises(ValueError, match="NaN"):
        DensityPeakClusterer().fit(np.where(X > 5, np.nan, X))
    with pytest.raises(ValueError, match="infinity"):
        DensityPeakClusterer().fit(np.where(X > 5, np.inf, X))
    with pytest.raises(ValueError, match="2D"):
        DensityPeakClusterer().fit(X[:, 0])
    with pytest.raises(ValueError, match="dim"):
        DensityPeakClusterer().fit(X[:, :, None])
    with pytest.raises(TypeError, match="[Ss]parse"):
        from scipy.sparse import csr_matrix

        DensityPeakClusterer().fit(csr_matrix(X))
    with pytest.raises(ValueError, match="n_samples=4"):
        DensityPeakClusterer().fit(X[:4])
    with pytest.raises(ValueError, match="distinct"):
        DensityPeakClusterer(duplicates="remove").fit(np.repeat(X[:4], 3, axis=0))


def test_clone_pickle_pipeline_gridsearch():
    X, y = make_blobs(900, centers=3, cluster_std=0.6, random_state=2)
    dp = _fit(X)
    restored = pickle.loads(pickle.dumps(dp))
    np.testing.assert_array_equal(restored.predict(X[:50]), dp.labels_[:50])
    assert clone(dp).get_params() == dp.get_params()
    pipe = make_pipeline(StandardScaler(), DensityPeakClusterer()).fit(X)
    assert pipe[-1].n_clusters_ == 3
    np.testing.assert_array_equal(pipe.predict(X), pipe[-1].labels_)

    def ari(estimator, X_, y_):
        return adjusted_rand_score(y_, estimator.predict(X_))

    search = GridSearchCV(DensityPeakClusterer(), {"z": [0.5, 1.65, 3.0]}, scoring=ari, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KstarSaturationWarning)
        search.fit(X, y)
    assert search.best_params_["z"] in (0.5, 1.65, 3.0)
    assert search.best_score_ > 0.9


def test_verbose_prints_stages(capsys):
    X, _ = make_blobs(300, random_state=0)
    _fit(X, verbose=1)
    out = capsys.readouterr().out
    for stage in ("kNN", "intrinsic dimension", "k*", "density", "ADP"):
        assert stage in out


def test_sklearn_check_clustering_with_knn_density():
    # check_clustering's 50-point blobs are expected to fail with the adaptive k*
    # (see estimator_checks); with the fixed-k density of the paper's code the whole
    # check, ARI bar included, runs unchanged.
    from sklearn.utils.estimator_checks import check_clustering

    estimator = DensityPeakClusterer(density="knn", n_neighbors=5)
    check_clustering("DensityPeakClusterer", estimator)
    check_clustering("DensityPeakClusterer", estimator, readonly_memmap=True)
