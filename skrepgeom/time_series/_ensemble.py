"""Detach-ROCKET ensemble of MiniRocket members with channel relevance."""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skrepgeom.time_series._rocket import _SFD_PARAMS, DetachRocketClassifier
from skrepgeom.time_series._sfd import SequentialFeatureDetachment, check_odd_smoothing

__all__ = ["DetachEnsembleClassifier", "minirocket_feature_channels"]

_MINIROCKET_KERNELS = 84


def minirocket_feature_channels(transformer):
    """Channels of every MiniRocket feature, from a fitted ``MiniRocketMultivariate``.

    Returns a list (one entry per feature) of int arrays: the channel combination
    of the kernel/dilation that produced the feature.
    """
    n_ch_per_comb, channel_indices, dilations, n_feat_per_dilation, _ = transformer.parameters
    n_ch_per_comb = np.asarray(n_ch_per_comb)
    starts = np.concatenate([[0], np.cumsum(n_ch_per_comb)])
    combos = [channel_indices[starts[i] : starts[i + 1]] for i in range(n_ch_per_comb.shape[0])]
    # combination index = dilation * 84 + kernel, each with n_feat_per_dilation[d] features
    per_combination = np.repeat(np.asarray(n_feat_per_dilation), _MINIROCKET_KERNELS)
    feature_combination = np.repeat(np.arange(per_combination.shape[0]), per_combination)
    return feature_combination, combos


def _member_relevance(member, n_channels):
    """Per-channel share of a member's selected |coef| (max over classes)."""
    coef = np.abs(np.atleast_2d(member.sfd_.estimator_.coef_)).max(axis=0)
    feature_combination, combos = minirocket_feature_channels(member.transformer_)
    selected = np.flatnonzero(member.sfd_.support_)
    relevance = np.zeros(n_channels)
    for value, feature in zip(coef, selected):
        channels = combos[feature_combination[feature]]
        relevance[channels] += value / channels.shape[0]
    return _shares(relevance)


def _shares(values):
    """``values`` normalised to sum 1; uniform when they are all zero."""
    total = values.sum()
    return values / total if total > 0 else np.full(values.shape[0], 1.0 / values.shape[0])


def _fit_member(params, X, y):
    member = DetachRocketClassifier(**params).fit(X, y)
    weight = member.score(X, y)
    # Members are never reselected: drop the scaled training features that
    # ``reselect`` would need (n_samples x n_features each, kept in every pickle).
    member.sfd_.discard_training_features()
    return member, weight


class DetachEnsembleClassifier(ClassifierMixin, BaseEstimator):
    """Ensemble of MiniRocket Detach-ROCKET classifiers with channel relevance.

    Each member is a :class:`DetachRocketClassifier` with MiniRocket features and
    its own kernel and validation-split seeds (drawn from ``random_state``). Each
    member votes for its predicted class, with weight its training accuracy
    (``voting="soft"``) or 1 (``"hard"``). The relevance of a channel is the share
    of the final ridges' ``|coef|`` carried by kernels that read it (Solana et al.,
    *Classification of raw MEG/EEG data with detach-rocket ensemble*).

    Read more in the :ref:`User Guide <time_series>`.

    Parameters
    ----------
    n_estimators : int, default=25
        Number of members.
    n_kernels : int, default=10000
        MiniRocket kernels per member (at least 84).
    voting : {"soft", "hard"}, default="soft"
        Member weights: training accuracy or 1.
    alphas, drop_fraction, max_steps, validation_fraction, trade_off, smoothing, \
multiclass_importance, fixed_fraction, recompute_alpha
        Parameters of every member's :class:`SequentialFeatureDetachment`.
    official_compat : bool, default=False
        Members reproduce the reference code (see
        :class:`SequentialFeatureDetachment`); in particular all share the split
        seed 42.
    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds.
    n_jobs : int, default=None
        Members fitted in parallel by joblib.
    verbose : int, default=0
        Progress bar over members.

    Attributes
    ----------
    estimators_ : list of DetachRocketClassifier
        Fitted members.
    estimator_weights_ : ndarray of shape (n_estimators,)
        Vote weights.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Second dimension of the training ``X``.
    n_channels_ : int
        Channels of the training series.
    channel_relevance_ : ndarray of shape (n_channels,)
        Median over members of their channel relevance, renormalised to sum 1.
    channel_relevance_members_ : ndarray of shape (n_estimators, n_channels)
        Relevance of every channel for each member (rows sum to 1).

    See Also
    --------
    DetachRocketClassifier : One member.
    plot_channel_relevance : Bar plot of ``channel_relevance_``.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.time_series import DetachEnsembleClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 3, 30))
    >>> X[:, 1] += np.sin(np.linspace(0, 6 * np.pi, 30)) * (2 * y[:, None] - 1)
    >>> ens = DetachEnsembleClassifier(n_estimators=3, n_kernels=168, random_state=0)
    >>> ens = ens.fit(X, y)
    >>> int(np.argmax(ens.channel_relevance_))
    1
    """

    _parameter_constraints: dict = {
        **{
            name: SequentialFeatureDetachment._parameter_constraints[name] for name in _SFD_PARAMS
        },
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "n_kernels": [Interval(Integral, 84, None, closed="left")],
        "voting": [StrOptions({"soft", "hard"})],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        n_estimators=25,
        n_kernels=10_000,
        voting="soft",
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
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_estimators = n_estimators
        self.n_kernels = n_kernels
        self.voting = voting
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
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the members.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Training series.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : DetachEnsembleClassifier
            Fitted ensemble.
        """
        check_odd_smoothing(self)
        # Validate once (shapes, NaN, channels) through a member's own checks.
        probe = DetachRocketClassifier(transformer="minirocket", n_kernels=self.n_kernels)
        X3 = probe._series(X, reset=True)
        self._input_checker = probe
        self.n_features_in_ = probe.n_features_in_
        self.n_channels_ = probe.n_channels_
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_estimators)
        common = {name: getattr(self, name) for name in _SFD_PARAMS}
        params = [
            dict(common, transformer="minirocket", n_kernels=self.n_kernels, random_state=int(s))
            for s in seeds
        ]
        jobs = (delayed(_fit_member)(p, X3, y) for p in params)
        if self.verbose:
            from tqdm.auto import tqdm

            jobs = tqdm(jobs, total=self.n_estimators, desc="members")
        results = Parallel(n_jobs=self.n_jobs)(jobs)
        self.estimators_ = [member for member, _ in results]
        weights = np.array([weight for _, weight in results])
        self.estimator_weights_ = weights if self.voting == "soft" else np.ones_like(weights)
        self.classes_ = self.estimators_[0].classes_
        self.channel_relevance_members_ = np.array(
            [_member_relevance(m, self.n_channels_) for m in self.estimators_]
        )
        self.channel_relevance_ = _shares(np.median(self.channel_relevance_members_, axis=0))
        return self

    def predict_proba(self, X):
        """Weighted share of the member votes for each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Series.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1.
        """
        check_is_fitted(self, "estimators_")
        X3 = self._input_checker._series(X, reset=False)
        votes = np.zeros((X3.shape[0], self.classes_.shape[0]))
        rows = np.arange(X3.shape[0])
        for member, weight in zip(self.estimators_, self.estimator_weights_):
            predicted = np.searchsorted(self.classes_, member.predict(X3))
            votes[rows, predicted] += weight
        total = votes.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        return votes / total

    def predict(self, X):
        """Class with the largest weighted vote.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Series.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
