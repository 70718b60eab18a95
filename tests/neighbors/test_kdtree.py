"""The Numba k-d tree against a NumPy brute force written here."""

import numpy as np
import pytest

from skrepgeom.neighbors._kdtree import KDTree
from skrepgeom.neighbors._kernels import kdtree_build, kdtree_query_parallel


def brute_knn(points, queries, k, exclude=None):
    """Squared distances summed feature by feature in float64 (the tree's order, so
    equal distances are equal bit for bit), sorted by (distance, index)."""
    points = points.astype(np.float64)
    queries = queries.astype(np.float64)
    n = points.shape[0]
    distances = np.full((len(queries), k), np.inf)
    indices = np.full((len(queries), k), n, dtype=np.int64)
    for i, q in enumerate(queries):
        squared = np.zeros(n)
        for f in range(points.shape[1]):
            squared += (q[f] - points[:, f]) ** 2
        rows = np.arange(n)
        if exclude is not None:
            keep = rows != exclude[i]
            squared, rows = squared[keep], rows[keep]
        order = np.lexsort((rows, squared))[:k]
        distances[i, : len(order)] = np.sqrt(squared[order])
        indices[i, : len(order)] = rows[order]
    return distances, indices


def _datasets():
    rng = np.random.default_rng(0)
    normal = rng.normal(size=(600, 3))
    duplicated = np.repeat(rng.normal(size=(90, 4)), 4, axis=0)[rng.permutation(360)]
    # Integer points: many neighbours at exactly equal distances.
    grid = rng.integers(0, 4, size=(500, 2)).astype(np.float64)
    flat = np.zeros((200, 5))
    flat[:, 0] = rng.normal(size=200)  # a line in 5-D: boxes of zero width
    return {"normal": normal, "duplicated": duplicated, "grid": grid, "flat": flat}


DATASETS = _datasets()


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("leaf_size", [2, 5, 16])
def test_self_query_matches_brute_force(name, dtype, leaf_size):
    points = DATASETS[name].astype(dtype)
    tree = KDTree(points, leaf_size=leaf_size)
    for k in (1, 7):
        distances, indices = tree.kneighbors_self(k)
        expected_distances, expected_indices = brute_knn(
            points, points, k, exclude=np.arange(len(points))
        )
        np.testing.assert_array_equal(indices, expected_indices)
        np.testing.assert_array_equal(distances, expected_distances)


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_external_query_matches_brute_force(name, dtype):
    points = DATASETS[name].astype(dtype)
    rng = np.random.default_rng(1)
    # New rows and copies of indexed rows (distance 0, ties among duplicates).
    queries = np.vstack([
        rng.normal(size=(40, points.shape[1])).astype(dtype),
        points[rng.integers(0, len(points), 40)],
    ])
    tree = KDTree(points, leaf_size=8)
    for k in (1, 4, 100):
        distances, indices = tree.query(queries, k)
        expected_distances, expected_indices = brute_knn(points, queries, k)
        np.testing.assert_array_equal(indices, expected_indices)
        np.testing.assert_array_equal(distances, expected_distances)


def test_large_k_and_more_neighbours_than_rows():
    points = DATASETS["grid"][:150]
    tree = KDTree(points, leaf_size=4)
    distances, indices = tree.kneighbors_self(100)
    np.testing.assert_array_equal(
        indices, brute_knn(points, points, 100, exclude=np.arange(150))[1]
    )
    # Past the last other row: distance inf, index n (as scipy's cKDTree).
    distances, indices = tree.kneighbors_self(152)
    assert np.all(np.isinf(distances[:, 149:])) and np.all(indices[:, 149:] == 150)
    assert np.all(np.isfinite(distances[:, :149]))
    np.testing.assert_array_equal(np.sort(indices[3, :149]), np.delete(np.arange(150), 3))


def test_exclude_skips_only_the_given_row():
    points = DATASETS["duplicated"]
    tree = KDTree(points, leaf_size=8)
    exclude = np.arange(len(points))[::-1].copy()
    exclude[::7] = -1
    distances, indices = tree.query(points, 5, exclude=exclude)
    expected = brute_knn(points, points, 5, exclude=exclude)
    np.testing.assert_array_equal(indices, expected[1])
    np.testing.assert_array_equal(distances, expected[0])


def test_threads_do_not_change_results():
    rng = np.random.default_rng(2)
    points = rng.integers(0, 6, size=(3000, 3)).astype(np.float64)  # ties everywhere
    tree = KDTree(points, leaf_size=16)
    serial = tree.kneighbors_self(9)
    parallel = tree.kneighbors_self(9, n_jobs=2)
    np.testing.assert_array_equal(serial[1], parallel[1])
    np.testing.assert_array_equal(serial[0], parallel[0])
    # The threaded kernel with small, uneven blocks (2 threads or fewer available).
    distances = np.empty((3000, 9))
    indices = np.empty((3000, 9), dtype=np.int64)
    kdtree_query_parallel(tree.data, tree.indices, tree._start, tree._end, tree._lo, tree._hi,
                          tree.n_levels, tree.data, tree.indices, 9, 37, distances, indices)
    out = np.empty_like(indices)
    out[tree.indices] = indices
    np.testing.assert_array_equal(out, serial[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_build_kernel_permutes_rows_into_median_split_boxes(dtype):
    rng = np.random.default_rng(3)
    points = rng.normal(size=(203, 3)).astype(dtype) * np.array([1.0, 5.0, 0.1], dtype=dtype)
    n_levels = 4
    n_nodes = 2 ** (n_levels + 1) - 1
    data, perm = points.copy(), np.arange(203, dtype=np.int64)
    start, end = np.empty(n_nodes, np.int64), np.empty(n_nodes, np.int64)
    lo, hi = np.empty((n_nodes, 3)), np.empty((n_nodes, 3))
    kdtree_build(data, n_levels, perm, start, end, lo, hi)
    np.testing.assert_array_equal(np.sort(perm), np.arange(203))
    np.testing.assert_array_equal(data, points[perm])
    for node in range(n_nodes):
        rows = data[start[node] : end[node]].astype(np.float64)
        # Tight boxes of the node's own rows.
        np.testing.assert_array_equal(lo[node], rows.min(axis=0))
        np.testing.assert_array_equal(hi[node], rows.max(axis=0))
        if node < 2**n_levels - 1:
            left, right = 2 * node + 1, 2 * node + 2
            assert (start[left], end[right]) == (start[node], end[node])
            assert end[left] == start[right] == start[node] + (end[node] - start[node]) // 2
            # Split along the widest side, every left row below every right row.
            dim = np.argmax(hi[node] - lo[node])
            assert rows[: end[left] - start[node], dim].max() <= rows[end[left] - start[node] :, dim].min()
    assert start[0] == 0 and end[0] == 203
    # The root splits the widest coordinate (the second, scaled by 5).
    assert np.argmax(hi[0] - lo[0]) == 1


def test_leaves_hold_half_to_all_of_leaf_size():
    points = np.random.default_rng(4).normal(size=(1000, 2))
    for leaf_size in (2, 3, 16, 1000):
        tree = KDTree(points, leaf_size=leaf_size)
        leaves = np.arange(2**tree.n_levels - 1, 2 ** (tree.n_levels + 1) - 1)
        sizes = tree._end[leaves] - tree._start[leaves]
        assert sizes.sum() == 1000
        assert sizes.max() <= leaf_size and sizes.min() >= max(1, leaf_size // 2)
    assert KDTree(points, leaf_size=5000).n_levels == 0


@pytest.mark.parametrize(
    "points, match",
    [
        (np.array([[0.0, np.nan]]), "NaN or infinity"),
        (np.zeros((0, 2)), "non-empty 2-D"),
        (np.zeros(4), "non-empty 2-D"),
        (np.zeros((4, 2)), "leaf_size"),
    ],
)
def test_bad_points_are_refused(points, match):
    with pytest.raises(ValueError, match=match):
        KDTree(points, leaf_size=1 if match == "leaf_size" else 16)


def test_bad_queries_are_refused():
    tree = KDTree(np.zeros((5, 2)))
    with pytest.raises(TypeError, match="float32 or float64"):
        KDTree(np.zeros((5, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="shape"):
        tree.query(np.zeros((3, 3)), 1)
    with pytest.raises(ValueError, match="k must be"):
        tree.query(np.zeros((3, 2)), 0)
    with pytest.raises(ValueError, match="exclude"):
        tree.query(np.zeros((3, 2)), 1, exclude=np.zeros(2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_principal_coordinate_search_is_the_same_with_either_tree(dtype, monkeypatch):
    from scipy.spatial import cKDTree

    from skrepgeom.neighbors import _pca_tree, kneighbors

    rng = np.random.default_rng(5)
    X = (rng.normal(size=(700, 3)) @ rng.normal(size=(3, 12))).astype(dtype)
    X[350:] = X[:350]  # duplicates at distance 0
    queries = np.vstack([X[::13], rng.normal(size=(20, 12)).astype(dtype)])
    assert isinstance(_pca_tree.coordinate_tree(np.zeros((10, 3))), KDTree)
    results = {}
    for limit in (_pca_tree._NUMBA_TREE_MAX_COORDINATES, 0):
        monkeypatch.setattr(_pca_tree, "_NUMBA_TREE_MAX_COORDINATES", limit)
        expected_type = KDTree if limit else cKDTree
        assert isinstance(_pca_tree.PCATree(X, 3).tree, expected_type)
        results[limit] = [kneighbors(X, 5, backend=backend, query=query)
                          for backend in ("pca_tree", "kd_tree") for query in (None, queries)]
    for ours, scipy_tree in zip(*results.values()):
        np.testing.assert_array_equal(ours[1], scipy_tree[1])
        np.testing.assert_array_equal(ours[0], scipy_tree[0])
    # And the same as the brute force written here.
    np.testing.assert_array_equal(
        next(iter(results.values()))[0][1], brute_knn(X, X, 5, exclude=np.arange(len(X)))[1]
    )
