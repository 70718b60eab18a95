"""Layer summaries of a position barcode against direct loops."""

import numpy as np
import pytest

from skrepgeom.topology import (
    betti_curves,
    inter_layer_persistence,
    layer_barcode,
    layers_to_prune,
    persistence_similarity,
    pruning_score,
)
from skrepgeom.topology._zigzag import position_barcode


def _random_barcode(rng, n_layers, n_bars=80):
    birth = rng.integers(0, 2 * n_layers - 1, n_bars)
    death = birth + 1 + rng.integers(0, 2 * n_layers - 1, n_bars)
    death = np.minimum(death, 2 * n_layers - 1)
    dims = rng.integers(0, 3, n_bars)
    return np.column_stack([dims, birth, death])


def _alive_on_layer(bar, layer):
    # A layer is position 2 * layer; the bar covers positions birth .. death - 1.
    return bar[1] <= 2 * layer < bar[2]


@pytest.mark.parametrize("seed", range(3))
def test_summaries_equal_loops(seed):
    rng = np.random.default_rng(seed)
    n_layers = 7
    barcode = _random_barcode(rng, n_layers)
    betti = betti_curves(barcode, n_layers, dims=(0, 1, 2))
    for dim in range(3):
        bars = [b for b in barcode if b[0] == dim]
        expected_betti = [sum(_alive_on_layer(b, l) for b in bars) for l in range(n_layers)]
        assert betti[dim].tolist() == expected_betti
        ps = persistence_similarity(barcode, n_layers, dim=dim)
        expected = np.array(
            [
                [
                    sum(
                        all(_alive_on_layer(b, k) for k in range(min(i, j), max(i, j) + 1))
                        for b in bars
                    )
                    for j in range(n_layers)
                ]
                for i in range(n_layers)
            ]
        )
        assert np.array_equal(ps, expected)
        normalized = persistence_similarity(barcode, n_layers, dim=dim, normalize=True)
        for i in range(n_layers):
            row = expected[i] / expected[i, i] if expected[i, i] else np.zeros(n_layers)
            assert np.allclose(normalized[i], row)


def test_layer_barcode_rounds_intersections():
    # Born in intersection 1 -> layer 1; dies in intersection 3 -> last alive on layer 1.
    assert layer_barcode([[1, 1, 3]], n_layers=3).tolist() == [[1, 1, 2]]
    # Alive only in intersection 1: no layer.
    assert layer_barcode([[1, 1, 2]], n_layers=3).shape == (0, 3)
    with pytest.raises(ValueError, match="birth < death"):
        layer_barcode([[1, 2, 6]], n_layers=3)


def test_position_barcode_equals_a_loop():
    rng = np.random.default_rng(0)
    done = np.cumsum(rng.integers(0, 4, 9))
    m = int(done[-1])
    bars = []
    for _ in range(60):
        b = int(rng.integers(1, m + 1))
        bars.append((int(rng.integers(0, 3)), b, int(rng.integers(b + 1, m + 2))))
    bars = np.array(bars)
    got = position_barcode(bars, done)
    expected = []
    for dim, b, d in bars:
        alive = [t for t in range(done.shape[0]) if b <= done[t] < d]
        if alive:
            expected.append((dim, alive[0], alive[-1] + 1))
    assert got.tolist() == sorted(map(list, expected))


@pytest.mark.parametrize("alpha", [-1.0, 0.0, 2.0])
def test_inter_layer_persistence_formula(alpha):
    rng = np.random.default_rng(1)
    n_layers = 6
    ps = persistence_similarity(_random_barcode(rng, n_layers), n_layers, dim=1)
    got = inter_layer_persistence(ps, alpha=alpha)
    for i in range(n_layers):
        numerator = denominator = 0.0
        for j in range(n_layers):
            if i == j:
                weight = {-1.0: 1e-10, 0.0: 1.0, 2.0: 0.0}[alpha]
            else:
                weight = abs(i - j) ** alpha
            a = ps[i, j] / ps[i, i] if ps[i, i] else 0.0
            numerator += a * weight
            denominator += weight
        assert got[i] == pytest.approx(numerator / denominator)


def test_pruning_score_and_cut():
    ps = np.array([[2, 1, 1], [1, 2, 2], [1, 2, 4]])
    expected = [(2 / 2 + 1 / 2 + 1 / 4) / 3, (1 / 2 + 2 / 2 + 2 / 4) / 3, (1 / 2 + 1 + 1) / 3]
    assert np.allclose(pruning_score(ps), expected)
    # The last layer holds the maximum but is never cut; gaps are not filled.
    assert layers_to_prune([0.9, 0.5, 0.95, 1.0], threshold=0.9).tolist() == [0, 2]
    assert layers_to_prune([np.nan, 1.0], threshold=0.5).tolist() == []
    with pytest.warns(UserWarning, match="no cycle"):
        assert np.all(np.isnan(pruning_score(np.array([[1, 0], [0, 0]]))))
