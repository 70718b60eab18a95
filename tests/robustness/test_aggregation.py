import numpy as np
import pytest
import torch

from skrepgeom.robustness import aggregate_logits
from skrepgeom.robustness._aggregation import aggregate_tensor


def _peel_reference(logits):
    """The reference rule written out: P_c = softmax_c(sum_k exp(l_ck)), in float64."""
    s = np.exp(logits).sum(axis=2)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return np.log(e / e.sum(axis=1, keepdims=True))


@pytest.mark.parametrize("seed", range(10))
def test_peel_matches_float64_reference(seed):
    rng = np.random.RandomState(seed)
    n, c, k = rng.randint(1, 6), rng.randint(2, 11), rng.randint(1, 9)
    logits = rng.normal(scale=1.5, size=(n, c, k))
    np.testing.assert_allclose(aggregate_logits(logits, "peel"), _peel_reference(logits),
                               atol=1e-6)


def test_peel_is_finite_where_the_reference_overflows():
    # (3, 0, 0) x 8: the reference's logit(P) is (+inf, -inf, -inf) in float32
    logits = np.tile(np.array([3.0, 0.0, 0.0])[None, :, None], (1, 1, 8))
    out = aggregate_logits(logits, "peel")
    assert np.isfinite(out).all() and out.argmax() == 0
    # exact: log P_0 = -log(1 + 2 exp(8 - 8 e^3)), log P_1 = 8 - 8 e^3 - log(...)
    d = 8.0 - 8.0 * np.exp(3.0)
    np.testing.assert_allclose(out[0], [-np.log1p(2 * np.exp(d)), d, d], rtol=1e-12, atol=1e-12)
    big = np.zeros((2, 3, 8))
    big[:, 0] = 100.0
    out = aggregate_logits(big, "peel")
    assert np.isfinite(out).all() and np.isfinite(out.astype(np.float32)).all()
    assert (out.argmax(axis=1) == 0).all()


@pytest.mark.parametrize("method", ["vote", "mean_prob", "mean_logit", "peel"])
def test_rows_are_log_probabilities(method):
    logits = np.random.RandomState(0).normal(size=(7, 4, 5))
    out = aggregate_logits(logits, method)
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0, atol=1e-12)


def test_mean_methods_and_vote_match_definitions():
    rng = np.random.RandomState(1)
    logits = rng.normal(size=(6, 3, 4))
    mean = logits.mean(axis=2)
    expected = mean - np.log(np.exp(mean).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(aggregate_logits(logits, "mean_logit"), expected, atol=1e-12)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.exp(aggregate_logits(logits, "mean_prob")), p.mean(axis=2),
                               atol=1e-12)
    votes = np.stack([(logits.argmax(axis=1) == c).mean(axis=1) for c in range(3)], axis=1)
    np.testing.assert_allclose(np.exp(aggregate_logits(logits, "vote")), votes, atol=1e-12)


def test_peel_gradient_saturates_but_mean_logit_does_not():
    logits = torch.zeros((1, 3, 8), dtype=torch.float64)
    logits[0, 0] = 6.0
    logits.requires_grad_(True)
    aggregate_tensor(logits, "peel")[0, 0].backward()
    assert logits.grad.abs().max() < 1e-100
    logits.grad = None
    aggregate_tensor(logits, "mean_logit")[0, 0].backward()
    assert logits.grad.abs().max() > 1e-4


def test_bad_inputs():
    with pytest.raises(ValueError, match="method"):
        aggregate_logits(np.zeros((1, 2, 3)), "max")
    with pytest.raises(ValueError, match="ndim"):
        aggregate_logits(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        aggregate_logits(np.full((1, 2, 2), np.nan))
