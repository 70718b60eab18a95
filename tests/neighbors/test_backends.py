"""Every exact backend against a NumPy brute force, and the choice of backend="auto"."""

import numpy as np
import pytest

from skrepgeom.neighbors import _knn as knn_module
from skrepgeom.neighbors import _pca_tree as pca_tree_module
from skrepgeom.neighbors import explain_backend, kneighbors
from skrepgeom.neighbors._pca_tree import PCATree, principal_basis, project

EXACT_BACKENDS = ["brute", "kd_tree", "pca_tree", "sklearn", "auto"]


def _reference(X, k, query=None):
    """Squared distances by direct differences in float64; ties by the smaller index."""
    X = np.asarray(X, dtype=np.float64)
    Q = X if query is None else np.asarray(query, dtype=np.float64)
    squared = ((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    if query is None:
        np.fill_diagonal(squared, np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(X.shape[0]), squared.shape), squared), axis=1)[:, :k]
    return np.sqrt(np.take_along_axis(squared, order, axis=1)), order


def _low_rank(n, rank, n_features, rng):
    return rng.normal(size=(n, rank)) @ rng.normal(size=(rank, n_features))


def _datasets():
    rng = np.random.default_rng(0)
    low_rank = _low_rank(700, 3, 40, rng)
    noisy = low_rank + 0.01 * rng.normal(size=low_rank.shape)
    full_rank = rng.normal(size=(700, 12))
    duplicated = _low_rank(700, 2, 20, rng)
    duplicated[300:340] = duplicated[5]  # 41 copies of one row: more than k + margin
    duplicated[600:] = duplicated[100:200]
    # Small integers: many exactly equal distances, summed without rounding.
    tied = rng.integers(0, 4, size=(700, 3)) @ np.array([[1.0, 0, 0, 2], [0, 1, 0, 0], [0, 0, 1, 1]])
    return {"low_rank": low_rank, "noisy": noisy, "full_rank": full_rank,
            "duplicated": duplicated, "tied": tied}


DATASETS = _datasets()


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("backend", EXACT_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_query", [False, True])
def test_exact_backends_equal_numpy_brute_force(name, backend, dtype, with_query):
    X = DATASETS[name].astype(dtype)
    query = None
    if with_query:
        query = X[::7].copy()
        query[1::2] += np.asarray(0.01, dtype)  # the others are rows of X: distance 0
    k = 5
    ref_distances, ref_indices = _reference(X, k, query)
    distances, indices = kneighbors(X, k, query=query, backend=backend)
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_allclose(distances, ref_distances, rtol=1e-12, atol=0)


def test_pca_tree_falls_back_on_many_duplicates():
    # Every row has 40 identical copies: certificates fail until the candidate
    # lists exceed the copies, then rows go to brute force; results stay exact.
    rng = np.random.default_rng(1)
    X = np.repeat(rng.normal(size=(25, 6)), 40, axis=0)
    ref_distances, ref_indices = _reference(X, 3)
    distances, indices = kneighbors(X, 3, backend="pca_tree")
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_array_equal(distances, 0.0)


def test_tree_coordinates_bound_distances_from_below():
    rng = np.random.default_rng(2)
    X = _low_rank(300, 4, 30, rng) + 0.05 * rng.normal(size=(300, 30))
    basis = principal_basis(X)
    for n_components in (1, 4, 10, 30):
        Z = project(X, basis[0], basis[2], n_components, 64)
        lower = np.sqrt(((Z[:, None] - Z[None]) ** 2).sum(-1))
        true = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
        assert np.all(lower <= true + 1e-9)
        if n_components == 30:
            np.testing.assert_allclose(lower, true, atol=1e-9)


def test_principal_basis_matches_numpy_pca(monkeypatch):
    rng = np.random.default_rng(3)
    X = _low_rank(500, 3, 60, rng) * np.linspace(1, 5, 60) + 0.01 * rng.normal(size=(500, 60))
    reference = np.linalg.svd(X - X.mean(0), compute_uv=False) ** 2 / 499
    center, variances, axes = principal_basis(X)
    np.testing.assert_allclose(center, X.mean(axis=0))
    np.testing.assert_allclose(variances, reference, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(axes.T @ axes, np.eye(60), atol=1e-12)
    # In few features asking for leading axes still gives the whole spectrum (cheaper).
    np.testing.assert_allclose(principal_basis(X, 5)[1], variances)
    # Leading axes only: the last entry lumps the variance of all the others.
    monkeypatch.setattr(pca_tree_module, "_RANDOMIZED_SVD_MIN_FEATURES", 0)
    _, leading, leading_axes = principal_basis(X, 5)
    assert leading.shape == (6,) and leading_axes.shape == (60, 5)
    np.testing.assert_allclose(leading[:3], reference[:3], rtol=1e-6)
    np.testing.assert_allclose(leading[-1], reference[5:].sum() + (reference[3:5] - leading[3:5]).sum(), rtol=1e-6)
    np.testing.assert_allclose(np.abs(leading_axes[:, :3].T @ axes[:, :3]), np.eye(3), atol=1e-6)


def test_pca_tree_memory_blocks_do_not_change_the_result():
    rng = np.random.default_rng(4)
    X = _low_rank(900, 3, 25, rng).astype(np.float32)
    reference = kneighbors(X, 4, backend="brute")
    tiny = kneighbors(X, 4, backend="pca_tree", working_memory=1 / 64)
    np.testing.assert_array_equal(tiny[1], reference[1])
    np.testing.assert_array_equal(tiny[0], reference[0])


def test_pca_tree_parallel_equals_serial():
    X = DATASETS["noisy"]
    tree = PCATree(X, 3, working_memory_bytes=2**12)  # many query chunks
    own = np.arange(X.shape[0])
    serial = tree.kneighbors(X, 4, own)
    parallel = tree.kneighbors(X, 4, own, n_jobs=2)
    np.testing.assert_array_equal(serial[1], parallel[1])
    np.testing.assert_array_equal(serial[0], parallel[0])


@pytest.fixture(scope="module")
def rank3_in_200d():
    rng = np.random.default_rng(5)
    # Large enough that brute force takes well over 0.1 s (about 0.5 s on one core).
    return _low_rank(12_000, 3, 200, rng).astype(np.float32)


def test_auto_picks_tree_on_low_rank_data(rank3_in_200d, capsys):
    choice = explain_backend(rank3_in_200d, 2)
    assert choice.backend == "pca_tree", choice
    assert choice.n_components == 3
    assert choice.predicted_seconds["pca_tree"] < choice.predicted_seconds["brute"]
    assert "3 principal coordinates" in choice.reason
    distances, indices = kneighbors(rank3_in_200d, 2, verbose=1)
    assert "backend='pca_tree'" in capsys.readouterr().out
    # The same neighbours as the tree run directly (exact: see the tests above).
    np.testing.assert_array_equal(indices, kneighbors(rank3_in_200d, 2, backend="pca_tree")[1])


def test_auto_picks_brute_on_full_rank_gaussian(monkeypatch):
    X = np.random.default_rng(6).normal(size=(6000, 64))
    assert explain_backend(X, 2).backend == "brute"
    # On a fast machine brute force is predicted under the shortcut threshold and the
    # spectrum is never looked at; without the shortcut the decision must come from
    # the spectrum, which does not depend on timing.
    monkeypatch.setattr(knn_module, "_AUTO_MIN_BRUTE_SECONDS", 0.0)
    choice = explain_backend(X, 2)
    assert choice.backend == "brute"
    assert choice.n_components > 32 and "too many for a tree" in choice.reason
    assert "the data fill most axes" in choice.reason
    assert set(choice.predicted_seconds) == {"brute"}


@pytest.fixture
def cube8_in_64d():
    rng = np.random.default_rng(9)
    rotation = np.linalg.qr(rng.normal(size=(64, 8)))[0].T
    return (rng.uniform(size=(8000, 8)) @ rotation).astype(np.float32)


def test_auto_probes_kd_tree_when_the_bounds_need_many_concentrated_axes(
    cube8_in_64d, monkeypatch
):
    # Timing-free: with the thresholds lowered, the 8 axes this data needs count as
    # "many" (past the truncated tree) while still at most half of the 64.
    monkeypatch.setattr(knn_module, "_AUTO_MIN_BRUTE_SECONDS", 0.0)
    monkeypatch.setattr(knn_module, "_MAX_TREE_COMPONENTS", 4)
    monkeypatch.setattr(knn_module, "_KD_TREE_MIN_COMPONENTS", 4)
    choice = explain_backend(cube8_in_64d, 2)
    assert set(choice.predicted_seconds) == {"brute", "kd_tree"}
    assert choice.n_components == 64 and "every principal axis" in choice.reason
    assert choice.backend in ("brute", "kd_tree")
    # Whichever runs, the neighbours are those of brute force (tested exact above).
    np.testing.assert_array_equal(
        kneighbors(cube8_in_64d, 2)[1], kneighbors(cube8_in_64d, 2, backend="brute")[1]
    )


def test_auto_probes_both_trees_between_the_two_thresholds(cube8_in_64d, monkeypatch):
    monkeypatch.setattr(knn_module, "_AUTO_MIN_BRUTE_SECONDS", 0.0)
    monkeypatch.setattr(knn_module, "_KD_TREE_MIN_COMPONENTS", 4)
    choice = explain_backend(cube8_in_64d, 2)
    assert set(choice.predicted_seconds) == {"brute", "pca_tree", "kd_tree"}
    assert "8 principal coordinates" in choice.reason and "every principal axis" in choice.reason
    fastest = min(choice.predicted_seconds, key=choice.predicted_seconds.get)
    assert choice.backend == fastest
    fastest_tree = min(("pca_tree", "kd_tree"), key=choice.predicted_seconds.get)
    assert choice.n_components == {"pca_tree": 8, "kd_tree": 64}[fastest_tree]


def test_auto_skips_the_kd_tree_when_projecting_costs_too_much(cube8_in_64d, monkeypatch):
    monkeypatch.setattr(knn_module, "_AUTO_MIN_BRUTE_SECONDS", 0.0)
    monkeypatch.setattr(knn_module, "_MAX_TREE_COMPONENTS", 4)
    monkeypatch.setattr(knn_module, "_KD_TREE_MIN_COMPONENTS", 4)
    monkeypatch.setattr(knn_module, "_MAX_PROJECTION_SHARE", 0.0)
    choice = explain_backend(cube8_in_64d, 2)
    assert choice.backend == "brute" and set(choice.predicted_seconds) == {"brute"}
    assert "projecting onto every axis" in choice.reason


def test_auto_skips_the_kd_tree_whose_index_exceeds_working_memory(cube8_in_64d, monkeypatch):
    monkeypatch.setattr(knn_module, "_AUTO_MIN_BRUTE_SECONDS", 0.0)
    monkeypatch.setattr(knn_module, "_MAX_TREE_COMPONENTS", 4)
    monkeypatch.setattr(knn_module, "_KD_TREE_MIN_COMPONENTS", 4)
    # 8000 x 64 float64 is 3.9 MiB: over a 2 MiB budget, within a 4 MiB one.
    choice = explain_backend(cube8_in_64d, 2, working_memory=2)
    assert choice.backend == "brute" and set(choice.predicted_seconds) == {"brute"}
    assert "exceed working_memory" in choice.reason
    assert "kd_tree" in explain_backend(cube8_in_64d, 2, working_memory=4).predicted_seconds


def test_auto_small_problem_skips_the_probe():
    choice = explain_backend(np.random.default_rng(7).normal(size=(300, 5)), 3, query=np.zeros((4, 5)))
    assert choice.backend == "brute" and "small" in choice.reason
    assert choice.predicted_seconds == {}


def test_explain_backend_validates_like_kneighbors():
    X = np.zeros((10, 3))
    with pytest.raises(ValueError, match="features"):
        explain_backend(X, 2, query=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="n_jobs"):
        explain_backend(X, 2, n_jobs=0)
    with pytest.raises(ValueError, match="working_memory"):
        explain_backend(X, 2, working_memory=-1)


def test_pca_tree_on_wide_full_rank_data():
    # More features than leading axes computed: the tree takes what exists, still exact.
    X = np.random.default_rng(8).normal(size=(400, 60)).astype(np.float32)
    ref_distances, ref_indices = _reference(X, 3)
    distances, indices = kneighbors(X, 3, backend="pca_tree")
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_allclose(distances, ref_distances, rtol=1e-12)


@pytest.mark.parametrize("name", ["low_rank", "noisy", "tied"])
def test_pca_tree_residual_coordinate_and_margin_do_not_change_results(name):
    # Dropping the residual-norm coordinate only loosens the bounds, and the
    # candidate margin only changes how often rows are searched again.
    X = DATASETS[name]
    ref_distances, ref_indices = _reference(X, 6)
    expected_in_subspace = {"low_rank": True, "noisy": False, "tied": True}[name]
    for with_residual in (True, False):
        tree = PCATree(X, 3, with_residual=with_residual)
        assert tree.in_subspace is expected_in_subspace
        assert tree.Z.shape[1] == 3 + (with_residual and X.shape[1] > 3)
        distances, indices = knn_module._tree_rows(tree, X, X, np.arange(len(X)), 6, None, 1)
        np.testing.assert_array_equal(indices, ref_indices)
        np.testing.assert_allclose(distances, ref_distances, rtol=1e-12, atol=0)
