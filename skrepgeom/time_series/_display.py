"""Plots of the SFD curve and of ensemble channel relevance."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["SFDCurveDisplay", "plot_channel_relevance"]


def _selector(estimator):
    """The fitted SequentialFeatureDetachment of a selector or a DetachRocketClassifier."""
    selector = getattr(estimator, "sfd_", estimator)
    check_is_fitted(selector, ["sizes_", "val_scores_", "objective_"])
    return selector


class SFDCurveDisplay:
    """Relative validation accuracy against the fraction of features dropped.

    Build it with :meth:`from_estimator`. Draws the relative validation accuracy
    ``val_k / val_0`` of every SFD step, the smoothed trade-off objective and the
    chosen step.

    Parameters
    ----------
    fraction_dropped : ndarray of shape (n_steps,)
        ``1 - s_k / P``.
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

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.time_series import SequentialFeatureDetachment, SFDCurveDisplay
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 100))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> sfd = SequentialFeatureDetachment(random_state=0).fit(X, y)
    >>> display = SFDCurveDisplay.from_estimator(sfd)
    >>> len(display.lines_)
    2
    """

    def __init__(self, *, fraction_dropped, relative_accuracy, objective, best_step):
        self.fraction_dropped = np.asarray(fraction_dropped)
        self.relative_accuracy = np.asarray(relative_accuracy)
        self.objective = np.asarray(objective)
        self.best_step = int(best_step)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the curve of a fitted selector or Detach-ROCKET classifier.

        Parameters
        ----------
        estimator : SequentialFeatureDetachment or DetachRocketClassifier
            Fitted estimator.
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
            fraction_dropped=1.0 - sfd.sizes_ / sfd.sizes_[0],
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
            Self, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        x = self.fraction_dropped
        (acc,) = ax.plot(x, self.relative_accuracy, label="Relative validation accuracy")
        (obj,) = ax.plot(x, self.objective, label="Smoothed trade-off objective")
        k = self.best_step
        ax.scatter([x[k]], [self.objective[k]], color="C2", zorder=3, label="Chosen step")
        ax.scatter([x[k]], [self.relative_accuracy[k]], color="C3", zorder=3)
        ax.set_xlabel("Fraction of features dropped")
        ax.set_ylabel("Relative accuracy")
        ax.legend(loc="lower left")
        self.ax_, self.figure_, self.lines_ = ax, ax.figure, [acc, obj]
        return self


def plot_channel_relevance(ensemble, *, channel_names=None, ax=None):
    """Bar plot of a fitted ensemble's ``channel_relevance_``.

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
        The axes with the bars (relevance of each channel, member spread as
        error bars: 25th to 75th percentile).

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.time_series import DetachEnsembleClassifier, plot_channel_relevance
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 15)
    >>> X = rng.standard_normal((30, 2, 20))
    >>> X[:, 0] += 2 * y[:, None]
    >>> ens = DetachEnsembleClassifier(n_estimators=2, n_kernels=84, random_state=0).fit(X, y)
    >>> len(plot_channel_relevance(ens).patches)
    2
    """
    import matplotlib.pyplot as plt

    check_is_fitted(ensemble, "channel_relevance_")
    if ax is None:
        _, ax = plt.subplots()
    relevance = ensemble.channel_relevance_
    members = ensemble.channel_relevance_members_ / ensemble.channel_relevance_members_.sum(
        axis=1, keepdims=True
    ) * 1.0
    low, high = np.percentile(members, [25, 75], axis=0)
    positions = np.arange(relevance.shape[0])
    ax.bar(
        positions,
        relevance,
        yerr=np.vstack([np.clip(relevance - low, 0, None), np.clip(high - relevance, 0, None)]),
        color="C0",
        capsize=3,
    )
    ax.set_xticks(positions)
    ax.set_xticklabels(channel_names if channel_names is not None else positions)
    ax.set_xlabel("Channel")
    ax.set_ylabel("Relevance")
    return ax
