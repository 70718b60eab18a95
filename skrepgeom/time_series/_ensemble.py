"""Detach-ROCKET ensemble of MiniRocket members with channel relevance."""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skrepgeom.time_series._parameters import (
    document_parameters,
    keyword_init,
    selector_constraints,
    selector_parameters,
)
from skrepgeom.time_series._rocket import DetachRocketClassifier
from skrepgeom.time_series._sfd import _checked_alphas, check_odd_smoothing
from skrepgeom.time_series._sktime import minirocket_feature_channels
from skrepgeom.time_series._validation import validate_series
from skrepgeom.utils._parallel import check_n_jobs, n_workers, worker_blas_limit

__all__ = ["DetachEnsembleClassifier"]

# Members are never reselected, so they do not store their training features.
_MEMBER_PARAMETERS = [name for name in selector_parameters() if name != "store_training_features"]


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


def _fit_member(params, X, y, n_parallel):
    with worker_blas_limit(n_parallel):
        member = DetachRocketClassifier(**params).fit(X, y)
        return member, member.score(X, y)


@document_parameters(_MEMBER_PARAMETERS)
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
    {selector_parameters}
    unequal_length : {"error", "pad"}, default="error"
        For a list of series of different lengths: refuse them, or pad them at the
        end with zeros to the longest training length (longer series at predict
        time are truncated with a warning).
    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds.
    n_jobs : int, default=None
        Joblib workers fitting the members, by the rule of the
        :ref:`parallelism` rule (``None``: one worker, or the
        ``n_jobs`` of an enclosing ``joblib.parallel_config``; ``-1``: all cores).
        With several workers each member runs on one Numba and one BLAS thread;
        with one worker the member gets ``n_jobs`` itself (Numba threads of its
        transform, BLAS threads of its detachment).
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
    series_length_ : int
        Timepoints of the training series (after padding).
    channel_relevance_ : ndarray of shape (n_channels,)
        Median over members of their channel relevance, renormalised to sum 1.
    channel_relevance_members_ : ndarray of shape (n_estimators, n_channels)
        Relevance of every channel for each member (rows sum to 1).

    See Also
    --------
    DetachRocketClassifier : One member.
    ChannelRelevanceDisplay : Bar plot of ``channel_relevance_``.

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
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "n_kernels": [Interval(Integral, 84, None, closed="left")],
        "voting": [StrOptions({"soft", "hard"})],
        **selector_constraints(_MEMBER_PARAMETERS),
        "unequal_length": [StrOptions({"error", "pad"})],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    __init__ = keyword_init(
        "DetachEnsembleClassifier",
        {
            "n_estimators": 25,
            "n_kernels": 10_000,
            "voting": "soft",
            **selector_parameters(_MEMBER_PARAMETERS),
            "unequal_length": "error",
            "random_state": None,
            "n_jobs": None,
            "verbose": 0,
        },
    )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def _series(self, X, *, reset):
        return validate_series(self, X, reset=reset, unequal_length=self.unequal_length)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the members.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, n_timepoints)
            Training series, a list of series of unequal lengths with
            ``unequal_length="pad"``, or sktime's ``nested_univ`` frame.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : DetachEnsembleClassifier
            Fitted ensemble.
        """
        check_odd_smoothing(self)
        check_n_jobs(self.n_jobs)
        _checked_alphas(self.alphas)
        X3 = self._series(X, reset=True)
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_estimators)
        n_parallel = min(n_workers(self.n_jobs), self.n_estimators)
        common = {name: getattr(self, name) for name in _MEMBER_PARAMETERS}
        params = [
            dict(
                common,
                transformer="minirocket",
                n_kernels=self.n_kernels,
                random_state=int(seed),
                n_jobs=1 if n_parallel > 1 else self.n_jobs,
            )
            for seed in seeds
        ]
        jobs = (delayed(_fit_member)(p, X3, y, n_parallel) for p in params)
        if self.verbose:
            from tqdm.auto import tqdm

            jobs = tqdm(jobs, total=self.n_estimators, desc="members")
        results = Parallel(n_jobs=n_parallel)(jobs)
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
        X3 = self._series(X, reset=False)
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
