"""Numba kernels of the neighbour engine against NumPy versions."""

import numpy as np
import pytest

from skrepgeom.neighbors._kernels import exact_rerank, update_topk, update_topk_columns


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exclude_self", [False, True])
def test_update_topk_matches_numpy(dtype, exclude_self):
    rng = np.random.default_rng(0)
    Q = rng.normal(size=(40, 3)).astype(dtype)
    X = rng.normal(size=(90, 3)).astype(dtype)
    if exclude_self:
        X[:40] = Q
    norms = np.einsum("ij,ij->i", X, X)
    m = 5
    best_key = np.full((40, m), np.inf, dtype=dtype)
    best_index = np.full((40, m), -1, dtype=np.int64)
    for column in range(0, 90, 32):  # several tiles, merged
        tile = (-2 * Q) @ X[column : column + 32].T
        update_topk(tile, norms[column : column + 32], column, 0, exclude_self, best_key, best_index)
    keys = norms[None, :] - 2 * Q @ X.T
    if exclude_self:
        keys[np.arange(40), np.arange(40)] = np.inf
    expected = np.argsort(keys, axis=1, kind="stable")[:, :m]
    np.testing.assert_array_equal(best_index, expected)
    np.testing.assert_allclose(best_key, np.take_along_axis(keys, expected, 1), rtol=1e-5)


def test_exact_rerank_matches_numpy_and_breaks_ties_by_index():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    X[7] = X[2]  # two candidates at the same distance from every query
    Q = rng.normal(size=(6, 4))
    candidates = np.array([rng.permutation([2, 7, 11, 5, 20, -1]) for _ in range(6)])
    distances = np.empty((6, 3))
    indices = np.empty((6, 3), dtype=np.int64)
    exact_rerank(Q, X, candidates, 3, distances, indices)
    for row in range(6):
        valid = candidates[row][candidates[row] >= 0]
        d = np.linalg.norm(Q[row] - X[valid], axis=1)
        order = np.lexsort((valid, d))[:3]
        np.testing.assert_array_equal(indices[row], valid[order])
        np.testing.assert_allclose(distances[row], d[order], rtol=1e-14)
        if 7 in indices[row]:
            assert 2 in indices[row] and list(indices[row]).index(2) < list(indices[row]).index(7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_topk_columns_matches_numpy(dtype):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 3)).astype(dtype)
    norms = np.einsum("ij,ij->i", X, X)
    m = 4
    best_key = np.full((120, m), np.inf, dtype=dtype)
    best_index = np.full((120, m), -1, dtype=np.int64)
    # Column block 80:120 sees the row blocks 0:40 and 40:80, as in the symmetric scan.
    for r0 in (0, 40):
        tile = (-2 * X[r0 : r0 + 40]) @ X[80:].T
        update_topk_columns(tile, norms[r0 : r0 + 40], r0, 80, best_key, best_index)
    keys = norms[:80, None] - 2 * X[:80] @ X[80:].T  # (rows 0:80) x (columns 80:120)
    expected = np.argsort(keys.T, axis=1, kind="stable")[:, :m]
    np.testing.assert_array_equal(best_index[80:], expected)
    assert np.all(best_index[:80] == -1)
