"""Plot of intrinsic dimension against length scale."""

import numpy as np

from skrepgeom.utils._plotting import check_display_estimator

__all__ = ["IntrinsicDimensionScaleDisplay"]


def _plain_log_formatter():
    """matplotlib's choice of which log ticks to label, written as plain numbers."""
    from matplotlib.ticker import LogFormatter

    class PlainLogFormatter(LogFormatter):
        def __call__(self, x, pos=None):
            return f"{x:g}" if super().__call__(x, pos) else ""

    return PlainLogFormatter


class IntrinsicDimensionScaleDisplay:
    """Intrinsic dimension against length scale, with error bars.

    Build it with :meth:`from_estimator` (a fitted :class:`GrideDimension`) or
    :meth:`from_decimation` (TwoNN on decimated data); both call :meth:`plot`.

    Parameters
    ----------
    scales : ndarray of shape (n_scales,)
        Length scales.
    dimensions : ndarray of shape (n_scales,)
        Estimates at each scale.
    errors : ndarray of shape (n_scales,)
        Their standard errors.
    label : str, default=None
        Legend label.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure holding the axes.
    errorbar_ : matplotlib ErrorbarContainer
        The plotted curve.

    Examples
    --------
    >>> from sklearn.datasets import make_swiss_roll
    >>> from skrepgeom.dimension import GrideDimension, IntrinsicDimensionScaleDisplay
    >>> X, _ = make_swiss_roll(1000, random_state=0)
    >>> gride = GrideDimension(range_max=16).fit(X)
    >>> display = IntrinsicDimensionScaleDisplay.from_estimator(gride)
    >>> display.errorbar_.lines[0].get_xdata().shape
    (4,)
    """

    def __init__(self, *, scales, dimensions, errors, label=None):
        self.scales = np.asarray(scales)
        self.dimensions = np.asarray(dimensions)
        self.errors = np.asarray(errors)
        self.label = label

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, xscale="log", label="GRIDE"):
        """Plot ``dimensions_`` against ``scales_`` of a fitted :class:`GrideDimension`.

        Parameters
        ----------
        estimator : GrideDimension
            Fitted estimator; any other type raises a ``TypeError``.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        xscale : str, default="log"
            Scale of the x axis.
        label : str, default="GRIDE"
            Legend label.

        Returns
        -------
        display : IntrinsicDimensionScaleDisplay
            The plotted display.
        """
        from skrepgeom.dimension._gride import GrideDimension

        check_display_estimator(
            "IntrinsicDimensionScaleDisplay",
            estimator,
            GrideDimension,
            ["dimensions_", "scales_"],
            hint="; for TwoNN across scales use IntrinsicDimensionScaleDisplay.from_decimation(X)",
        )
        display = cls(
            scales=estimator.scales_,
            dimensions=estimator.dimensions_,
            errors=estimator.dimensions_err_,
            label=label,
        )
        return display.plot(ax=ax, xscale=xscale)

    @classmethod
    def from_decimation(cls, X, *, ax=None, xscale="log", label="TwoNN decimation", **kwargs):
        """Run :func:`twonn_decimation` on ``X`` and plot its curve.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        xscale : str, default="log"
            Scale of the x axis.
        label : str, default="TwoNN decimation"
            Legend label.
        **kwargs : dict
            Passed to :func:`twonn_decimation` (``random_state``, ``n_min``, ...).

        Returns
        -------
        display : IntrinsicDimensionScaleDisplay
            The plotted display.
        """
        from skrepgeom.dimension._twonn import twonn_decimation

        result = twonn_decimation(X, **kwargs)
        display = cls(
            scales=result.scales, dimensions=result.dimensions, errors=result.errors, label=label
        )
        return display.plot(ax=ax, xscale=xscale)

    def plot(self, ax=None, *, xscale="log"):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        xscale : str, default="log"
            Scale of the x axis. A log axis is labelled with plain numbers
            (``0.5``, ``2``), not powers of ten.

        Returns
        -------
        display : IntrinsicDimensionScaleDisplay
            ``self``, with ``ax_``, ``figure_`` and ``errorbar_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        self.errorbar_ = ax.errorbar(
            self.scales, self.dimensions, yerr=self.errors, marker="o", capsize=3, label=self.label
        )
        ax.set_xscale(xscale)
        if xscale == "log":
            # The default labels write every tick as a power of ten ("3x10^0"), which
            # collide when the scales span less than a decade.
            formatter = _plain_log_formatter()
            ax.xaxis.set_major_formatter(formatter(labelOnlyBase=False))
            ax.xaxis.set_minor_formatter(formatter(labelOnlyBase=False))
        ax.set_xlabel("length scale")
        ax.set_ylabel("intrinsic dimension")
        if self.label is not None:
            ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
