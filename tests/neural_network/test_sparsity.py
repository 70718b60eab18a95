import numpy as np
import pytest

from skrepgeom.neural_network import ensemble_overlap, fraction_active, hoyer_sparsity


def test_hoyer_closed_forms():
    H = np.array([[0.0, 0.0, 5.0, 0.0], [2.0, 2.0, 2.0, 2.0], [1.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(hoyer_sparsity(H), [1.0, 0.0, 2.0 - np.sqrt(2.0)], atol=1e-12)
    np.testing.assert_allclose(hoyer_sparsity(H[2:].T, axis=0), [2.0 - np.sqrt(2.0)], atol=1e-12)


def test_hoyer_matches_numpy_loop():
    rng = np.random.default_rng(0)
    H = np.maximum(rng.normal(size=(50, 37)), 0)
    expected = []
    for h in H:
        n = h.size
        expected.append((np.sqrt(n) - np.abs(h).sum() / np.linalg.norm(h)) / (np.sqrt(n) - 1))
    np.testing.assert_allclose(hoyer_sparsity(H), expected, rtol=1e-12)
    np.testing.assert_allclose(hoyer_sparsity(H.T, axis=0), expected, rtol=1e-12)


def test_hoyer_all_zero_row_is_nan():
    values = hoyer_sparsity([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert np.isnan(values[0])
    assert values[1] == pytest.approx(1.0)


def test_hoyer_bad_input():
    with pytest.raises(ValueError, match="at least 2 units"):
        hoyer_sparsity([[1.0], [2.0]])
    with pytest.raises(ValueError):
        hoyer_sparsity([[np.nan, 1.0]])
    with pytest.raises(ValueError):
        hoyer_sparsity([1.0, 2.0])


def test_fraction_active():
    H = np.array([[0.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(fraction_active(H), [0.5, 0.0])
    np.testing.assert_allclose(fraction_active(H, axis=0), [0.0, 0.5, 0.0, 0.5])
    np.testing.assert_allclose(fraction_active(H, threshold=1.5), [0.25, 0.0])


def test_ensemble_overlap_planted_blocks_is_identity():
    rng = np.random.default_rng(0)
    n_classes, per_class, units = 4, 30, 5
    y = np.repeat(np.arange(n_classes), per_class)
    H = np.zeros((y.size, n_classes * units))
    for c in range(n_classes):
        H[y == c, c * units : (c + 1) * units] = rng.uniform(0.5, 2.0, size=(per_class, units))
    np.testing.assert_array_equal(ensemble_overlap(H, y), np.eye(n_classes))


def test_ensemble_overlap_partial_and_empty():
    H = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    overlap = ensemble_overlap(H, ["a", "b", "c"])
    np.testing.assert_allclose(overlap[0, 1], 1 / 3)
    assert np.isnan(overlap[2, 2])
    assert overlap[0, 2] == 0.0
