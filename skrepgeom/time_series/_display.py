"""Plots of the SFD curve and of ensemble channel relevance."""

import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skrepgeom.utils._plotting import check_display_estimator

__all__ = ["ChannelRelevanceDisplay", "SFDCurveDisplay", "plot_channel_relevance"]


def _selector(estimator):
    """The fitted SequentialFeatureDetachment of a selector or a DetachRocketClassifier."""
    from skrepgeom.time_series._rocket import DetachRocketClassifier
    from skrepgeom.time_series._sfd import SequentialFeatureDetachment

    if isinstance(estimator, DetachRocketClassifier):
        check_is_fitted(estimator, "sfd_")
        return estimator.sfd_
    if isinstance(estimator, SequentialFeatureDetachment):
        check_is_fitted(estimator, ["sizes_", "val_scores_", "objective_"])
        return estimator
    hint = ""
    if hasattr(estimator, "estimators_"):
        hint = (
            "; an ensemble has one curve per member: pass a member, e.g. "
            "SFDCurveDisplay.from_estimator(ensemble.estimators_[0])"
        )
    raise TypeError(
        "SFDCurveDisplay needs a SequentialFeatureDetachment or a DetachRocketClassifier, "
        f"got {type(estimator).__name__}{hint}."
    )


class SFDCurveDisplay:
    """Relative validation accuracy against the number of features kept.

    Build it with :meth:`from_estimator`. Draws, on a logarithmic axis of the number
    of features kept, the relative validation accuracy ``val_k / val_0`` of every
    SFD step (mean over the selector's ``n_splits`` validation splits) and the smoothed trade-off objective, and marks the full model (the
    first step) and the chosen step.

    Parameters
    ----------
    n_features_kept : ndarray of shape (n_steps,)
        Active features ``s_k`` of every step, the full model first.
    relative_accuracy : ndarray of shape (n_steps,)
        ``val_k / val_0``.
    objective : ndarray of shape (n_steps,)
        Trade-off objective.
    best_step : int
        Chosen step.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure holding the axes.
    lines_ : list of matplotlib Line2D
        Accuracy and objective curves.
    markers_ : dict of str to matplotlib PathCollection
        ``"chosen"`` and ``"full"`` points.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.time_series import SequentialFeatureDetachment, SFDCurveDisplay
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 100))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> sfd = SequentialFeatureDetachment(random_state=0).fit(X, y)
    >>> display = SFDCurveDisplay.from_estimator(sfd)
    >>> len(display.lines_), display.ax_.get_xscale()
    (2, 'log')
    """

    def __init__(self, *, n_features_kept, relative_accuracy, objective, best_step):
        self.n_features_kept = np.asarray(n_features_kept)
        self.relative_accuracy = np.asarray(relative_accuracy)
        self.objective = np.asarray(objective)
        self.best_step = int(best_step)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the curve of a fitted selector or Detach-ROCKET classifier.

        Parameters
        ----------
        estimator : SequentialFeatureDetachment or DetachRocketClassifier
            Fitted estimator (for a ``DetachEnsembleClassifier``, pass one of its
            ``estimators_``).
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : SFDCurveDisplay
            The plotted display.
        """
        sfd = _selector(estimator)
        reference = sfd.val_scores_[0] if sfd.val_scores_[0] > 0 else 1.0
        display = cls(
            n_features_kept=sfd.sizes_,
            relative_accuracy=sfd.val_scores_ / reference,
            objective=sfd.objective_,
            best_step=sfd.best_step_,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : SFDCurveDisplay
            Self, with ``ax_``, ``figure_``, ``lines_`` and ``markers_`` set.
        """
        import matplotlib.pyplot as plt
        from matplotlib.ticker import ScalarFormatter

        if ax is None:
            _, ax = plt.subplots()
        x = self.n_features_kept
        (acc,) = ax.plot(x, self.relative_accuracy, label="Relative validation accuracy")
        (obj,) = ax.plot(x, self.objective, label="Smoothed trade-off objective")
        k = self.best_step
        chosen = ax.scatter(
            [x[k], x[k]],
            [self.relative_accuracy[k], self.objective[k]],
            color="C3",
            zorder=3,
            label=f"Chosen step ({x[k]} features)",
        )
        full = ax.scatter(
            [x[0]],
            [self.relative_accuracy[0]],
            marker="s",
            color="k",
            zorder=3,
            label=f"Full model ({x[0]} features)",
        )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xlabel("Number of features kept")
        ax.set_ylabel("Relative accuracy")
        ax.legend(loc="lower right")
        self.ax_, self.figure_, self.lines_ = ax, ax.figure, [acc, obj]
        self.markers_ = {"chosen": chosen, "full": full}
        return self


class ChannelRelevanceDisplay:
    """Relevance of every channel of a fitted :class:`DetachEnsembleClassifier`.

    Build it with :meth:`from_estimator`. Bars give ``channel_relevance_``, error
    bars the spread over members (25th to 75th percentile).

    Parameters
    ----------
    relevance : ndarray of shape (n_channels,)
        Relevance of each channel (sums to 1).
    member_relevance : ndarray of shape (n_estimators, n_channels)
        Relevance of each channel for each member.
    channel_names : list of str, default=None
        Tick labels; channel indices when ``None``.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the bars.
    figure_ : matplotlib Figure
        Figure holding the axes.
    bars_ : matplotlib BarContainer
        One bar per channel.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.time_series import ChannelRelevanceDisplay, DetachEnsembleClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 15)
    >>> X = rng.standard_normal((30, 2, 20))
    >>> X[:, 0] += 2 * y[:, None]
    >>> ens = DetachEnsembleClassifier(n_estimators=2, n_kernels=84, random_state=0).fit(X, y)
    >>> display = ChannelRelevanceDisplay.from_estimator(ens, channel_names=["a", "b"])
    >>> len(display.bars_)
    2
    """

    def __init__(self, *, relevance, member_relevance, channel_names=None):
        self.relevance = np.asarray(relevance)
        self.member_relevance = np.asarray(member_relevance)
        self.channel_names = channel_names

    @classmethod
    def from_estimator(cls, estimator, *, channel_names=None, ax=None):
        """Plot the channel relevance of a fitted ensemble.

        Parameters
        ----------
        estimator : DetachEnsembleClassifier
            Fitted ensemble.
        channel_names : list of str, default=None
            One label per channel; channel indices when ``None``.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : ChannelRelevanceDisplay
            The plotted display.
        """
        from skrepgeom.time_series._ensemble import DetachEnsembleClassifier

        check_display_estimator(
            "ChannelRelevanceDisplay",
            estimator,
            DetachEnsembleClassifier,
            "channel_relevance_",
            hint=" (channel relevance is measured over the members of an ensemble)",
        )
        display = cls(
            relevance=estimator.channel_relevance_,
            member_relevance=estimator.channel_relevance_members_,
            channel_names=channel_names,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the bars.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : ChannelRelevanceDisplay
            Self, with ``ax_``, ``figure_`` and ``bars_`` set.
        """
        n_channels = self.relevance.shape[0]
        names = self.channel_names
        if names is not None and len(names) != n_channels:
            raise ValueError(
                f"channel_names has {len(names)} names but the model has {n_channels} "
                "channel(s); give one name per channel."
            )
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        low, high = np.percentile(self.member_relevance, [25, 75], axis=0)
        positions = np.arange(n_channels)
        bars = ax.bar(
            positions,
            self.relevance,
            yerr=np.vstack(
                [np.clip(self.relevance - low, 0, None), np.clip(high - self.relevance, 0, None)]
            ),
            color="C0",
            capsize=3,
        )
        ax.set_xticks(positions)
        ax.set_xticklabels(names if names is not None else positions)
        ax.set_xlabel("Channel")
        ax.set_ylabel("Relevance")
        self.ax_, self.figure_, self.bars_ = ax, ax.figure, bars
        return self


def plot_channel_relevance(ensemble, *, channel_names=None, ax=None):
    """Bar plot of a fitted ensemble's ``channel_relevance_`` (deprecated).

    .. deprecated:: 0.1
       Use :meth:`ChannelRelevanceDisplay.from_estimator`; this alias will be removed
       in the next release.

    Parameters
    ----------
    ensemble : DetachEnsembleClassifier
        Fitted ensemble.
    channel_names : list of str, default=None
        Tick labels; channel indices when ``None``.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    ax : matplotlib Axes
        The axes with the bars.
    """
    warnings.warn(
        "plot_channel_relevance is deprecated and will be removed in the next release; "
        "use ChannelRelevanceDisplay.from_estimator(ensemble).ax_ instead.",
        FutureWarning,
        stacklevel=2,
    )
    return ChannelRelevanceDisplay.from_estimator(
        ensemble, channel_names=channel_names, ax=ax
    ).ax_
