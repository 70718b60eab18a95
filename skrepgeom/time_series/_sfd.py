"""Sequential Feature Detachment (Uribarri et al., DMKD 2024)."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.feature_selection import SelectorMixin
from sklearn.linear_model import RidgeClassifier, RidgeClassifierCV
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.preprocessing import LabelBinarizer, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skrepgeom.time_series._kernels import centered_coef, column_moments, scale_rows_into
from skrepgeom.time_series._parameters import (
    document_parameters,
    keyword_init,
    selector_constraints,
    selector_parameters,
)
from skrepgeom.time_series._ridge_path import _GramRidgePath, fit_full_ridge, loo_alpha
from skrepgeom.utils._parallel import blas_threads, check_n_jobs, effective_n_threads
from skrepgeom.utils._progress import compilation_notice
from skrepgeom.utils._validation import FLOAT_DTYPES

__all__ = ["SequentialFeatureDetachment"]

_DEFAULT_ALPHAS = (-10.0, 10.0, 20)
_OFFICIAL_SPLIT_SEED = 42
_SMALL_GRAM = 256


def _checked_alphas(alphas):
    """The penalties as a float64 array; ``None`` gives the default grid."""
    if alphas is None:
        return np.logspace(*_DEFAULT_ALPHAS)
    values = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if values.ndim != 1 or values.shape[0] == 0 or not np.all(np.isfinite(values) & (values > 0)):
        raise InvalidParameterError(
            "The 'alphas' parameter must be a non-empty 1-D array of positive finite "
            f"penalties, got alphas={alphas!r}."
        )
    return values


def detachment_sizes(n_features, drop_fraction=0.05, max_steps=150):
    """Feature counts of the SFD schedule, largest first.

    ``unique(int(P * (1 - drop_fraction) ** k))`` for ``k = 0 .. max_steps - 1``,
    in descending order and keeping only positive sizes; step 0 is the full set.

    Parameters
    ----------
    n_features : int
        Number of features ``P``.
    drop_fraction : float, default=0.05
        Fraction dropped at each step.
    max_steps : int, default=150
        Number of powers of ``1 - drop_fraction`` tried.

    Returns
    -------
    sizes : ndarray of shape (n_steps,), dtype=int64

    Examples
    --------
    >>> from skrepgeom.time_series._sfd import detachment_sizes
    >>> len(detachment_sizes(20_000)), len(detachment_sizes(9_996))
    (146, 138)
    """
    keep = np.power(1.0 - drop_fraction, np.arange(max_steps))
    sizes = np.unique((keep * n_features).astype(np.int64))[::-1]
    return np.ascontiguousarray(sizes[sizes > 0])


def _fitted_scaler(X):
    """``StandardScaler().fit(X)`` from one Numba pass, and the exactly constant columns.

    Same numbers as scikit-learn (float64 moments; scale 1 where the variance is
    within rounding of 0, scikit-learn's rule) without its float64 copy of X, then
    stored in X's precision: float32 features are scaled in float32, and a fitted
    model over 20,000 ROCKET features stays small. ``X`` should be C-ordered (else it
    is copied).
    """
    X = np.ascontiguousarray(X)
    mean, var, constant = column_moments(X)
    n = X.shape[0]
    eps = np.finfo(np.float64).eps
    near_zero = var <= n * eps * var + (n * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[near_zero] = 1.0
    scaler = StandardScaler()
    scaler.mean_, scaler.var_, scaler.scale_ = (a.astype(X.dtype) for a in (mean, var, scale))
    scaler.n_features_in_ = X.shape[1]
    scaler.n_samples_seen_ = n
    return scaler, constant


def _importance(coef, kind):
    """|coef| per feature; ``coef`` has shape (n_targets, n_features)."""
    if coef.shape[0] == 1:
        return np.abs(coef[0])
    if kind == "max":
        return np.max(np.abs(coef), axis=0)
    if kind == "norm":
        return np.sqrt(np.sum(coef * coef, axis=0))
    return np.sum(np.abs(coef), axis=0)


def _decision_to_index(decision):
    if decision.shape[1] == 1:
        return (decision[:, 0] > 0).astype(np.intp)
    return np.argmax(decision, axis=1)


def check_odd_smoothing(estimator):
    """Refuse an even ``smoothing`` (a centred moving average needs an odd width).

    Called at the top of every ``fit`` that takes it, before any transform runs.
    """
    if estimator.smoothing % 2 == 0:
        from sklearn.utils._param_validation import InvalidParameterError

        raise InvalidParameterError(
            f"The 'smoothing' parameter of {type(estimator).__name__} must be an odd int "
            f">= 1, got smoothing={estimator.smoothing}."
        )


def select_step(sizes, val_scores, *, trade_off=0.1, smoothing=3, fixed_fraction=None):
    """Step chosen from an SFD curve (objective of point 7 of the method).

    Returns ``(best_step, objective)``; ``objective`` is ``trade_off * x + y~`` with
    ``x = 1 - s/P`` and ``y~`` the zero-padded moving average (width ``smoothing``)
    of ``val_scores / val_scores[0]``. ``fixed_fraction`` picks the step whose
    ``s/P`` is closest to it instead.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    fraction = sizes / sizes[0]
    reference = val_scores[0] if val_scores[0] > 0 else 1.0
    relative = np.asarray(val_scores, dtype=np.float64) / reference
    # Zero-padded moving average (numpy's mode="same", also for curves shorter
    # than the window), so the end steps are penalised.
    half = smoothing // 2
    padded = np.concatenate([np.zeros(half), relative, np.zeros(half)])
    smoothed = np.convolve(padded, np.ones(smoothing) / smoothing, mode="valid")
    objective = trade_off * (1.0 - fraction) + smoothed
    if fixed_fraction is not None:
        return int(np.argmin(np.abs(fraction - fixed_fraction))), objective
    return int(np.argmax(objective)), objective


@document_parameters()
class SequentialFeatureDetachment(ClassifierMixin, SelectorMixin, BaseEstimator):
    """Sequential Feature Detachment: prune a linear classifier's features.

    A ridge classifier is fitted on a training split, the ``drop_fraction`` of the
    still-active features with the smallest ``|coef|`` is detached, the ridge is
    refitted on the rest, and so on along a geometric schedule of sizes. Every
    size is scored on a validation split and the size with the best trade-off
    between relative validation accuracy and the fraction of features dropped is
    kept (Uribarri et al., DMKD 2024). Works on any ``(n_samples, n_features)``
    matrix, e.g. ROCKET features.

    Where this differs from the reference method: the validation accuracy of each
    size is the mean over ``n_splits`` stratified splits (each with its own
    detachment path), not one hold-out. With few training rows one hold-out decides
    the chosen size by a row or two (12 validation rows move the relative accuracy in
    steps of 0.083, comparable to the whole size term of the objective); the mean
    curve does not. The selected features are still those of the first split's path,
    the trade-off keeps its meaning, and ``n_splits=1`` is the single hold-out.

    All refits share the rows and the ridge penalty ``alpha_full_``, so they are
    done on one Gram matrix of the training split that is down-dated as columns
    leave (see the :ref:`User Guide <time_series>`).

    Parameters
    ----------
    {selector_parameters}
    random_state : int, RandomState instance or None, default=None
        Seed of the validation splits.
    n_jobs : int, default=None
        BLAS threads of the fit (Gram matrices, factorisations), by the rule of the
        :ref:`parallelism` rule; ``-1`` means all cores. ``None`` keeps
        the BLAS default, except that the detachment path runs on one BLAS thread
        while the training split has fewer than 256 rows: its Gram matrices are then
        too small for threads to pay off (``asv_bench/compare/time_series.py``, case e).
    verbose : int, default=0
        Progress bar (tqdm) over the SFD steps when positive; with the first fit of
        a process also says when the Numba kernels are being compiled.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string column names.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    scaler_ : StandardScaler
        Scaler fitted on all training rows (float64 moments, stored in the
        precision of ``X``).
    alpha_full_ : float
        Penalty chosen by leave-one-out on all features; used by every SFD step.
        Among near-tied leave-one-out scores (within a relative 1e-6 or an absolute
        1e-12 of the best) the largest penalty is taken; ``RidgeClassifierCV`` takes
        the first best instead, which on flat curves depends on rounding.
    full_estimator_ : RidgeClassifier
        Ridge on all (scaled) features and all training rows; its coefficients
        are stored in float32, the precision of the scaled features.
    sizes_ : ndarray of shape (n_steps,)
        Number of active features at each step.
    train_scores_ : ndarray of shape (n_steps,)
        Accuracy on the training split at each step, mean over the splits.
    val_scores_ : ndarray of shape (n_steps,)
        Accuracy on the validation split at each step, mean over the splits; the
        curve the step is chosen from.
    split_train_scores_ : ndarray of shape (n_splits, n_steps)
        Accuracy on the training rows of each split at each step of its own path
        (one row with ``official_compat=True``).
    split_val_scores_ : ndarray of shape (n_splits, n_steps)
        Accuracy on the validation rows of each split at each step of its own path.
    objective_ : ndarray of shape (n_steps,)
        Trade-off objective maximised to choose the step.
    best_step_ : int
        Chosen step.
    support_ : ndarray of shape (n_features,), dtype=bool
        Selected features.
    n_features_selected_ : int
        Number of selected features.
    elimination_order_ : ndarray of shape (n_features,), dtype=int32
        Feature indices in detachment order along the first split's path, the last
        the most important: the support of step ``k`` is
        ``elimination_order_[-sizes_[k]:]``.
    n_constant_features_ : int
        Constant training columns, detached first.
    alpha_ : float
        Penalty of the final ridge (same leave-one-out rule as ``alpha_full_``).
    estimator_ : RidgeClassifier
        Final ridge on the selected (scaled) features and all training rows.

    See Also
    --------
    DetachRocketClassifier : ROCKET-family transform followed by this selector.

    References
    ----------
    .. [1] G. Uribarri, F. Barone, A. Ansuini, E. Fransén, "Detach-ROCKET:
       sequential feature selection for time series classification with random
       convolutional kernels", Data Mining and Knowledge Discovery 38 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.time_series import SequentialFeatureDetachment
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 300))
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> sfd = SequentialFeatureDetachment(random_state=0).fit(X, y)
    >>> bool(sfd.support_[0] and sfd.support_[1])
    True
    >>> sfd.n_features_selected_ < 300
    True
    """

    _parameter_constraints: dict = {
        **selector_constraints(),
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    __init__ = keyword_init(
        "SequentialFeatureDetachment",
        {**selector_parameters(), "random_state": None, "n_jobs": None, "verbose": 0},
    )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Run the detachment path and fit the final ridge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : SequentialFeatureDetachment
            Fitted selector.
        """
        X, y = validate_data(
            self, X, y, dtype=FLOAT_DTYPES, ensure_all_finite=True, ensure_min_samples=2
        )
        check_classification_targets(y)
        check_n_jobs(self.n_jobs)
        return self._fit_features(X, y)

    # -- core ---------------------------------------------------------------------

    def _splits(self, y_index, n_classes):
        """``[(train, validation), ...]``: ``n_splits`` stratified splits.

        The first is the split ``train_test_split(stratify=y)`` would give with the same
        seed (a single hold-out, the reference method's); with ``official_compat`` it is
        the only one and its seed is 42.
        """
        n = y_index.shape[0]
        counts = np.bincount(y_index, minlength=n_classes)
        if counts.min() < 2:
            raise ValueError(
                f"The least populated class has {counts.min()} member(s); the stratified "
                f"validation split (validation_fraction={self.validation_fraction}) needs at "
                "least 2 members in every class."
            )
        n_val = int(np.ceil(self.validation_fraction * n))
        n_train = n - n_val
        if n_val < n_classes or n_train < n_classes:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} splits n_samples={n} into "
                f"{n_train} training and {n_val} validation rows; both need at least "
                f"n_classes={n_classes} rows. Use more samples or change validation_fraction."
            )
        if self.official_compat:
            seed, n_splits = _OFFICIAL_SPLIT_SEED, 1
        else:
            seed, n_splits = self.random_state, self.n_splits
        splitter = StratifiedShuffleSplit(
            n_splits=n_splits, test_size=self.validation_fraction, random_state=seed
        )
        return list(splitter.split(np.zeros((n, 1)), y_index))

    def _fit_features(self, X, y):
        """Fit on a validated feature matrix (shared with DetachRocketClassifier)."""
        check_odd_smoothing(self)
        alphas = _checked_alphas(self.alphas)
        compilation_notice(self.verbose, column_moments, scale_rows_into, centered_coef)
        self.n_features_in_ = X.shape[1]
        binarizer = LabelBinarizer(pos_label=1, neg_label=-1)
        Y_all = binarizer.fit_transform(y).astype(np.float64)
        self.classes_ = binarizer.classes_
        if self.classes_.shape[0] < 2:
            raise ValueError(
                f"SequentialFeatureDetachment needs at least 2 classes; got 1 class "
                f"({self.classes_[0]!r})."
            )
        y_index = np.searchsorted(self.classes_, y)
        n, P = X.shape
        splits = self._splits(y_index, self.classes_.shape[0])
        train, val = splits[0]

        # One C-ordered copy at most (transformer outputs are often Fortran-ordered);
        # both kernels below read rows.
        X = np.ascontiguousarray(X)
        self.scaler_, constant = _fitted_scaler(X)
        self.n_constant_features_ = int(constant.sum())
        if self.n_constant_features_ == P:
            raise ValueError(f"All {P} feature columns are constant on the training rows.")

        # Scaled float32 features, rows ordered (train split, validation split).
        perm = np.concatenate([train, val])
        F = np.empty((n, P), dtype=np.float32, order="F")
        scale_rows_into(X, perm, self.scaler_.mean_, self.scaler_.scale_, F)
        self._constant = constant
        if not self.official_compat:
            F[:, constant] = 0.0
        y_perm = y_index[perm]
        n_train = train.shape[0]

        with self._blas_scope(n_train):
            if self.official_compat:
                self.full_estimator_ = RidgeClassifierCV(alphas=alphas).fit(
                    F, self.classes_[y_perm]
                )
                G = None
            else:
                self.full_estimator_, G, _ = fit_full_ridge(F, self.classes_[y_perm], alphas)
            self.alpha_full_ = float(self.full_estimator_.alpha_)
            sizes = detachment_sizes(P, self.drop_fraction, self.max_steps)
            if self.official_compat:
                path = self._official_path(F, y_perm, n_train, sizes)
            else:
                path = self._gram_path(F, Y_all[perm], y_perm, n_train, sizes, constant, G)
            self.sizes_, self.elimination_order_, self._step_masks = path[0], path[3], path[4]
            scores = [path[1:3]]
            for other in splits[1:]:
                scores.append(self._split_scores(X, other, Y_all, y_index, sizes, G, perm))
            self.split_train_scores_ = np.array([train_scores for train_scores, _ in scores])
            self.split_val_scores_ = np.array([val_scores for _, val_scores in scores])
            self.train_scores_ = self.split_train_scores_.mean(axis=0)
            self.val_scores_ = self.split_val_scores_.mean(axis=0)
            self._F, self._y_perm = F, y_perm
            self._select_and_refit(self.trade_off, self.fixed_fraction, alphas)
        if not self.store_training_features:
            self._F = self._y_perm = None
        return self

    def _split_scores(self, X, split, Y_all, y_index, sizes, G, perm):
        """Train and validation accuracy curves of the detachment path of another split.

        The features are scaled into a new array with the rows in this split's order,
        and the Gram matrix of all rows (rows in ``perm`` order) is permuted to match.
        """
        order = np.concatenate(split)
        F = np.empty((X.shape[0], X.shape[1]), dtype=np.float32, order="F")
        scale_rows_into(X, order, self.scaler_.mean_, self.scaler_.scale_, F)
        F[:, self._constant] = 0.0
        position = np.empty_like(perm)
        position[perm] = np.arange(perm.shape[0])
        G_split = G[np.ix_(position[order], position[order])]
        path = self._gram_path(
            F, Y_all[order], y_index[order], split[0].shape[0], sizes, self._constant, G_split
        )
        return path[1], path[2]

    def _blas_scope(self, n_train):
        n_threads = effective_n_threads(self.n_jobs)
        if n_threads is None and n_train < _SMALL_GRAM:
            # Documented heuristic under n_jobs=None: threaded BLAS only pays off on
            # large Gram matrices; on small ones its spinning threads cost more.
            n_threads = 1
        return blas_threads(n_threads)

    def _progress(self, iterable, total):
        if self.verbose:
            from tqdm.auto import tqdm

            return tqdm(iterable, total=total, desc="SFD steps")
        return iterable

    def _gram_path(self, F, Y, y_index, n_train, sizes, constant, G):
        n_steps = sizes.shape[0]
        P = F.shape[1]
        y_tr, y_va = y_index[:n_train], y_index[n_train:]
        ridge = _GramRidgePath(F, n_train, Y[:n_train], self.alpha_full_)
        active = np.arange(P)
        if P >= n_train:
            ridge.from_full_gram(G, P)
        importance = np.empty(P)
        eliminated = []
        train_scores = np.empty(n_steps)
        val_scores = np.empty(n_steps)
        for k in self._progress(range(n_steps), n_steps):
            if k > 0:
                order = np.argsort(-importance[active], kind="stable")
                dropped = active[order[sizes[k] :]]
                eliminated.append(dropped[::-1])
                active = np.sort(active[order[: sizes[k]]])
                ridge.drop(np.sort(dropped), active)
            coef, dec_tr, dec_va = ridge.fit(active)
            train_scores[k] = np.mean(_decision_to_index(dec_tr) == y_tr)
            val_scores[k] = np.mean(_decision_to_index(dec_va) == y_va)
            importance[active] = _importance(coef, self.multiclass_importance)
            importance[constant] = -1.0
        order = np.argsort(-importance[active], kind="stable")
        eliminated.append(active[order][::-1])
        elimination = np.concatenate(eliminated).astype(np.int32)
        return sizes, train_scores, val_scores, elimination, None

    def _official_path(self, F, y_index, n_train, sizes):
        """The reference loop: RidgeClassifier refits, importance 0 when detached."""
        P = F.shape[1]
        F_tr, F_va = F[:n_train], F[n_train:]
        y_tr, y_va = y_index[:n_train], y_index[n_train:]
        kind = self.multiclass_importance
        importance = _importance(np.atleast_2d(self.full_estimator_.coef_), kind)
        classifier = RidgeClassifier(alpha=self.alpha_full_)
        masks = []
        last_seen = np.zeros(P)
        train_scores, val_scores = [], []
        with warnings.catch_warnings():
            # the reference loop meets singular systems at tiny alphas; sklearn warns
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            warnings.filterwarnings("ignore", message="Singular matrix", category=UserWarning)
            self._official_loop(
                F_tr, F_va, y_tr, y_va, sizes, importance, classifier, kind, masks, last_seen,
                train_scores, val_scores,
            )
        elimination = np.argsort(last_seen, kind="stable").astype(np.int32)
        return sizes, np.array(train_scores), np.array(val_scores), elimination, masks

    def _official_loop(
        self, F_tr, F_va, y_tr, y_va, sizes, importance, classifier, kind, masks, last_seen,
        train_scores, val_scores,
    ):
        P = F_tr.shape[1]
        for k in self._progress(range(sizes.shape[0]), sizes.shape[0]):
            selected = np.argsort(importance)[P - sizes[k] :]
            mask = np.zeros(P, dtype=bool)
            mask[selected] = True
            masks.append(np.packbits(mask))
            classifier.fit(F_tr[:, mask], y_tr)
            train_scores.append(classifier.score(F_tr[:, mask], y_tr))
            val_scores.append(classifier.score(F_va[:, mask], y_va))
            importance = importance.copy()
            importance[~mask] = 0
            importance[mask] = _importance(np.atleast_2d(classifier.coef_), kind)
            last_seen[mask] = k + importance[mask] / (importance[mask].max() + 1.0)

    def _step_support(self, step):
        P = self.elimination_order_.shape[0]
        if self._step_masks is not None:
            return np.unpackbits(self._step_masks[step], count=P).astype(bool)
        support = np.zeros(P, dtype=bool)
        support[self.elimination_order_[P - self.sizes_[step] :]] = True
        return support

    def _select_and_refit(self, trade_off, fixed_fraction, alphas):
        self.best_step_, self.objective_ = select_step(
            self.sizes_,
            self.val_scores_,
            trade_off=trade_off,
            smoothing=self.smoothing,
            fixed_fraction=fixed_fraction,
        )
        # Official flaw (a): the mask of the step before the one scored (step 0, the
        # full model, has no predecessor and stays itself).
        step = max(self.best_step_ - 1, 0) if self.official_compat else self.best_step_
        self.support_ = self._step_support(step)
        self.n_features_selected_ = int(self.support_.sum())
        X_sel = self._F[:, self.support_]
        y_labels = self.classes_[self._y_perm]
        if not self.official_compat:
            X_sel = X_sel.astype(np.float64)
        if not self.recompute_alpha:
            self.alpha_ = self.alpha_full_
        elif self.official_compat:
            self.alpha_ = float(RidgeClassifierCV(alphas=alphas).fit(X_sel, y_labels).alpha_)
        else:
            self.alpha_ = loo_alpha(X_sel, y_labels, alphas)[0]
        self.estimator_ = RidgeClassifier(alpha=self.alpha_).fit(X_sel, y_labels)

    def reselect(self, trade_off=None, fixed_fraction=None):
        """Choose another step from the stored curve and refit only the final ridge.

        Needs the scaled training features: fit with ``store_training_features=True``.

        Parameters
        ----------
        trade_off : float >= 0, default=None
            New trade-off; ``None`` keeps ``self.trade_off``. Ignored with
            ``official_compat=True`` (as in the reference ``fit_trade_off``).
        fixed_fraction : float in (0, 1], default=None
            Keep the step with the closest fraction of features instead.

        Returns
        -------
        self : SequentialFeatureDetachment
            The selector with new ``best_step_``, ``objective_``, ``support_`` and
            final ridge.
        """
        check_is_fitted(self, "support_")
        if self._F is None:
            raise ValueError(
                f"reselect needs the scaled training features, which this "
                f"{type(self).__name__} does not hold: fit it with "
                "store_training_features=True to keep them (they were not stored, or "
                "discard_training_features() freed them)."
            )
        if trade_off is not None and (not isinstance(trade_off, Real) or trade_off < 0):
            raise ValueError(f"trade_off must be a float >= 0, got trade_off={trade_off!r}.")
        if fixed_fraction is not None and not 0 < fixed_fraction <= 1:
            raise ValueError(
                f"fixed_fraction must be in (0, 1], got fixed_fraction={fixed_fraction!r}."
            )
        if trade_off is None or self.official_compat:
            trade_off = self.trade_off
        with self._blas_scope(self._y_perm.shape[0]):
            self._select_and_refit(trade_off, fixed_fraction, _checked_alphas(self.alphas))
        return self

    def discard_training_features(self):
        """Free the stored scaled training features (``reselect`` then refuses to run).

        Returns
        -------
        self : SequentialFeatureDetachment
            The selector, still able to transform and predict.
        """
        check_is_fitted(self, "support_")
        self._F = None
        return self

    # -- prediction -----------------------------------------------------------------

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_

    def _scaled_selected(self, X):
        X = validate_data(self, X, reset=False, dtype=FLOAT_DTYPES, ensure_all_finite=True)
        return self._scale_selected_features(X)

    def _scale_selected_features(self, X):
        return self._scale_columns(X[:, self.support_])

    def _scale_columns(self, X_sel):
        """Scale already-selected raw columns as the final ridge was fitted."""
        s = self.support_
        mean, scale = self.scaler_.mean_[s], self.scaler_.scale_[s]
        if self.official_compat:
            X_sel = np.asarray(X_sel, dtype=np.float32)
            return (X_sel - mean.astype(np.float32)) / scale.astype(np.float32)
        out = (np.asarray(X_sel, dtype=np.float64) - mean) / scale
        out[:, self._constant[s]] = 0.0
        return out

    def _scale_all(self, X):
        """All columns scaled as the full model was fitted (float32)."""
        mean, scale = self.scaler_.mean_, self.scaler_.scale_
        if X.dtype == np.float32:
            out = (X - mean.astype(np.float32)) / scale.astype(np.float32)
        else:
            out = ((X - mean) / scale).astype(np.float32)
        if not self.official_compat:
            out[:, self._constant] = 0.0
        return out

    def decision_function(self, X):
        """Decision of the final ridge on the selected, scaled features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self, "support_")
        return self.estimator_.decision_function(self._scaled_selected(X))

    def predict(self, X):
        """Class labels from the final ridge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "support_")
        return self.estimator_.predict(self._scaled_selected(X))
