"""The zigzag engine against a brute-force rank reference and gudhi Betti numbers."""

import gudhi
import numpy as np
import pytest

from skrepgeom.topology import zigzag_barcode
from tests.topology._reference import brute_force_barcode, complexes, random_zigzag


def _zigzags(n, seed, max_operations):
    rng = np.random.default_rng(seed)
    return [
        random_zigzag(
            rng,
            n_vertices=int(rng.integers(3, 9)),
            n_operations=int(rng.integers(1, max_operations + 1)),
            drain=i % 4 == 0,
        )
        for i in range(n)
    ]


def _alive(barcode, t, dim):
    rows = barcode[barcode[:, 0] == dim]
    return int(np.count_nonzero((rows[:, 1] <= t) & (t < rows[:, 2])))


@pytest.fixture(scope="module")
def small_zigzags():
    return _zigzags(30, seed=0, max_operations=40)


@pytest.fixture(scope="module")
def large_zigzags():
    return _zigzags(200, seed=1, max_operations=150)


def test_some_zigzags_end_non_empty_and_some_empty(large_zigzags):
    final = [complexes(s, ins)[-1] for s, ins in large_zigzags]
    assert any(len(k) == 0 for k in final) and sum(len(k) > 0 for k in final) > 100
    assert max(max(len(x) for x in s) for s, _ in large_zigzags) == 4


def test_brute_force_reference_on_a_known_zigzag():
    # A hollow triangle filled and emptied: H1 lives in K_6 only, then again in K_8.
    ops = [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2], [0, 1, 2]]
    expected = [[0, 1, 9], [0, 2, 4], [0, 3, 5], [1, 6, 7], [1, 8, 9]]
    assert brute_force_barcode(ops, [True] * 7 + [False]).tolist() == expected


def test_engine_equals_brute_force_rank_reference(small_zigzags):
    mismatches = []
    for k, (simplices, insertions) in enumerate(small_zigzags):
        expected = brute_force_barcode(simplices, insertions)
        barcode = zigzag_barcode(simplices, insertions)
        if not np.array_equal(barcode, expected):
            mismatches.append(k)
    assert mismatches == []


def test_bars_alive_equal_gudhi_betti_numbers(large_zigzags):
    failures = []
    for k, (simplices, insertions) in enumerate(large_zigzags):
        barcode = zigzag_barcode(simplices, insertions)
        assert barcode.dtype == np.int64 and barcode.shape[1] == 3
        m = len(simplices)
        assert np.all(barcode[:, 1] >= 1) and np.all(barcode[:, 2] <= m + 1)
        tree = gudhi.SimplexTree()
        for t in range(m + 1):
            if t > 0:
                s = simplices[t - 1]
                if insertions[t - 1]:
                    tree.insert(s)
                else:
                    tree.remove_maximal_simplex(s)
            tree.compute_persistence(persistence_dim_max=True)
            betti = tree.betti_numbers() if tree.num_simplices() else []
            betti = list(betti) + [0] * (5 - len(betti))
            ours = [_alive(barcode, t, dim) for dim in range(5)]
            if ours != betti[:5]:
                failures.append((k, t, ours, betti))
                break
    assert failures == []


def test_reinserted_simplex_is_a_new_cell():
    # The edge leaves and returns: the cycle closes twice.
    ops = [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 2], [0, 2]]
    barcode = zigzag_barcode(ops, [True] * 6 + [False, True])
    assert barcode[barcode[:, 0] == 1].tolist() == [[1, 6, 7], [1, 8, 9]]


def test_padded_array_and_vertex_order_are_accepted():
    ops = [[0, -1], [1, -1], [1, 0]]
    expected = zigzag_barcode([[0], [1], [0, 1]], [True] * 3)
    assert np.array_equal(zigzag_barcode(np.array(ops), np.ones(3, dtype=bool)), expected)


def test_empty_zigzag():
    assert zigzag_barcode([], []).shape == (0, 3)


@pytest.mark.parametrize(
    "simplices, insertions, match",
    [
        ([[0], [0]], [True, True], "Operation 1 inserts a simplex that is already present"),
        ([[0], [0, 1]], [True, True], "Operation 1 inserts a simplex whose faces"),
        ([[0], [1]], [True, False], "Operation 1 removes a simplex that is not present"),
        ([[0], [1], [0, 1], [0]], [True] * 3 + [False], "Operation 3 removes a simplex that still"),
        ([[0], [1, 1]], [True, True], "Operation 1: a simplex has repeated vertices"),
        ([[0], [1]], [True], "same length"),
        ([[0], [-2]], [True, True], "Operation 1: a simplex needs"),
    ],
)
def test_invalid_operations_are_named(simplices, insertions, match):
    with pytest.raises(ValueError, match=match):
        zigzag_barcode(simplices, insertions)


def test_non_integer_simplices_and_non_boolean_insertions_are_refused():
    with pytest.raises(TypeError, match="integer"):
        zigzag_barcode(np.array([[0.0], [1.0]]), [True, True])
    with pytest.raises(TypeError, match="booleans"):
        zigzag_barcode([[0], [1]], [1, 1])
