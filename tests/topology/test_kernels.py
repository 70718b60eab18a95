"""Numba kernels of the topology area against NumPy / pure-Python versions."""

import itertools

import numpy as np
import pytest

from skrepgeom.topology._complexes import clique_complex, knn_graph, layer_zigzag
from skrepgeom.topology._kernels import (
    _reduce,
    bounded_path,
    clique_enumeration,
    cone_filtration,
    lex_search,
    lex_unique_sorted,
    reduce_boundary,
    reduce_cone_filtration,
)
from tests.topology._reference import random_zigzag


def _forward_csr(n, edges):
    edges = sorted({(min(u, v), max(u, v)) for u, v in edges if u != v})
    indptr = np.zeros(n + 1, dtype=np.int64)
    for u, _ in edges:
        indptr[u + 1] += 1
    return np.cumsum(indptr), np.array([v for _, v in edges], dtype=np.int64)


def _brute_cliques(n, edges, max_dim):
    adjacent = {(min(u, v), max(u, v)) for u, v in edges}
    return [
        sorted(
            c
            for c in itertools.combinations(range(n), q + 1)
            if all(pair in adjacent for pair in itertools.combinations(c, 2))
        )
        for q in range(max_dim + 1)
    ]


def _enumerate(indptr, indices, max_dim):
    n = indptr.shape[0] - 1
    counts, total = clique_enumeration(
        indptr, indices, max_dim, 10**9, np.zeros((0, max_dim + 1), np.int64),
        np.zeros((0, max_dim + 1), np.int64),
    )
    per_dim = counts.sum(axis=0)
    start = np.concatenate([[0], np.cumsum(per_dim)[:-1]])
    offsets = np.cumsum(counts, axis=0) - counts + start
    out = np.full((total, max_dim + 1), -1, dtype=np.int64)
    clique_enumeration(indptr, indices, max_dim, 10**9, offsets, out)
    return [
        [tuple(row[: q + 1]) for row in out[start[q] : start[q] + per_dim[q]]]
        for q in range(max_dim + 1)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_clique_enumeration_equals_brute_force_in_lexicographic_order(seed):
    rng = np.random.default_rng(seed)
    n = 12
    edges = [tuple(e) for e in rng.integers(0, n, size=(40, 2))]
    indptr, indices = _forward_csr(n, edges)
    assert _enumerate(indptr, indices, 4) == _brute_cliques(n, edges, 4)


def test_clique_count_stops_past_the_limit():
    indptr, indices = _forward_csr(8, itertools.combinations(range(8), 2))
    _, total = clique_enumeration(
        indptr, indices, 3, 20, np.zeros((0, 4), np.int64), np.zeros((0, 4), np.int64)
    )
    assert 20 < total < 8 + 28 + 56 + 70


def test_lex_search_and_unique_match_numpy():
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 4, size=(200, 3))
    rows = rows[np.lexsort(rows.T[::-1])]
    unique = np.unique(rows, axis=0)
    assert np.array_equal(rows[lex_unique_sorted(rows)], unique)
    queries = rng.integers(0, 5, size=(100, 3))
    expected = [
        next((i for i, u in enumerate(unique.tolist()) if u == q), -1) for q in queries.tolist()
    ]
    assert lex_search(unique, queries).tolist() == expected


def _python_reduction(columns):
    """Textbook left-to-right reduction without optimisations: pairs (low, column)."""
    reduced = [set(c) for c in columns]
    pivot_of = {}
    pairs = []
    for j, column in enumerate(reduced):
        while column and max(column) in pivot_of:
            column ^= reduced[pivot_of[max(column)]]
        if column:
            pivot_of[max(column)] = j
            pairs.append((max(column), j))
    return sorted(pairs)


def test_twist_reduction_pairs_equal_textbook_reduction():
    # Boundary matrices of random simplicial filtrations on 7 vertices.
    rng = np.random.default_rng(0)
    for _ in range(10):
        simplices = [
            c for q in range(4) for c in itertools.combinations(range(7), q + 1)
        ]
        order = sorted(simplices, key=lambda s: (rng.random() + len(s), s))
        index = {s: i for i, s in enumerate(order)}
        columns = [
            sorted(index[f] for f in itertools.combinations(s, len(s) - 1)) if len(s) > 1 else []
            for s in order
        ]
        dims = np.array([len(s) - 1 for s in order], dtype=np.int64)
        ptr = np.concatenate([[0], np.cumsum([len(c) for c in columns])]).astype(np.int64)
        idx = np.array([i for c in columns for i in c], dtype=np.int64)
        birth, death = reduce_boundary(dims, ptr, idx)
        assert sorted(zip(birth.tolist(), death.tolist())) == _python_reduction(columns)


def test_cone_filtration_of_an_edge():
    # Insert a, b, ab; nothing removed: padding removes ab, then a and b.
    op_simplex = np.array([0, 1, 2], dtype=np.int64)
    op_insert = np.ones(3, dtype=np.bool_)
    dims = np.array([0, 0, 1], dtype=np.int64)
    facet_ptr = np.array([0, 0, 0, 2], dtype=np.int64)
    facet_idx = np.array([0, 1], dtype=np.int64)
    error, _, column_dim, column_ptr, column_idx, column_op = cone_filtration(
        op_simplex, op_insert, dims, facet_ptr, facet_idx
    )
    assert error == 0
    columns = [column_idx[column_ptr[j] : column_ptr[j + 1]].tolist() for j in range(7)]
    # Apex, cells a, b, ab, then the cones in reverse removal order: the padding
    # removes the newest cell first, ab (op 3), b (op 4), a (op 5), so the cones
    # of a, b, ab follow.
    assert column_dim.tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert columns == [[], [], [], [1, 2], [0, 1], [0, 2], [3, 4, 5]]
    assert column_op.tolist() == [-1, 0, 1, 2, 5, 4, 3]


def _reachable(n, edges, u, limit):
    reached, frontier = {u}, [u]
    while frontier:
        x = frontier.pop()
        for a, b, edge in edges:
            if edge <= limit and x in (a, b):
                y = b if x == a else a
                if y not in reached:
                    reached.add(y)
                    frontier.append(y)
    return reached


@pytest.mark.parametrize("seed", range(4))
def test_bounded_path_is_a_path_exactly_when_one_exists(seed):
    rng = np.random.default_rng(seed)
    n = 30
    pairs = {tuple(sorted(rng.choice(n, 2, replace=False))) for _ in range(40)}
    edges = [(a, b, 100 + i) for i, (a, b) in enumerate(sorted(pairs))]
    order = rng.permutation(len(edges))  # adjacency runs in no particular order
    adjacency = [[] for _ in range(n)]
    for i in order:
        a, b, edge = edges[i]
        adjacency[a].append((b, edge))
        adjacency[b].append((a, edge))
    adj_start = np.concatenate([[0], np.cumsum([len(r) for r in adjacency])]).astype(np.int64)
    adj_len = np.array([len(r) for r in adjacency], dtype=np.int64)
    adj_node = np.array([y for r in adjacency for y, _ in r], dtype=np.int64)
    adj_edge = np.array([e for r in adjacency for _, e in r], dtype=np.int64)
    seen = np.zeros((2, n), dtype=np.int64)
    parent_node = np.empty((2, n), dtype=np.int64)
    parent_edge = np.empty((2, n), dtype=np.int64)
    queue = np.empty((2, n), dtype=np.int64)
    path = np.empty(n, dtype=np.int64)
    endpoints = {edge: (a, b) for a, b, edge in edges}
    n_found = 0
    for stamp in range(1, 60):
        u, v = (int(x) for x in rng.choice(n, 2, replace=False))
        limit = int(rng.integers(100, 100 + len(edges) + 1))
        length = bounded_path(
            u, v, limit, stamp, adj_start, adj_len, adj_node, adj_edge, seen,
            parent_node, parent_edge, queue, 10 * n, path,
        )
        assert (length > 0) == (v in _reachable(n, edges, u, limit))
        if length > 0:
            n_found += 1
            used = path[:length].tolist()
            assert len(set(used)) == length and max(used) <= limit
            # Z/2 boundary of the edges: exactly the two ends.
            degree = np.zeros(n, dtype=np.int64)
            for edge in used:
                degree[list(endpoints[edge])] += 1
            assert sorted(np.flatnonzero(degree % 2).tolist()) == sorted([u, v])
    assert n_found > 10


def _plain_and_short_cycle_pairs(op_simplex, op_insert, dims, facet_ptr, facet_idx):
    error, _, column_dim, column_ptr, column_idx, column_op = cone_filtration(
        op_simplex, op_insert, dims, facet_ptr, facet_idx
    )
    assert error == 0
    plain = reduce_boundary(column_dim, column_ptr, column_idx)
    short = reduce_cone_filtration(
        column_dim, column_ptr, column_idx, column_op, op_simplex.shape[0]
    )
    return [sorted(zip(birth.tolist(), death.tolist())) for birth, death in (plain, short)]


def test_short_cycle_reduction_pairs_equal_plain_reduction_on_random_zigzags():
    from skrepgeom.topology._zigzag import _index_simplices

    rng = np.random.default_rng(1)
    for _ in range(20):
        simplices, insertions = random_zigzag(rng, n_vertices=7, max_dim=2, n_operations=120)
        _, op_simplex, dims, facet_ptr, facet_idx = _index_simplices(simplices)
        plain, short = _plain_and_short_cycle_pairs(
            op_simplex, np.array(insertions), dims, facet_ptr, facet_idx
        )
        assert plain == short


def test_short_cycle_reduction_pairs_equal_plain_reduction_on_layers():
    # kNN complexes of a drifting cloud: most removed edges close a short cycle.
    rng = np.random.default_rng(0)
    layers = [rng.standard_normal((150, 8))]
    for _ in range(4):
        layers.append(layers[-1] + 0.3 * rng.standard_normal(layers[-1].shape))
    zigzag = layer_zigzag([clique_complex(*knn_graph(x, 4), 3) for x in layers])
    operations = [zigzag[k] for k in ("op_simplex", "op_insert", "simplex_dim", "facet_ptr",
                                      "facet_idx")]
    plain, short = _plain_and_short_cycle_pairs(*operations)
    assert plain == short
    # The pairs would be equal if the search never found a cycle (the column is then
    # reduced as it is): check that it finds one for nearly every cone it searches
    # (273 searched, 268 found when written).
    error, _, column_dim, column_ptr, column_idx, column_op = cone_filtration(*operations)
    assert error == 0
    *_, n_searched, n_short_cycles = _reduce(column_dim, column_ptr, column_idx, column_op,
                                             operations[0].shape[0])
    assert n_searched > 100 and n_short_cycles >= 0.9 * n_searched, (n_searched, n_short_cycles)
