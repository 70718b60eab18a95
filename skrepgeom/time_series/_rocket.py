"""Detach-ROCKET: ROCKET-family features pruned by Sequential Feature Detachment."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._tags import TransformerTags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from skrepgeom.time_series._kernels import kernel_offsets, rocket_transform_subset
from skrepgeom.time_series._parameters import (
    document_parameters,
    keyword_init,
    selector_constraints,
    selector_parameters,
)
from skrepgeom.time_series._sfd import (
    SequentialFeatureDetachment,
    _checked_alphas,
    check_odd_smoothing,
)
from skrepgeom.time_series._sktime import (
    TRANSFORMERS,
    full_features,
    make_transformer,
    n_kernels_total,
    numba_dispatchers,
)
from skrepgeom.time_series._validation import validate_series
from skrepgeom.utils._parallel import check_n_jobs, effective_n_threads, numba_threads
from skrepgeom.utils._progress import compilation_notice

__all__ = ["DetachRocketClassifier"]


@document_parameters()
class DetachRocketClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """ROCKET, MiniRocket or MultiRocket features pruned by Sequential Feature Detachment.

    The series are transformed by sktime's ``Rocket``, ``MiniRocketMultivariate``
    or ``MultiRocketMultivariate`` (called directly on a float64 array, with the
    same ``random_state``, so the features equal sktime's), standardised, and a
    :class:`SequentialFeatureDetachment` keeps a small subset of the features for
    the final ridge classifier (Uribarri et al., DMKD 2024). With ROCKET,
    prediction evaluates only the kernels that own a surviving feature.

    Read more in the :ref:`User Guide <time_series>`.

    Parameters
    ----------
    transformer : {"rocket", "minirocket", "multirocket"} or transformer, default="rocket"
        Feature transform; an unfitted object with ``fit``/``transform`` returning
        an (n_samples, n_features) table is cloned and used as is.
    n_kernels : int, default=None
        Kernels of the transform; ``None`` is 10,000 (rocket, minirocket) or 6,250
        (multirocket). MiniRocket needs at least 84.
    max_dilations_per_kernel : int, default=32
        Passed to MiniRocket and MultiRocket.
    normalize : bool, default=True
        Passed to sktime's ``normalise`` (ROCKET and MultiRocket): z-normalise each
        series before the transform.
    {selector_parameters}
    unequal_length : {"error", "pad"}, default="error"
        For a list of series of different lengths: refuse them, or pad them at the
        end with zeros to the longest training length (longer series at predict
        time are truncated with a warning).
    prune_transform : bool, default=True
        With ROCKET, evaluate only the kernels owning a selected feature at predict.
    random_state : int, RandomState instance or None, default=None
        Seed of the kernels (passed unchanged to sktime when an int) and of the
        validation splits.
    n_jobs : int, default=None
        Numba threads of the transform (sktime's and the pruned predict kernel, set
        and restored around each call) and BLAS threads of the detachment (see
        :class:`SequentialFeatureDetachment`), by the rule of the
        :ref:`parallelism` rule: ``None`` keeps Numba's and BLAS's own
        settings (with the selector's documented small-problem heuristic), ``k`` uses
        ``k`` threads in both pools, ``-1`` all cores.
    verbose : int, default=0
        Progress bars over the transformed series and the SFD steps; with the first
        fit of a process also says when the Numba kernels are being compiled.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Second dimension of the training ``X`` (timepoints of 2-D input, channels of
        3-D input), as scikit-learn's validation records it.
    n_channels_ : int
        Channels of the training series.
    series_length_ : int
        Timepoints of the training series (after padding).
    transformer_ : transformer
        The fitted feature transform.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a 2-D training ``X`` that has string column names.
    sfd_ : SequentialFeatureDetachment
        The fitted selector (its ``support_``, ``sizes_``, ``val_scores_``, ...).
    n_features_selected_ : int
        Number of features used by the final ridge.
    n_kernels_used_ : int
        Kernels evaluated at predict time.

    See Also
    --------
    SequentialFeatureDetachment : The selector, on any feature matrix.
    DetachEnsembleClassifier : Ensemble of MiniRocket members with channel relevance.

    References
    ----------
    .. [1] G. Uribarri, F. Barone, A. Ansuini, E. Fransén, "Detach-ROCKET:
       sequential feature selection for time series classification with random
       convolutional kernels", Data Mining and Knowledge Discovery 38 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.time_series import DetachRocketClassifier
    >>> rng = np.random.default_rng(0)
    >>> t = np.linspace(0, 1, 60)
    >>> y = np.repeat([0, 1], 30)
    >>> X = np.sin(2 * np.pi * (3 + 3 * y[:, None]) * t) + 0.3 * rng.standard_normal((60, 60))
    >>> clf = DetachRocketClassifier(n_kernels=500, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> clf.n_features_selected_ < 1000
    True
    >>> clf.get_feature_names_out().shape == (clf.n_features_selected_,)
    True
    """

    _parameter_constraints: dict = {
        "transformer": [StrOptions(set(TRANSFORMERS)), HasMethods(["fit", "transform"])],
        "n_kernels": [Interval(Integral, 1, None, closed="left"), None],
        "max_dilations_per_kernel": [Interval(Integral, 1, None, closed="left")],
        "normalize": ["boolean"],
        **selector_constraints(),
        "unequal_length": [StrOptions({"error", "pad"})],
        "prune_transform": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    __init__ = keyword_init(
        "DetachRocketClassifier",
        {
            "transformer": "rocket",
            "n_kernels": None,
            "max_dilations_per_kernel": 32,
            "normalize": True,
            **selector_parameters(),
            "unequal_length": "error",
            "prune_transform": True,
            "random_state": None,
            "n_jobs": None,
            "verbose": 0,
        },
    )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # ``transform`` gives the scaled selected features; not a dtype-preserving transformer.
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags

    # -- transform ------------------------------------------------------------------

    def _series(self, X, *, reset):
        return validate_series(self, X, reset=reset, unequal_length=self.unequal_length)

    def _full_features(self, X3):
        return full_features(self.transformer_, self._sktime_direct, X3)

    def _selected_features(self, X3):
        """Raw transform features of the selected columns, (n, n_features_selected_)."""
        if self._pruned is None:
            return self._full_features(X3)[:, self.sfd_.support_]
        if self.normalize:
            X3 = (X3 - X3.mean(axis=-1, keepdims=True)) / (X3.std(axis=-1, keepdims=True) + 1e-8)
        used, columns = self._pruned
        kernels = self.transformer_.kernels
        offsets = kernel_offsets(kernels[1], kernels[5])  # cheap; not kept in the model
        with numba_threads(effective_n_threads(self.n_jobs)):
            out = rocket_transform_subset(X3.astype(np.float32), *kernels, *offsets, used)
        return out[:, columns]

    def _setup_pruning(self):
        self._pruned = None
        self.n_kernels_used_ = n_kernels_total(self.transformer_, self.transformer)
        if not (self.prune_transform and self.transformer == "rocket"):
            return
        selected = np.flatnonzero(self.sfd_.support_)
        used = np.unique(selected // 2)
        position = np.searchsorted(used, selected // 2)
        columns = 2 * position + selected % 2
        self._pruned = (used.astype(np.int64), columns)
        self.n_kernels_used_ = int(used.shape[0])

    # -- fit / predict ----------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Transform the series, run SFD and fit the final ridge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Training series, a list of series of unequal lengths with
            ``unequal_length="pad"``, or sktime's ``nested_univ`` frame.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : DetachRocketClassifier
            Fitted classifier.
        """
        from sklearn.utils import column_or_1d

        # parameter checks the constraints cannot express, before the slow transform
        check_odd_smoothing(self)
        check_n_jobs(self.n_jobs)
        _checked_alphas(self.alphas)
        X3 = self._series(X, reset=True)
        if y is None:
            raise ValueError(
                "DetachRocketClassifier requires y to be passed, but the target y is None."
            )
        y_arr = column_or_1d(np.asarray(y), warn=True)
        if y_arr.shape[0] != X3.shape[0]:
            raise ValueError(
                f"X has {X3.shape[0]} samples but y has {y_arr.shape[0]}: found input variables "
                "with inconsistent numbers of samples."
            )
        check_classification_targets(y_arr)
        self.transformer_, self._sktime_direct = make_transformer(
            self.transformer,
            n_kernels=self.n_kernels,
            max_dilations_per_kernel=self.max_dilations_per_kernel,
            normalize=self.normalize,
            n_threads=effective_n_threads(self.n_jobs),
            random_state=self.random_state,
            owner=type(self).__name__,
        )
        compilation_notice(
            self.verbose, *numba_dispatchers(self.transformer), rocket_transform_subset
        )
        if self._sktime_direct:
            self.transformer_._fit(X3)
        else:
            self.transformer_.fit(X3)
        features = full_features(self.transformer_, self._sktime_direct, X3, verbose=self.verbose)
        self.sfd_ = SequentialFeatureDetachment(
            **{name: getattr(self, name) for name in selector_parameters()},
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        self.sfd_._fit_features(features, y_arr)
        self.classes_ = self.sfd_.classes_
        self._after_selection()
        return self

    def _after_selection(self):
        self.n_features_selected_ = self.sfd_.n_features_selected_
        self._setup_pruning()

    def reselect(self, trade_off=None, fixed_fraction=None):
        """Choose another SFD step and refit the final ridge (see ``SequentialFeatureDetachment``).

        Needs ``store_training_features=True`` at fit time.

        Parameters
        ----------
        trade_off : float >= 0, default=None
            New trade-off.
        fixed_fraction : float in (0, 1], default=None
            Keep the step with the closest fraction of features instead.

        Returns
        -------
        self : DetachRocketClassifier
            The classifier with its new selection.
        """
        check_is_fitted(self, "sfd_")
        self.sfd_.reselect(trade_off=trade_off, fixed_fraction=fixed_fraction)
        self._after_selection()
        return self

    def transform(self, X):
        """Scaled selected features of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Series.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_selected_)
        """
        check_is_fitted(self, "sfd_")
        return self._transform(X)

    def _transform(self, X):
        # Not wrapped by set_output: the final ridge always gets an array.
        X3 = self._series(X, reset=False)
        return self.sfd_._scale_columns(self._selected_features(X3))

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of :meth:`transform`.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored: the output columns are transform features, named
            ``"detachrocketclassifier<j>"`` with ``j`` the column of the full
            transform they come from.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per selected feature.
        """
        check_is_fitted(self, "sfd_")
        prefix = type(self).__name__.lower()
        return np.asarray(
            [f"{prefix}{j}" for j in np.flatnonzero(self.sfd_.support_)], dtype=object
        )

    def decision_function(self, X):
        """Ridge decision values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Series.

        Returns
        -------
        scores : ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
        """
        check_is_fitted(self, "sfd_")
        return self.sfd_.estimator_.decision_function(self._transform(X))

    def predict(self, X):
        """Class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Series.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "sfd_")
        return self.sfd_.estimator_.predict(self._transform(X))

    def score_full(self, X, y):
        """Accuracy of the ridge on all features (before detachment).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Series.
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "sfd_")
        X3 = self._series(X, reset=False)
        features = self.sfd_._scale_all(self._full_features(X3))
        return float(np.mean(self.sfd_.full_estimator_.predict(features) == np.asarray(y)))
