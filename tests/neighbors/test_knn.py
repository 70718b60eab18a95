"""kneighbors against scikit-learn's brute force, on data with planted duplicates."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import sparse
from sklearn.neighbors import NearestNeighbors

from skrepgeom.neighbors import kneighbors

EXACT_BACKENDS = ["brute", "kd_tree", "pca_tree", "sklearn"]


def _data_with_duplicates(n_samples=600, n_features=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    X[[10, 250, 599]] = X[3]
    X[77] = X[42]
    return X


def _reference(X, k, query=None):
    """Exact brute force by direct differences; ties broken by the smaller index."""
    X = np.asarray(X, dtype=np.float64)
    Q = X if query is None else np.asarray(query, dtype=np.float64)
    full = np.sqrt(((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    if query is None:
        np.fill_diagonal(full, np.inf)
    order = np.argsort(full, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(full, order, axis=1), order


def test_reference_agrees_with_sklearn_brute():
    ref_distances, _ = _reference(X_ROWS, 5)
    sk_distances, _ = NearestNeighbors(n_neighbors=5, algorithm="brute").fit(X_ROWS).kneighbors()
    np.testing.assert_allclose(ref_distances, sk_distances, atol=1e-7)


def _assert_same_neighbors(distances, indices, ref_distances, ref_indices, rtol):
    np.testing.assert_allclose(distances, ref_distances, rtol=rtol, atol=1e-12)
    # Index sets may differ only where several neighbours are at the same distance.
    for row in np.flatnonzero(np.any(np.sort(indices, 1) != np.sort(ref_indices, 1), axis=1)):
        boundary = ref_distances[row, -1]
        differing = set(indices[row]) ^ set(ref_indices[row])
        assert all(np.isclose(np.linalg.norm(X_ROWS[row] - X_ROWS[j]), boundary) for j in differing)


X_ROWS = _data_with_duplicates()


@pytest.mark.parametrize("backend", EXACT_BACKENDS)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-6)])
@pytest.mark.parametrize("k", [1, 2, 9])
def test_self_query_matches_sklearn_brute(backend, dtype, rtol, k):
    X = X_ROWS.astype(dtype)
    distances, indices = kneighbors(X, k, backend=backend)
    ref_distances, ref_indices = _reference(X.astype(np.float64), k)
    assert distances.dtype == np.float64 and distances.shape == (X.shape[0], k)
    _assert_same_neighbors(distances, indices, ref_distances, ref_indices, rtol)
    assert not np.any(indices == np.arange(X.shape[0])[:, None]), "a row was its own neighbour"
    assert np.all(np.diff(distances, axis=1) >= 0)


@pytest.mark.parametrize("backend", EXACT_BACKENDS)
def test_duplicates_found_at_distance_zero_and_ties_by_index(backend):
    distances, indices = kneighbors(X_ROWS, 3, backend=backend)
    # Row 3 has copies 10, 250, 599: first neighbours are its copies, smallest index first.
    np.testing.assert_array_equal(indices[3], [10, 250, 599])
    np.testing.assert_array_equal(distances[3], 0.0)
    np.testing.assert_array_equal(indices[250], [3, 10, 599])
    assert distances[77, 0] == 0.0 and indices[77, 0] == 42
    # Distance 0 if and only if the rows are identical.
    zero = distances == 0
    identical = np.all(X_ROWS[indices] == X_ROWS[:, None, :], axis=2)
    np.testing.assert_array_equal(zero, identical)


def test_brute_same_result_with_tiny_working_memory():
    X = X_ROWS.astype(np.float32)
    d_default, i_default = kneighbors(X, 5, backend="brute")
    d_small, i_small = kneighbors(X, 5, backend="brute", working_memory=1 / 64)
    np.testing.assert_array_equal(i_default, i_small)
    np.testing.assert_array_equal(d_default, d_small)


def test_brute_parallel_equals_serial():
    d1, i1 = kneighbors(X_ROWS, 4, backend="brute", working_memory=0.05)
    d2, i2 = kneighbors(X_ROWS, 4, backend="brute", working_memory=0.05, n_jobs=2)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(d1, d2)


def test_float32_near_neighbours_not_swapped_by_norm_expansion():
    # Far from the origin, ||q||^2 + ||x||^2 - 2 q.x in float32 cannot resolve
    # these gaps; the exact re-ranking must still order them.
    rng = np.random.default_rng(1)
    X = (1000.0 + rng.normal(scale=1e-2, size=(300, 5))).astype(np.float32)
    distances, indices = kneighbors(X, 3, backend="brute")
    ref_distances, ref_indices = _reference(X.astype(np.float64), 3)
    np.testing.assert_allclose(distances, ref_distances, rtol=1e-10)
    np.testing.assert_array_equal(indices, ref_indices)


@pytest.mark.parametrize("backend", EXACT_BACKENDS)
def test_query_mode(backend):
    rng = np.random.default_rng(2)
    query = np.vstack([rng.normal(size=(50, 7)), X_ROWS[:5]])
    distances, indices = kneighbors(X_ROWS, 4, query=query, backend=backend)
    ref_distances, ref_indices = _reference(X_ROWS, 4, query)
    np.testing.assert_allclose(distances, ref_distances, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(distances[50:, 0], 0.0)
    # X_ROWS[3] has copies 10, 250 and 599: all at distance 0, by increasing index.
    np.testing.assert_array_equal(indices[53], [3, 10, 250, 599])


def test_query_may_ask_for_all_rows():
    distances, _ = kneighbors(X_ROWS[:20], 20, query=X_ROWS[:2], backend="brute")
    assert distances.shape == (2, 20)


def test_auto_picks_exact_backend():
    X = np.random.default_rng(3).normal(size=(3000, 4))
    d_auto, i_auto = kneighbors(X, 2)
    d_brute, i_brute = kneighbors(X, 2, backend="brute")
    np.testing.assert_array_equal(i_auto, i_brute)
    np.testing.assert_allclose(d_auto, d_brute, rtol=1e-12)


@pytest.mark.slow
def test_approximate_recall():
    pytest.importorskip("pynndescent")
    from sklearn.datasets import make_blobs

    # Small: the time goes into compiling pynndescent, not into the search.
    X, _ = make_blobs(600, n_features=10, centers=5, random_state=0)
    _, approx = kneighbors(X, 10, backend="approximate", random_state=0)
    _, exact = kneighbors(X, 10, backend="brute")
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert recall >= 0.95
    assert not np.any(approx == np.arange(X.shape[0])[:, None])


def test_approximate_missing_dependency_has_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynndescent", None)
    with pytest.raises(ImportError, match=r"skrepgeom\[approx\]"):
        kneighbors(X_ROWS, 2, backend="approximate")


@pytest.mark.parametrize(
    "X, message, error",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), "NaN", ValueError),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), "infinity", ValueError),
        (np.arange(5.0), "2D array", ValueError),
        (np.ones((4, 2)) * 1j, "Complex", ValueError),
        (np.array([["a", "b"], ["c", "d"], ["e", "f"]]), "could not convert|dtype", ValueError),
        (sparse.random(10, 3, density=0.5, format="csr"), "[Ss]parse", TypeError),
    ],
)
def test_bad_input(X, message, error):
    with pytest.raises(error, match=message):
        kneighbors(X, 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_neighbors=5 .* n_samples=5"):
        kneighbors(X_ROWS[:5], 5)
    with pytest.raises(ValueError, match="backend"):
        kneighbors(X_ROWS, 2, backend="ball")
    with pytest.raises(ValueError, match="features"):
        kneighbors(X_ROWS, 2, query=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="working_memory"):
        kneighbors(X_ROWS, 2, working_memory=0)
    with pytest.raises(TypeError, match="n_neighbors must be an int"):
        kneighbors(X_ROWS, 2.5)


def test_verbose_progress_bar(capsys):
    kneighbors(X_ROWS, 2, backend="brute", verbose=1, working_memory=0.05)
    assert "kneighbors" in capsys.readouterr().err


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys, numpy as np
    from skrepgeom.neighbors import kneighbors
    backend = sys.argv[1]
    rng = np.random.default_rng(0)
    kneighbors(rng.normal(size=(200, 50)).astype(np.float32), 2, backend=backend)
    if backend == "brute":
        X = rng.normal(size=(20_000, 50)).astype(np.float32)
    else:  # rank 5 in 50 dimensions, the regime of the trees
        X = (rng.normal(size=(20_000, 5)) @ rng.normal(size=(5, 50))).astype(np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    distances, indices = kneighbors(X, 2, backend=backend, working_memory=16)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) / 1024, (distances.nbytes + indices.nbytes) / 2**20)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["brute", "pca_tree", "kd_tree", "auto"])
def test_peak_memory_is_bounded(backend):
    """Peak RSS of a fresh process grows < 64 MB + outputs (never an N x N matrix: 1.6 GB).

    The trees' index holds (m + 1) float64 per row, 1 MB here, or one per feature for
    the k-d tree in every principal axis, 8 MB.
    """
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, backend], capture_output=True, text=True, check=True
    ).stdout
    growth_mb, outputs_mb = map(float, out.split())
    assert growth_mb < 64 + outputs_mb, (growth_mb, outputs_mb)


@pytest.mark.parametrize("backend", ["brute", "pca_tree"])
def test_enclosing_process_backend_gives_same_result(backend):
    # n_jobs=None honours joblib.parallel_config: two workers, which must still be
    # threads sharing the output arrays even when processes are configured.
    import joblib

    X = X_ROWS.astype(np.float32)
    expected = kneighbors(X, 3, backend=backend, working_memory=0.05)
    with joblib.parallel_config(backend="loky", n_jobs=2):
        found = kneighbors(X, 3, backend=backend, working_memory=0.05)
    np.testing.assert_array_equal(found[1], expected[1])
    np.testing.assert_array_equal(found[0], expected[0])
