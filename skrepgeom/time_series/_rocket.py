"""Detach-ROCKET: ROCKET-family features pruned by Sequential Feature Detachment."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._tags import TransformerTags
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, InvalidParameterError, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skrepgeom.time_series._sfd import SequentialFeatureDetachment, check_odd_smoothing
from skrepgeom.utils._parallel import blas_threads, n_workers, numba_threads

__all__ = ["DetachRocketClassifier"]

_TRANSFORMERS = ("rocket", "minirocket", "multirocket")
_DEFAULT_KERNELS = {"rocket": 10_000, "minirocket": 10_000, "multirocket": 6_250}
_MIN_TIMEPOINTS = 9
_SFD_PARAMS = (
    "alphas",
    "drop_fraction",
    "max_steps",
    "validation_fraction",
    "trade_off",
    "smoothing",
    "multiclass_importance",
    "fixed_fraction",
    "recompute_alpha",
    "official_compat",
)
_SHAPE_MESSAGE = (
    "X must be 2-D (n_samples, n_timepoints) for univariate series or 3-D "
    "(n_samples, n_channels, n_timepoints)"
)


def _seed_from(random_state):
    """An int (or None) for sktime, which ignores anything but a Python int."""
    if random_state is None:
        return None
    if isinstance(random_state, (Integral, np.integer)):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _as_series_list(X):
    """A list of (n_channels, length) float64 arrays when X holds unequal lengths, else None."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        return None
    if not isinstance(X, (list, tuple, np.ndarray)) or len(X) == 0:
        return None
    try:
        items = [np.asarray(x, dtype=np.float64) for x in X]
    except (TypeError, ValueError):
        return None
    if any(item.ndim not in (1, 2) for item in items):
        return None
    lengths = {item.shape[-1] for item in items}
    if len(lengths) == 1 and len({item.shape for item in items}) == 1:
        return None
    return [item[None, :] if item.ndim == 1 else item for item in items]


def _pad_to(X3, length):
    n, c, t = X3.shape
    if t >= length:
        return X3
    out = np.zeros((n, c, length))
    out[:, :, :t] = X3
    return out


class DetachRocketClassifier(ClassifierMixin, BaseEstimator):
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
    alphas, drop_fraction, max_steps, validation_fraction, trade_off, smoothing, \
multiclass_importance, fixed_fraction, recompute_alpha, official_compat
        Parameters of :class:`SequentialFeatureDetachment`.
    unequal_length : {"error", "pad"}, default="error"
        For a list of series of different lengths: refuse them, or pad them at the
        end with zeros to the longest training length (longer series at predict
        time are truncated with a warning).
    prune_transform : bool, default=True
        With ROCKET, evaluate only the kernels owning a selected feature at predict.
    random_state : int, RandomState instance or None, default=None
        Seed of the kernels (passed unchanged to sktime when an int) and of the
        validation split.
    n_jobs : int, default=None
        Numba threads of the transform (restored afterwards); ``None`` means 1,
        ``-1`` all cores.
    verbose : int, default=0
        Progress bar over the SFD steps.

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
    """

    _parameter_constraints: dict = {
        **{
            name: SequentialFeatureDetachment._parameter_constraints[name] for name in _SFD_PARAMS
        },
        "transformer": [StrOptions(set(_TRANSFORMERS)), HasMethods(["fit", "transform"])],
        "n_kernels": [Interval(Integral, 1, None, closed="left"), None],
        "max_dilations_per_kernel": [Interval(Integral, 1, None, closed="left")],
        "normalize": ["boolean"],
        "unequal_length": [StrOptions({"error", "pad"})],
        "prune_transform": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        transformer="rocket",
        n_kernels=None,
        max_dilations_per_kernel=32,
        normalize=True,
        alphas=None,
        drop_fraction=0.05,
        max_steps=150,
        validation_fraction=0.33,
        trade_off=0.1,
        smoothing=3,
        multiclass_importance="max",
        fixed_fraction=None,
        recompute_alpha=True,
        official_compat=False,
        unequal_length="error",
        prune_transform=True,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.transformer = transformer
        self.n_kernels = n_kernels
        self.max_dilations_per_kernel = max_dilations_per_kernel
        self.normalize = normalize
        self.alphas = alphas
        self.drop_fraction = drop_fraction
        self.max_steps = max_steps
        self.validation_fraction = validation_fraction
        self.trade_off = trade_off
        self.smoothing = smoothing
        self.multiclass_importance = multiclass_importance
        self.fixed_fraction = fixed_fraction
        self.recompute_alpha = recompute_alpha
        self.official_compat = official_compat
        self.unequal_length = unequal_length
        self.prune_transform = prune_transform
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # ``transform`` gives the scaled selected features; not a dtype-preserving transformer.
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags

    # -- input ----------------------------------------------------------------------

    def _series(self, X, *, reset):
        """Validated C-contiguous writeable float64 (n, channels, timepoints) array."""
        series = _as_series_list(X)
        if series is not None:
            lengths = [s.shape[-1] for s in series]
            channels = {s.shape[0] for s in series}
            if len(channels) > 1:
                raise ValueError(
                    f"All series must have the same number of channels; got {sorted(channels)}."
                )
            if reset and self.unequal_length == "error":
                raise ValueError(
                    f"The series have unequal lengths (min {min(lengths)}, max {max(lengths)}); "
                    'pass unequal_length="pad" to pad them at the end with zeros.'
                )
            if not reset and not getattr(self, "_pad_mode", False):
                raise ValueError(
                    f"The series have unequal lengths (min {min(lengths)}, max {max(lengths)}) "
                    f"but the model was fitted on series of length {self.series_length_}; "
                    'fit with unequal_length="pad" to accept them.'
                )
            target = max(lengths) if reset else self.series_length_
            if not reset and max(lengths) > target:
                warnings.warn(
                    f"Series longer than the training length {target} (up to {max(lengths)}) "
                    "are truncated.",
                    UserWarning,
                    stacklevel=3,
                )
            X3 = np.zeros((len(series), series[0].shape[0], target))
            for i, s in enumerate(series):
                m = min(target, s.shape[-1])
                X3[i, :, :m] = s[:, :m]
            if reset:
                self._pad_mode = True
            X = X3
        else:
            ndim = getattr(X, "ndim", None)
            if ndim is None:
                ndim = np.asarray(X).ndim
            if ndim not in (2, 3):
                hint = " Reshape your data to (n_samples, n_timepoints)." if ndim == 1 else ""
                raise ValueError(f"{_SHAPE_MESSAGE}; got a {ndim}-D array.{hint}")
            if reset:
                self._pad_mode = self.unequal_length == "pad"
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=np.float64,
            ensure_all_finite=True,
            allow_nd=True,
            ensure_2d=False,
        )
        if X.ndim not in (2, 3):
            raise ValueError(f"{_SHAPE_MESSAGE}; got a {X.ndim}-D array.")
        X3 = X[:, None, :] if X.ndim == 2 else X
        if reset:
            # validate_data records n_features_in_ only for 2-D checks.
            self.n_features_in_ = X.shape[1]
            self.n_channels_ = X3.shape[1]
            self._input_length = X3.shape[2]
        else:
            if X3.shape[1] != self.n_channels_:
                raise ValueError(
                    f"X has {X3.shape[1]} channel(s) but the model was fitted on "
                    f"{self.n_channels_} channel(s)."
                )
            if X3.shape[2] != self._input_length:
                if self._pad_mode:
                    if X3.shape[2] > self._input_length:
                        warnings.warn(
                            f"Series of length {X3.shape[2]} are truncated to the training "
                            f"length {self._input_length}.",
                            UserWarning,
                            stacklevel=3,
                        )
                    X3 = _pad_to(X3[:, :, : self._input_length], self._input_length)
                else:
                    detail = (
                        f" (X has {X3.shape[2]} features, but {type(self).__name__} is "
                        f"expecting {self._input_length} features as input)"
                        if X.ndim == 2
                        else ""
                    )
                    raise ValueError(
                        f"X has series of length {X3.shape[2]} but the model was fitted on "
                        f"length {self._input_length}{detail}; pass unequal_length=\"pad\" to "
                        "pad or truncate."
                    )
        X3 = _pad_to(X3, _MIN_TIMEPOINTS)
        return np.require(X3, dtype=np.float64, requirements=["C", "W", "O"])

    # -- transform ------------------------------------------------------------------

    def _make_transformer(self):
        seed = _seed_from(self.random_state)
        n_jobs = 1 if self.n_jobs is None else self.n_jobs
        if not isinstance(self.transformer, str):
            return clone(self.transformer), False
        n_kernels = self.n_kernels or _DEFAULT_KERNELS[self.transformer]
        if self.transformer == "rocket":
            from sktime.transformations.rocket import Rocket

            return (
                Rocket(
                    num_kernels=n_kernels, normalise=self.normalize, n_jobs=n_jobs, random_state=seed
                ),
                True,
            )
        if self.transformer == "minirocket":
            from sktime.transformations.rocket import MiniRocketMultivariate

            if n_kernels < 84:
                raise InvalidParameterError(
                    f"The 'n_kernels' parameter of {type(self).__name__} must be >= 84 with "
                    f'transformer="minirocket", got n_kernels={n_kernels}.'
                )
            return (
                MiniRocketMultivariate(
                    num_kernels=n_kernels,
                    max_dilations_per_kernel=self.max_dilations_per_kernel,
                    n_jobs=n_jobs,
                    random_state=seed,
                ),
                True,
            )
        from sktime.transformations.rocket import MultiRocketMultivariate

        return (
            MultiRocketMultivariate(
                num_kernels=n_kernels,
                max_dilations_per_kernel=self.max_dilations_per_kernel,
                normalise=self.normalize,
                n_jobs=n_jobs,
                random_state=seed,
            ),
            True,
        )

    def _full_features(self, X3):
        for name in ("kernels", "parameters", "parameter", "parameter1"):
            value = getattr(self.transformer_, name, None)
            if isinstance(value, tuple) and not all(
                getattr(a, "flags", None) is None or a.flags.writeable for a in value
            ):
                # sktime's typed Numba signatures refuse read-only arrays (e.g. after
                # a memory-mapped unpickle).
                setattr(
                    self.transformer_,
                    name,
                    tuple(np.array(a) if hasattr(a, "flags") else a for a in value),
                )
        if self._sktime_direct:
            features = self.transformer_._transform(X3)
        else:
            features = self.transformer_.transform(X3)
        if hasattr(features, "to_numpy"):
            return features.to_numpy(np.float32)
        return np.asarray(features, dtype=np.float32)

    def _selected_features(self, X3):
        """Raw transform features of the selected columns, (n, n_features_selected_)."""
        if self._pruned is None:
            return self._full_features(X3)[:, self.sfd_.support_]
        from skrepgeom.time_series._kernels import rocket_transform_subset

        if self.normalize:
            X3 = (X3 - X3.mean(axis=-1, keepdims=True)) / (X3.std(axis=-1, keepdims=True) + 1e-8)
        kernels, offsets, used, columns = self._pruned
        with numba_threads(self._n_threads()):
            out = rocket_transform_subset(X3.astype(np.float32), *kernels, *offsets, used)
        return out[:, columns]

    def _n_threads(self):
        # n_jobs=None means one thread, as in scikit-learn.
        return n_workers(self.n_jobs)

    def _setup_pruning(self):
        self._pruned = None
        self.n_kernels_used_ = self._n_kernels_total()
        if not (self.prune_transform and self.transformer == "rocket"):
            return
        from skrepgeom.time_series._kernels import kernel_offsets

        weights, lengths, biases, dilations, paddings, n_ch, channels = self.transformer_.kernels
        selected = np.flatnonzero(self.sfd_.support_)
        used = np.unique(selected // 2)
        position = np.searchsorted(used, selected // 2)
        columns = 2 * position + selected % 2
        self._pruned = (
            self.transformer_.kernels,
            kernel_offsets(lengths, n_ch),
            used.astype(np.int64),
            columns,
        )
        self.n_kernels_used_ = int(used.shape[0])

    def _n_kernels_total(self):
        t = self.transformer_
        if self.transformer == "rocket":
            return int(len(t.kernels[1]))
        if self.transformer in ("minirocket", "multirocket"):
            return int(getattr(t, "num_kernels_", None) or t.num_kernels)
        return int(getattr(t, "num_kernels", 0) or 0)

    # -- fit / predict ----------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Transform the series, run SFD and fit the final ridge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Training series, or a list of series of unequal lengths with
            ``unequal_length="pad"``.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : DetachRocketClassifier
            Fitted classifier.
        """
        with blas_threads(self._n_threads()):
            return self._fit(X, y)

    def _fit(self, X, y):
        from sklearn.utils import column_or_1d

        check_odd_smoothing(self)
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
        self.series_length_ = X3.shape[2]
        self.transformer_, self._sktime_direct = self._make_transformer()
        if self._sktime_direct:
            self.transformer_._fit(X3)
        else:
            self.transformer_.fit(X3)
        features = self._full_features(X3)
        self.sfd_ = SequentialFeatureDetachment(
            **{name: getattr(self, name) for name in _SFD_PARAMS},
            random_state=self.random_state,
            verbose=self.verbose,
        )
        self.sfd_._fit_features(features, y_arr)
        self.sfd_.n_features_in_ = features.shape[1]
        self.classes_ = self.sfd_.classes_
        self._after_selection()
        return self

    def _after_selection(self):
        self.n_features_selected_ = self.sfd_.n_features_selected_
        self._setup_pruning()

    def reselect(self, trade_off=None, fixed_fraction=None):
        """Choose another SFD step and refit the final ridge (see ``SequentialFeatureDetachment``).

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
        X3 = self._series(X, reset=False)
        return self.sfd_._scale_columns(self._selected_features(X3))

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
        return self.sfd_.estimator_.decision_function(self.transform(X))

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
        return self.sfd_.estimator_.predict(self.transform(X))

    def fit_transform(self, X, y):
        """Fit, then return the scaled selected features of the training series.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Training series.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_selected_)
        """
        return self.fit(X, y).transform(X)

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
