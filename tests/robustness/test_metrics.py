import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from skrepgeom.robustness import (
    GradientMaskingReport,
    check_gradient_masking,
    robust_accuracy,
)

from .test_attacks import _Binary, _closed_form_robust


@pytest.fixture(scope="module")
def linear_problem():
    X, _ = make_classification(200, 10, random_state=0)
    w = np.random.RandomState(1).normal(size=10) * 0.5
    y = (X @ w + 0.1 > 0).astype(int)
    return X, y, w, 0.1


@pytest.mark.parametrize("eps", [0.05, 0.3])
def test_robust_accuracy_matches_closed_form(linear_problem, eps):
    X, y, w, b = linear_problem
    model = _Binary(w, b)
    acc, details = robust_accuracy(model, X, y, eps=eps, steps=20, clip_range=None,
                                   return_details=True, random_state=0)
    assert abs(acc - _closed_form_robust(X, y, w, b, eps, 1)) <= 1 / len(X) + 1e-12
    assert details["clean_accuracy"] == 1.0
    assert details["robust_mask"].mean() == acc
    assert np.abs(details["X_adv"] - X).max() <= eps + 1e-12
    fgsm_acc = robust_accuracy(model, X, y, eps=eps, attack="fgsm", clip_range=None)
    assert fgsm_acc == _closed_form_robust(X, y, w, b, eps, 1)


def test_eps_zero_is_clean_accuracy(linear_problem):
    X, y, w, b = linear_problem
    model = _Binary(w, b)
    y_wrong = y.copy()
    y_wrong[:10] = 1 - y_wrong[:10]
    assert robust_accuracy(model, X, y_wrong, eps=0, clip_range=None) == 0.95


def test_an_example_is_robust_only_if_every_run_fails(linear_problem):
    """A callable attack that fools the first half; then an AND over runs by hand."""
    X, y, w, b = linear_problem
    model = _Binary(w, b)
    direction = np.sign(w)[None, :] * np.where(y[:, None] == 1, -1.0, 1.0)

    def half(model, X_rows, y_rows, *, eps):
        out = X_rows.copy()
        out[: len(out) // 2] += eps * direction[: len(out) // 2]
        return out

    acc = robust_accuracy(model, X, y, eps=0.3, attack=half, clip_range=None)
    optimum = _closed_form_robust(X[:100], y[:100], w, b, 0.3, 1)
    assert acc == pytest.approx((optimum * 100 + 100) / 200)


def test_robust_accuracy_on_carso_covers_every_surrogate_and_loss(digits, tiny_carso):
    _, X_test, _, y_test = digits
    X, y = X_test[:40], y_test[:40]
    acc, details = robust_accuracy(tiny_carso, X, y, eps=0.1, steps=3, return_details=True,
                                   random_state=0)
    runs = {(r["surrogate"], r["loss"]) for r in details["runs"]}
    assert runs <= {(s, l) for s in ("peel", "mean_logit") for l in ("ce", "dlr")}
    assert ("peel", "ce") in runs
    assert acc <= details["clean_accuracy"]
    # the defence itself decides: robust rows are predicted right on their X_adv
    mask = details["robust_mask"]
    assert (tiny_carso.predict(details["X_adv"][mask]) == y[mask]).all()
    transfer = robust_accuracy(tiny_carso, X, y, eps=0.1, attack="transfer", steps=3,
                               random_state=0)
    assert 0 <= transfer <= details["clean_accuracy"]


def test_bad_arguments(linear_problem, digits, tiny_carso):
    X, y, w, b = linear_problem
    model = _Binary(w, b)
    with pytest.raises(ValueError, match="attack"):
        robust_accuracy(model, X, y, eps=0.1, attack="cw", clip_range=None)
    with pytest.raises(ValueError, match="loss"):
        robust_accuracy(model, X, y, eps=0.1, losses=("mse",), clip_range=None)
    with pytest.raises(ValueError, match="eps"):
        robust_accuracy(model, X, y, eps=-1, clip_range=None)
    _, X_test, _, y_test = digits
    with pytest.raises(ValueError, match="surrogate"):
        robust_accuracy(tiny_carso, X_test[:5], y_test[:5], eps=0.1, surrogates=["x"])


def test_autoattack_without_torchattacks_says_how_to_install(monkeypatch, digits, tiny_at):
    monkeypatch.setitem(sys.modules, "torchattacks", None)
    _, X_test, _, y_test = digits
    with pytest.raises(ImportError, match="pip install --no-deps torchattacks"):
        robust_accuracy(tiny_at, X_test[:5], y_test[:5], eps=0.1, attack="autoattack")


class _Quantised(torch.nn.Module):
    """Gradient masking by construction: inputs rounded to 1/4 (zero gradient)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(torch.round(x * 4) / 4)


def test_masked_model_is_flagged_and_plain_model_is_not(digits, tiny_at):
    _, X_test, _, y_test = digits
    X, y = X_test[:120], y_test[:120]
    masked = _Quantised(tiny_at.module_)
    report = check_gradient_masking(masked, X, y, eps=0.2, random_state=0)
    assert isinstance(report, GradientMaskingReport)
    assert not report.passed
    assert "transfer attack beats white box" in report.failed_checks
    assert "FAILED" in repr(report)
    plain = check_gradient_masking(tiny_at, X, y, eps=0.2, random_state=0)
    assert plain.passed, repr(plain)
    assert list(plain.eps_curve) == [0.0, 0.05, 0.1, 0.2, 0.3]
    assert plain.high_eps_accuracy <= plain.chance + 0.05


def test_pgd_agrees_with_torchattacks_ensemble(digits, tiny_at):
    pytest.importorskip("torchattacks")
    _, X_test, _, y_test = digits
    X, y = X_test[:100], y_test[:100]
    ours = robust_accuracy(tiny_at, X, y, eps=0.2, steps=50, random_state=0)
    theirs = robust_accuracy(tiny_at, X, y, eps=0.2, attack="autoattack", random_state=0)
    assert ours <= theirs + 0.08
