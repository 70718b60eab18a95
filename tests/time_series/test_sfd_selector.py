"""SequentialFeatureDetachment: Gram path vs a brute-force refit loop, selection, errors."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.linear_model import RidgeClassifier, RidgeClassifierCV
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    StratifiedShuffleSplit,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, LabelBinarizer, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from skrepgeom.time_series import SequentialFeatureDetachment
from skrepgeom.time_series._sfd import detachment_sizes

ALPHAS = np.logspace(-10, 10, 20)


def _brute_force_loo_scores(X, y, alphas):
    """Leave each row out, refit a ridge with intercept on the others, predict it.

    The refits use the SVD of the centred remaining rows (stable at tiny alphas);
    the score is minus the mean squared error of the +-1 targets, as in
    ``RidgeClassifierCV``.
    """
    Y = LabelBinarizer(pos_label=1, neg_label=-1).fit_transform(y).astype(float)
    n = len(y)
    errors = np.zeros(len(alphas))
    with threadpool_limits(limits=1, user_api="blas"):  # many small SVDs: threads only cost
        for i in range(n):
            _add_loo_errors(errors, X, Y, i, alphas)
    return -errors / (n * Y.shape[1])


def _add_loo_errors(errors, X, Y, i, alphas):
    keep = np.arange(len(Y)) != i
    x_mean, y_mean = X[keep].mean(axis=0), Y[keep].mean(axis=0)
    U, s, Vt = np.linalg.svd(X[keep] - x_mean, full_matrices=False)
    UtY = U.T @ (Y[keep] - y_mean)
    for a, alpha in enumerate(alphas):
        w = Vt.T @ ((s / (s**2 + alpha))[:, None] * UtY)
        errors[a] += np.sum(((X[i] - x_mean) @ w + y_mean - Y[i]) ** 2)


def _near_tie_alpha(alphas, scores):
    """The documented rule: largest alpha within max(1e-6 |best|, 1e-12) of the best."""
    best = max(scores)
    tolerance = max(1e-6 * abs(best), 1e-12)
    return max(a for a, score in zip(alphas, scores) if score >= best - tolerance)


def _scaled(X):
    """StandardScaler features as SFD stores them: float32, constant columns 0."""
    Xs = StandardScaler().fit_transform(X).astype(np.float32).astype(np.float64)
    Xs[:, np.ptp(X, axis=0) == 0] = 0.0
    return Xs


def _synthetic(n_classes, seed=0, n=120, p=500, n_constant=10):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = rng.integers(0, n_classes, n)
    # a few informative columns so the ridge is not pure noise
    X[:, 20:30] += 0.8 * y[:, None]
    constant_cols = rng.choice(p, n_constant, replace=False)
    X[:, constant_cols] = rng.standard_normal(n_constant)
    return X, y, np.sort(constant_cols)


def _brute_force(X, y, sizes, seed, kind="max", split=None, alpha=None):
    """Independent reference: scale, split, RidgeClassifier refit at every size.

    ``split`` is ``(train rows, validation rows)``; by default the split of
    ``train_test_split`` seeded with ``seed``. ``alpha`` defaults to the brute-force
    leave-one-out choice on all rows.
    """
    Xs = _scaled(X)
    if alpha is None:
        alpha = _near_tie_alpha(ALPHAS, _brute_force_loo_scores(Xs, y, ALPHAS))
    if split is None:
        split = train_test_split(np.arange(len(y)), test_size=0.33, random_state=seed, stratify=y)
    idx_tr, idx_va = split
    active = np.arange(X.shape[1])
    importance = None
    supports, val_scores, train_scores, coefs = [], [], [], []
    for k, s in enumerate(sizes):
        if k > 0:
            order = np.argsort(-importance[active], kind="stable")
            active = np.sort(active[order[:s]])
        clf = RidgeClassifier(alpha=alpha).fit(Xs[idx_tr][:, active], y[idx_tr])
        supports.append(active.copy())
        train_scores.append(clf.score(Xs[idx_tr][:, active], y[idx_tr]))
        val_scores.append(clf.score(Xs[idx_va][:, active], y[idx_va]))
        coefs.append(np.atleast_2d(clf.coef_))
        importance = np.full(X.shape[1], np.nan)
        a = np.abs(np.atleast_2d(clf.coef_))
        importance[active] = a[0] if a.shape[0] == 1 else a.max(axis=0)
        importance[np.ptp(X, axis=0) == 0] = -1.0
    return alpha, supports, np.array(train_scores), np.array(val_scores), coefs


@pytest.mark.parametrize("n_classes", [2, 4])
def test_gram_path_equals_brute_force_refits(n_classes):
    X, y, constant_cols = _synthetic(n_classes)
    sfd = SequentialFeatureDetachment(random_state=3, store_training_features=True).fit(X, y)
    sizes = detachment_sizes(500)
    np.testing.assert_array_equal(sfd.sizes_, sizes)
    alpha, supports, train_scores, val_scores, coefs = _brute_force(X, y, sizes, 3)
    assert sfd.alpha_full_ == alpha
    # the first of the n_splits splits is train_test_split's, and its path is the model's
    np.testing.assert_array_equal(sfd.split_val_scores_[0], val_scores)
    np.testing.assert_array_equal(sfd.split_train_scores_[0], train_scores)
    P = X.shape[1]
    for k, s in enumerate(sizes):
        np.testing.assert_array_equal(np.sort(sfd.elimination_order_[P - s :]), supports[k])
    # coefficients of the down-dated Gram path at every step vs the brute-force refits
    from skrepgeom.time_series._ridge_path import _GramRidgePath

    n_train = len(y) - int(np.ceil(0.33 * len(y)))
    Y = LabelBinarizer(pos_label=1, neg_label=-1).fit_transform(sfd._y_perm).astype(float)
    path = _GramRidgePath(sfd._F, n_train, Y[:n_train], sfd.alpha_full_)
    path.recompute(supports[0])
    for k in range(len(sizes)):
        if k > 0:
            path.drop(np.setdiff1d(supports[k - 1], supports[k]), supports[k])
        coef, _, _ = path.fit(supports[k])
        scale = np.abs(coefs[k]).max()
        np.testing.assert_allclose(coef, coefs[k], rtol=1e-6, atol=1e-6 * scale)
    # final model at best step: same support, same ridge as a direct refit
    support = np.zeros(P, bool)
    support[supports[sfd.best_step_]] = True
    np.testing.assert_array_equal(sfd.support_, support)
    # constants are the first detached
    np.testing.assert_array_equal(np.sort(sfd.elimination_order_[:10]), constant_cols)
    assert sfd.n_constant_features_ == 10


@pytest.mark.parametrize("n_classes", [2, 4])
def test_gram_path_coefficients_match_ridge(n_classes):
    """Coefficients of the down-dated dual and of the primal solve, vs RidgeClassifier."""
    from skrepgeom.time_series._ridge_path import _GramRidgePath

    rng = np.random.default_rng(1)
    n_tr, n_va, P = 80, 40, 300
    F = rng.standard_normal((n_tr + n_va, P)).astype(np.float32)
    y = rng.integers(0, n_classes, n_tr + n_va)
    Y = LabelBinarizer(pos_label=1, neg_label=-1).fit_transform(y).astype(float)
    path = _GramRidgePath(np.asfortranarray(F), n_tr, Y[:n_tr], alpha=2.5)
    active = np.arange(P)
    path.recompute(active)
    for keep in (250, 200, 120, 60, 20):
        dropped = active[keep:]
        active = active[:keep]
        path.drop(dropped, active)
        coef, dec_tr, dec_va = path.fit(active)
        ref = RidgeClassifier(alpha=2.5).fit(F[:n_tr, active].astype(float), y[:n_tr])
        np.testing.assert_allclose(coef, np.atleast_2d(ref.coef_), rtol=1e-6, atol=1e-9)
        ref_dec = ref.decision_function(F[n_tr:, active].astype(float))
        np.testing.assert_allclose(dec_va, ref_dec.reshape(n_va, -1), rtol=1e-6, atol=1e-9)


def test_nested_supports_and_elimination_order():
    X, y, constant_cols = _synthetic(3, seed=5)
    sfd = SequentialFeatureDetachment(random_state=0).fit(X, y)
    order = sfd.elimination_order_
    assert order.dtype == np.int32
    assert np.array_equal(np.sort(order), np.arange(X.shape[1]))
    previous = None
    for k in range(len(sfd.sizes_)):
        support = set(sfd._step_support(k).nonzero()[0])
        assert len(support) == sfd.sizes_[k]
        if previous is not None:
            assert support <= previous
        previous = support
    assert set(order[:10]) == set(constant_cols)


def test_schedule_sizes():
    assert len(detachment_sizes(20_000)) == 146
    assert len(detachment_sizes(9_996)) == 138
    sizes = detachment_sizes(20_000)
    assert sizes[0] == 20_000 and np.all(np.diff(sizes) < 0) and sizes[-1] > 0


@pytest.mark.parametrize("n_classes", [2, 3])
def test_validation_curve_is_the_mean_over_splits(n_classes):
    """Each split's curve equals a brute-force refit loop on that split; the step is
    chosen on their mean, and the features are those of the first split's path."""
    X, y, _ = _synthetic(n_classes, seed=5, n=90, p=300)
    # coarse schedule (about 30 steps): the brute force refits every step of 3 splits
    sfd = SequentialFeatureDetachment(random_state=7, n_splits=3, drop_fraction=0.15).fit(X, y)
    sizes = detachment_sizes(300, drop_fraction=0.15)
    np.testing.assert_array_equal(sfd.sizes_, sizes)
    splits = list(
        StratifiedShuffleSplit(n_splits=3, test_size=0.33, random_state=7).split(X, y)
    )
    first = train_test_split(np.arange(len(y)), test_size=0.33, random_state=7, stratify=y)
    np.testing.assert_array_equal(splits[0][1], first[1])
    alpha = _brute_force(X, y, sizes[:1], None, split=splits[0])[0]
    assert sfd.alpha_full_ == alpha
    curves = [_brute_force(X, y, sizes, None, split=split, alpha=alpha) for split in splits]
    for r, (_, _, train_scores, val_scores, _) in enumerate(curves):
        np.testing.assert_array_equal(sfd.split_val_scores_[r], val_scores)
        np.testing.assert_array_equal(sfd.split_train_scores_[r], train_scores)
    mean = np.mean([curve[3] for curve in curves], axis=0)
    np.testing.assert_allclose(sfd.val_scores_, mean, rtol=1e-15)
    smooth = np.convolve(np.r_[0, mean / mean[0], 0], np.ones(3) / 3, mode="valid")
    expected_step = int(np.argmax(0.1 * (1 - sizes / sizes[0]) + smooth))
    assert sfd.best_step_ == expected_step
    support = np.zeros(X.shape[1], dtype=bool)
    support[curves[0][1][expected_step]] = True
    np.testing.assert_array_equal(sfd.support_, support)
    # one split is the single hold-out of the reference method
    single = SequentialFeatureDetachment(random_state=7, n_splits=1, drop_fraction=0.15)
    single.fit(X, y)
    np.testing.assert_array_equal(single.val_scores_, curves[0][3])


def test_selection_objective_zero_padded():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 200))
    y = (X[:, 0] > 0).astype(int)
    sfd = SequentialFeatureDetachment(random_state=0, trade_off=0.3, smoothing=5).fit(X, y)
    x = 1 - sfd.sizes_ / sfd.sizes_[0]
    rel = sfd.val_scores_ / sfd.val_scores_[0]
    padded = np.r_[0, 0, rel, 0, 0]
    smooth = np.array([padded[i : i + 5].mean() for i in range(len(rel))])
    np.testing.assert_allclose(sfd.objective_, 0.3 * x + smooth)
    assert sfd.best_step_ == int(np.argmax(0.3 * x + smooth))
    # the end steps are penalised by the zero padding
    assert sfd.objective_[-1] <= 0.3 * x[-1] + rel[-1] * 3 / 5 + 1e-12


def test_fixed_fraction_and_reselect():
    X, y, _ = _synthetic(2, seed=2)
    # one split: on this curve the most accurate size and the trade-off's differ
    sfd = SequentialFeatureDetachment(
        random_state=0, n_splits=1, fixed_fraction=1.0, store_training_features=True
    ).fit(X, y)
    assert sfd.best_step_ == 0 and sfd.n_features_selected_ == X.shape[1]
    sfd.reselect(trade_off=0)
    n0, step0 = sfd.n_features_selected_, sfd.best_step_
    sfd.reselect(trade_off=10)
    assert sfd.n_features_selected_ <= n0
    rel = np.convolve(sfd.val_scores_ / sfd.val_scores_[0], np.ones(3) / 3, mode="same")
    expected = int(np.argmax(10 * (1 - sfd.sizes_ / sfd.sizes_[0]) + rel))
    assert sfd.best_step_ == expected
    assert sfd.best_step_ != step0  # the curve demands a much smaller model
    sfd.reselect(fixed_fraction=0.5)
    ratio = sfd.sizes_ / sfd.sizes_[0]
    assert sfd.best_step_ == int(np.argmin(np.abs(ratio - 0.5)))
    # only the final ridge changes: the support is the top of the stored
    # elimination order, the ridge a refit on it with a penalty re-chosen by
    # leave-one-out (near-tie rule)
    P = X.shape[1]
    expected = np.zeros(P, dtype=bool)
    expected[sfd.elimination_order_[P - sfd.sizes_[sfd.best_step_] :]] = True
    np.testing.assert_array_equal(sfd.support_, expected)
    Xs = (X - X.mean(0)) / np.where(X.std(0) == 0, 1, X.std(0))
    Xs[:, np.ptp(X, axis=0) == 0] = 0
    alpha = _near_tie_alpha(ALPHAS, _brute_force_loo_scores(Xs[:, expected], y, ALPHAS))
    assert sfd.alpha_ == alpha
    ref = RidgeClassifier(alpha=alpha).fit(Xs[:, expected], y)
    np.testing.assert_allclose(sfd.estimator_.coef_, ref.coef_, rtol=1e-6, atol=1e-9)


def test_predict_uses_scaler_and_final_ridge():
    X, y, _ = _synthetic(2, seed=4)
    sfd = SequentialFeatureDetachment(random_state=0).fit(X, y)
    Xs = (X - X.mean(0)) / np.where(X.std(0) == 0, 1, X.std(0))
    Xs[:, np.ptp(X, axis=0) == 0] = 0
    ref = sfd.estimator_.decision_function(Xs[:, sfd.support_])
    np.testing.assert_allclose(sfd.decision_function(X), ref, rtol=1e-6, atol=1e-8)
    assert sfd.transform(X).shape == (X.shape[0], sfd.n_features_selected_)
    np.testing.assert_array_equal(sfd.transform(X), X[:, sfd.support_])
    # score is ClassifierMixin's accuracy of the final ridge's predictions
    X_new, y_new, _ = _synthetic(2, seed=14)
    Xs_new = (X_new - X.mean(0)) / np.where(X.std(0) == 0, 1, X.std(0))
    Xs_new[:, np.ptp(X, axis=0) == 0] = 0
    expected = np.mean(sfd.estimator_.predict(Xs_new[:, sfd.support_]) == y_new)
    assert sfd.score(X_new, y_new) == pytest.approx(expected)
    assert "score" not in vars(SequentialFeatureDetachment)


def test_official_compat_flaws():
    X, y, _ = _synthetic(2, seed=6)
    off = SequentialFeatureDetachment(
        official_compat=True, random_state=123, store_training_features=True
    ).fit(X, y)
    ref = SequentialFeatureDetachment(official_compat=True, random_state=0).fit(X, y)
    # (d)/(split): the split is seeded with 42 whatever random_state says
    np.testing.assert_array_equal(off.val_scores_, ref.val_scores_)
    # one hold-out path, as the reference: the default n_splits=5 is ignored
    assert off.n_splits == 5 and off.split_val_scores_.shape == (1, off.sizes_.shape[0])
    # (a): final mask is the step before the scored one
    assert off.best_step_ > 0
    assert off.n_features_selected_ == off.sizes_[off.best_step_ - 1]
    # (c): reselect ignores trade_off
    before = off.best_step_
    off.reselect(trade_off=100.0)
    assert off.best_step_ == before


def test_official_compat_reproduces_reference_loop():
    """The compat path is the reference loop (argsort of importance, zeros for detached)."""
    X, y, _ = _synthetic(2, seed=7, n=90, p=120, n_constant=0)
    off = SequentialFeatureDetachment(official_compat=True).fit(X.astype(np.float32), y)
    scaler = StandardScaler().fit(X.astype(np.float32))
    Xs = scaler.transform(X.astype(np.float32))
    full = RidgeClassifierCV(alphas=np.logspace(-10, 10, 20)).fit(Xs, y)
    Xtr, Xva, ytr, yva = train_test_split(Xs, y, test_size=0.33, random_state=42, stratify=y)
    clf = RidgeClassifier(alpha=full.alpha_)
    imp = np.abs(np.atleast_2d(full.coef_))[0]
    vals = []
    for s in detachment_sizes(120):
        sel = np.argsort(imp)[120 - s :]
        mask = np.zeros(120, bool)
        mask[sel] = True
        clf.fit(Xtr[:, mask], ytr)
        vals.append(clf.score(Xva[:, mask], yva))
        imp = imp.copy()
        imp[~mask] = 0
        imp[mask] = np.abs(np.atleast_2d(clf.coef_))[0]
    np.testing.assert_array_equal(off.val_scores_, vals)


@pytest.mark.parametrize(
    "params",
    [
        dict(drop_fraction=0.0),
        dict(drop_fraction=1.0),
        dict(trade_off=-0.1),
        dict(smoothing=2),
        dict(smoothing=0),
        dict(fixed_fraction=0.0),
        dict(fixed_fraction=1.5),
    ],
)
def test_invalid_parameters(params):
    X, y, _ = _synthetic(2, n=40, p=30, n_constant=0)
    with pytest.raises(InvalidParameterError):
        SequentialFeatureDetachment(**params).fit(X, y)


def test_bad_inputs():
    X, y, _ = _synthetic(2, n=40, p=30, n_constant=0)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SequentialFeatureDetachment().fit(X_nan, y)
    y_single = y.copy()
    y_single[:] = 0
    y_single[0] = 1
    with pytest.raises(ValueError, match="validation_fraction"):
        SequentialFeatureDetachment().fit(X, y_single)
    with pytest.raises(ValueError, match="validation_fraction"):
        SequentialFeatureDetachment(validation_fraction=0.01).fit(X, y)
    with pytest.raises(ValueError, match="constant"):
        SequentialFeatureDetachment().fit(np.ones_like(X), y)


def test_ecosystem_pipeline_grid_clone_pickle():
    X, y, _ = _synthetic(2, seed=8, n=90, p=120, n_constant=0)
    y_str = np.array(["neg", "pos"])[y]
    pipe = make_pipeline(FunctionTransformer(), SequentialFeatureDetachment(random_state=0))
    pipe.fit(X, y_str)
    assert set(pipe.predict(X)) <= {"neg", "pos"}
    grid = GridSearchCV(
        SequentialFeatureDetachment(random_state=0),
        {"trade_off": [0.0, 0.5], "drop_fraction": [0.1, 0.3]},
        cv=2,
    ).fit(X, y_str)
    # a classifier to scikit-learn: the integer cv is stratified, and the grid's
    # scores are the accuracies of stratified folds computed here by hand
    assert is_classifier(SequentialFeatureDetachment())
    folds = StratifiedKFold(n_splits=2)
    for params, mean_score in zip(grid.cv_results_["params"], grid.cv_results_["mean_test_score"]):
        estimator = SequentialFeatureDetachment(random_state=0, **params)
        manual = cross_val_score(estimator, X, y_str, cv=folds, scoring="accuracy")
        assert mean_score == pytest.approx(manual.mean())
    sfd = clone(SequentialFeatureDetachment(random_state=0)).fit(X, y_str)
    again = pickle.loads(pickle.dumps(sfd))
    np.testing.assert_array_equal(again.predict(X), sfd.predict(X))
    np.testing.assert_array_equal(again.decision_function(X), sfd.decision_function(X))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_full_model_equals_brute_force_leave_one_out(n_classes):
    from skrepgeom.time_series._ridge_path import fit_full_ridge

    rng = np.random.default_rng(n_classes)
    F = np.asfortranarray(rng.standard_normal((60, 400)).astype(np.float32))
    y = rng.integers(0, n_classes, 60)
    F[:, :5] += y[:, None]
    ours, _, _ = fit_full_ridge(F, y, ALPHAS)
    scores = _brute_force_loo_scores(F.astype(np.float64), y, ALPHAS)
    assert ours.alpha_ == _near_tie_alpha(ALPHAS, scores)
    # the score of the chosen penalty (a near-tie of the maximum, not always it)
    np.testing.assert_allclose(ours.best_score_, scores[ALPHAS == ours.alpha_][0], rtol=1e-9)
    ref = RidgeClassifier(alpha=ours.alpha_).fit(F.astype(np.float64), y)
    # coefficients kept in the float32 of the features: equal to float32 rounding
    assert ours.coef_.dtype == np.float32
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    # float32 decisions: a 400-term float32 dot product, rounding ~ 400 * 6e-8
    np.testing.assert_allclose(ours.decision_function(F), ref.decision_function(F), atol=3e-5)
    np.testing.assert_array_equal(ours.predict(F), ref.predict(F))


def _flat_curve_case():
    """The 2-class synthetic: n < P, the LOO curve is flat over many small alphas."""
    X, y, _ = _synthetic(2)
    return X, y


def _clear_minimum_case():
    """Few informative columns in heavy noise, n > P/2: one clearly best penalty."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((150, 200))
    y = (X[:, :3].sum(axis=1) + 1.5 * rng.standard_normal(150) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("case", [_flat_curve_case, _clear_minimum_case], ids=["flat", "minimum"])
def test_alpha_full_near_tie_rule_is_thread_independent(case):
    """alpha_full_ follows the documented near-tie rule on a brute-force LOO curve, and
    neither it nor the selected support changes between 1 and 2 BLAS threads."""
    X, y = case()
    scores = _brute_force_loo_scores(_scaled(X), y, ALPHAS)
    best = scores.max()
    n_tied = int(np.sum(scores >= best - max(1e-6 * abs(best), 1e-12)))
    if case is _flat_curve_case:
        assert n_tied >= 3  # a flat curve: the rule, not the first maximum, decides
    else:
        assert n_tied == 1 and 1e-4 < ALPHAS[np.argmax(scores)] < 1e4
    expected = _near_tie_alpha(ALPHAS, scores)
    fits = {}
    for n_threads in (1, 2):
        with threadpool_limits(limits=n_threads, user_api="blas"):
            fits[n_threads] = SequentialFeatureDetachment(random_state=3, n_jobs=n_threads).fit(X, y)
        assert fits[n_threads].alpha_full_ == expected
    np.testing.assert_array_equal(fits[1].support_, fits[2].support_)
    np.testing.assert_array_equal(fits[1].val_scores_, fits[2].val_scores_)
    assert fits[1].alpha_ == fits[2].alpha_


def test_choose_alpha_rule():
    from skrepgeom.time_series._ridge_path import choose_alpha

    alphas = np.array([1e-3, 1e-2, 1e-1, 1.0])
    # within a relative 1e-6 of the best: the largest such alpha, whatever the order
    assert choose_alpha(alphas, [-1.0, -1.0 - 5e-7, -1.0 + 1e-9, -1.1]) == (1e-1, 2)
    assert choose_alpha(alphas[::-1], [-1.1, -1.0 + 1e-9, -1.0 - 5e-7, -1.0]) == (1e-1, 1)
    # just outside the relative tolerance: not tied
    assert choose_alpha(alphas, [-1.0, -1.0 - 2e-6, -1.5, -1.5]) == (1e-3, 0)
    # a best score of 0: the absolute 1e-12 applies
    assert choose_alpha(alphas, [0.0, -5e-13, -2e-12, -1.0]) == (1e-2, 1)


@pytest.mark.parametrize("alpha", [1e-10, 1e-3, 1.0, 100.0])
def test_full_model_single_alpha_matches_the_eigen_path(alpha):
    """One penalty goes through a Cholesky inverse: same LOO score and coef as eigh."""
    from skrepgeom.time_series._ridge_path import fit_full_ridge

    rng = np.random.default_rng(7)
    F = np.asfortranarray(rng.standard_normal((50, 300)).astype(np.float32))
    y = rng.integers(0, 3, 50)
    F[:, :4] += y[:, None]
    single, _, _ = fit_full_ridge(F, y, [alpha])
    # the same penalty twice takes the eigendecomposition path
    pair, _, _ = fit_full_ridge(F, y, [alpha, alpha])
    assert single.alpha_ == pair.alpha_ == alpha
    np.testing.assert_allclose(single.best_score_, pair.best_score_, rtol=1e-8)
    np.testing.assert_allclose(single.coef_, pair.coef_, rtol=1e-7, atol=1e-10)
    ref = RidgeClassifier(alpha=alpha).fit(F.astype(np.float64), y)
    np.testing.assert_allclose(single.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    # LOO score against leave-one-out refits done by brute force
    brute = _brute_force_loo_scores(F.astype(np.float64), y, [alpha])[0]
    np.testing.assert_allclose(single.best_score_, brute, rtol=1e-9)


def test_full_model_single_alpha_falls_back_to_eigh(monkeypatch):
    from scipy import linalg

    from skrepgeom.time_series._ridge_path import fit_full_ridge

    rng = np.random.default_rng(8)
    F = np.asfortranarray(rng.standard_normal((40, 200)).astype(np.float32))
    y = rng.integers(0, 2, 40)
    expected, _, _ = fit_full_ridge(F, y, [0.5, 0.5])
    monkeypatch.setattr(linalg.lapack, "dpotrf", lambda a, **k: (a, 1))  # "not PD"
    fallback, _, _ = fit_full_ridge(F, y, [0.5])
    np.testing.assert_allclose(fallback.best_score_, expected.best_score_, rtol=1e-12)
    np.testing.assert_allclose(fallback.coef_, expected.coef_, rtol=1e-12)


@pytest.mark.parametrize("alphas", [[-1.0, 1.0], [0.0], [np.inf], []])
def test_non_positive_alphas_are_refused(alphas):
    X, y, _ = _synthetic(2, n=40, p=30, n_constant=0)
    with pytest.raises(InvalidParameterError, match="alphas.*positive"):
        SequentialFeatureDetachment(alphas=alphas).fit(X, y)


def test_centered_coef_kernel_against_numpy():
    from skrepgeom.time_series._kernels import centered_coef

    rng = np.random.default_rng(0)
    F = np.asfortranarray(rng.standard_normal((30, 50)).astype(np.float32))
    mu = rng.standard_normal(50)
    c = rng.standard_normal((20, 3))
    cols = np.array([0, 7, 8, 49])
    expected = ((F[:20, cols].astype(np.float64) - mu[cols]).T @ c).T
    coef, decisions = centered_coef(F, 20, mu, c, cols)
    np.testing.assert_allclose(coef, expected, rtol=1e-12)
    expected_decisions = (F[20:, cols].astype(np.float64) - mu[cols]) @ expected.T
    assert decisions.shape == (10, 3)
    np.testing.assert_allclose(decisions, expected_decisions, rtol=1e-12)
    coef_all_rows, no_rows = centered_coef(F, 30, mu, c[:, :1].repeat(2, 0)[:30], cols)
    assert no_rows.shape == (0, 1)
    np.testing.assert_allclose(
        coef_all_rows,
        ((F[:, cols].astype(np.float64) - mu[cols]).T @ c[:, :1].repeat(2, 0)[:30]).T,
        rtol=1e-12,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scale_rows_into_kernel_against_numpy(dtype):
    from skrepgeom.time_series._kernels import scale_rows_into

    rng = np.random.default_rng(1)
    X = rng.standard_normal((13, 600)).astype(dtype)
    rows = rng.permutation(13)
    mean = rng.standard_normal(600).astype(dtype)
    scale = rng.uniform(0.5, 2.0, 600).astype(dtype)
    F = np.empty((13, 600), dtype=np.float32, order="F")
    scale_rows_into(X, rows, mean, scale, F)
    np.testing.assert_array_equal(F, ((X[rows] - mean) / scale).astype(np.float32))


def test_training_features_are_stored_only_on_request():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 600))
    y = (X[:, 0] + 0.1 * rng.normal(size=90) > 0).astype(int)
    kept = SequentialFeatureDetachment(random_state=0, store_training_features=True).fit(X, y)
    default = SequentialFeatureDetachment(random_state=0).fit(X, y)
    np.testing.assert_array_equal(default.predict(X), kept.predict(X))
    # the stored float32 copy of the features is the whole difference in size
    size_kept, size_default = len(pickle.dumps(kept)), len(pickle.dumps(default))
    assert size_kept - size_default >= X.size * 4
    assert size_default < X.nbytes / 2
    with pytest.raises(ValueError, match="store_training_features=True"):
        default.reselect(trade_off=1.0)
    kept.reselect(trade_off=1.0)
    before = kept.predict(X)
    kept.discard_training_features()
    np.testing.assert_array_equal(kept.predict(X), before)
    assert len(pickle.dumps(kept)) <= size_default + 1000
    with pytest.raises(ValueError, match="discard_training_features"):
        kept.reselect(trade_off=1.0)


def test_alpha_full_with_more_rows_than_features():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 40))
    y = (X[:, :3].sum(axis=1) + 0.5 * rng.normal(size=300) > 0).astype(int)
    sfd = SequentialFeatureDetachment(random_state=0).fit(X, y)
    expected = _near_tie_alpha(ALPHAS, _brute_force_loo_scores(_scaled(X), y, ALPHAS))
    assert sfd.alpha_full_ == expected
    assert sfd.n_features_in_ == 40


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fitted_scaler_equals_standard_scaler(dtype):
    from sklearn.preprocessing import StandardScaler

    from skrepgeom.time_series._kernels import column_moments
    from skrepgeom.time_series._sfd import _fitted_scaler

    rng = np.random.default_rng(2)
    X = (rng.standard_normal((40, 30)) * rng.uniform(0.1, 100, 30) + 50).astype(dtype)
    X[:, 3] = 7.25  # exactly constant
    X[:, 4] = 1e6
    if dtype == np.float64:
        # varies, but within the rounding bound of a constant: scale 1, not constant
        X[::2, 4] = 1e6 + 1e-10
    ours, constant = _fitted_scaler(X)
    ref = StandardScaler().fit(X)
    # float64 moments, stored in X's precision
    assert ours.mean_.dtype == ours.scale_.dtype == ours.var_.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-7
    np.testing.assert_allclose(ours.mean_, ref.mean_, rtol=rtol)
    np.testing.assert_allclose(ours.var_, ref.var_, rtol=max(rtol, 1e-9), atol=1e-12)
    np.testing.assert_array_equal(ours.scale_ == 1.0, ref.scale_ == 1.0)
    np.testing.assert_allclose(ours.scale_, ref.scale_, rtol=max(rtol, 1e-9))
    np.testing.assert_array_equal(constant, np.ptp(X, axis=0) == 0)
    if dtype == np.float64:
        assert ours.scale_[4] == 1.0 and not constant[4]
    # the kernel alone against NumPy's two-pass float64 moments
    mean, var, _ = column_moments(X)
    np.testing.assert_allclose(mean, X.astype(np.float64).mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(var, X.astype(np.float64).var(axis=0), rtol=1e-10, atol=1e-14)


def _centred_gram(rng, n, p, spectrum=None):
    A = rng.standard_normal((n, p))
    if spectrum is not None:
        A = A * spectrum
    A -= A.mean(axis=0)
    return A @ A.T


def _counting_solve(monkeypatch):
    from skrepgeom.time_series import _ridge_path

    called = []
    original = _ridge_path.linalg.solve
    monkeypatch.setattr(
        _ridge_path.linalg, "solve", lambda *a, **k: called.append(1) or original(*a, **k)
    )
    return called, original


@pytest.mark.parametrize("alpha", [1.0, 1e-2, 1e-10])
def test_mixed_precision_solve_of_centred_systems(monkeypatch, alpha):
    """float32 factor + float64 refinement: float64 accuracy, no fallback, even at a
    tiny alpha (the all-ones direction, which makes the plain system singular to
    working precision, is shifted away)."""
    from skrepgeom.time_series import _ridge_path

    rng = np.random.default_rng(4)
    K = _centred_gram(rng, 60, 400)
    rhs = rng.standard_normal((60, 3))
    rhs -= rhs.mean(axis=0)
    called, original = _counting_solve(monkeypatch)
    x = _ridge_path._solve_centred_ridge(K, alpha, rhs)
    assert called == []
    expected = original(K + 1.0 + alpha * np.eye(60), rhs, assume_a="pos")
    np.testing.assert_allclose(x, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())
    # and it solves the unshifted ridge system
    np.testing.assert_allclose(K @ x + alpha * x, rhs, atol=1e-9 * np.abs(rhs).max())


def test_mixed_precision_solve_falls_back_to_float64(monkeypatch):
    from scipy import linalg

    from skrepgeom.time_series import _ridge_path

    rng = np.random.default_rng(5)
    n, alpha = 60, 1e-12
    rhs = rng.standard_normal((n, 2))
    rhs -= rhs.mean(axis=0)
    basis = rng.standard_normal((n, n - 1))
    basis -= basis.mean(axis=0)
    Q, _ = np.linalg.qr(basis)  # orthonormal and orthogonal to all-ones: K 1 = 0
    called, original = _counting_solve(monkeypatch)
    for top, float32_factor_works in ((-6.5, True), (-9.0, False)):
        # condition number 10**-top: beyond float32 refinement, factorable or not
        K = (Q * np.logspace(0, top, n - 1)) @ Q.T
        shifted = np.array(K + 1.0, dtype=np.float32, order="F")
        shifted.flat[:: n + 1] += np.float32(alpha)
        assert (linalg.lapack.spotrf(shifted)[1] == 0) == float32_factor_works
        called.clear()
        x = _ridge_path._solve_centred_ridge(K, alpha, rhs)
        assert called == [1]
        expected = original(K + 1.0 + alpha * np.eye(n), rhs, assume_a="pos")
        np.testing.assert_array_equal(x, expected)
    # no refinement allowed: straight to float64
    called.clear()
    _ridge_path._solve_centred_ridge(_centred_gram(rng, n, 400), 1.0, rhs, max_refinements=0)
    assert called == [1]
