"""Plot of the intrinsic-dimension profile across layers."""

import numpy as np

from skrepgeom.utils._plotting import check_display_estimator

__all__ = ["IntrinsicDimensionProfileDisplay"]


class IntrinsicDimensionProfileDisplay:
    """Intrinsic dimension (with error bars) against layer, overlaps on a twin axis.

    Build it with :meth:`from_estimator` (a fitted
    :class:`IntrinsicDimensionProfile`), which calls :meth:`plot`. The peak layer
    is marked by a dashed line, the selected layer by a star.

    Parameters
    ----------
    dimensions : ndarray of shape (n_layers,)
        Intrinsic dimension of each layer.
    errors : ndarray of shape (n_layers,)
        Their standard errors.
    layer_names : list of str
        Tick labels.
    peak_layer : int
        Index of the profile's peak.
    selected_layer : int
        Index of the selected layer.
    overlap_input : ndarray of shape (n_layers,), default=None
        Overlap of each layer with the first one.
    overlap_consecutive : ndarray of shape (n_layers - 1,), default=None
        Overlap of layer ``l`` with layer ``l + 1``, drawn at ``l + 1``.
    overlap_labels : ndarray of shape (n_layers,), default=None
        Label overlap of each layer.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the intrinsic-dimension profile.
    ax_overlap_ : matplotlib Axes or None
        Twin axes with the overlaps, ``None`` when there are none.
    figure_ : matplotlib Figure
        Figure holding the axes.
    errorbar_ : matplotlib ErrorbarContainer
        The profile.
    overlap_lines_ : dict of str to matplotlib Line2D
        ``"input"``, ``"consecutive"``, ``"labels"``: the overlap curves drawn.
    peak_line_ : matplotlib Line2D
        Vertical line at the peak.
    selected_marker_ : matplotlib Line2D
        Star at the selected layer.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.representations import (
    ...     IntrinsicDimensionProfile, IntrinsicDimensionProfileDisplay)
    >>> rng = np.random.default_rng(0)
    >>> latent = rng.uniform(size=(1000, 6))
    >>> layers = [latent[:, :2], latent, latent[:, :3]]
    >>> profile = IntrinsicDimensionProfile(subsample_factor=2, random_state=0).fit(layers)
    >>> display = IntrinsicDimensionProfileDisplay.from_estimator(profile)
    >>> sorted(display.overlap_lines_)
    ['consecutive', 'input']
    """

    def __init__(
        self,
        *,
        dimensions,
        errors,
        layer_names,
        peak_layer,
        selected_layer,
        overlap_input=None,
        overlap_consecutive=None,
        overlap_labels=None,
    ):
        self.dimensions = np.asarray(dimensions)
        self.errors = np.asarray(errors)
        self.layer_names = list(layer_names)
        self.peak_layer = peak_layer
        self.selected_layer = selected_layer
        self.overlap_input = overlap_input
        self.overlap_consecutive = overlap_consecutive
        self.overlap_labels = overlap_labels

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the profile of a fitted :class:`IntrinsicDimensionProfile`.

        Parameters
        ----------
        estimator : IntrinsicDimensionProfile
            Fitted estimator; any other type raises a ``TypeError``.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : IntrinsicDimensionProfileDisplay
            The plotted display.
        """
        from skrepgeom.representations import IntrinsicDimensionProfile

        check_display_estimator(
            "IntrinsicDimensionProfileDisplay",
            estimator,
            IntrinsicDimensionProfile,
            ["dimensions_", "selected_layer_"],
        )
        display = cls(
            dimensions=estimator.dimensions_,
            errors=estimator.dimensions_err_,
            layer_names=estimator.layer_names_,
            peak_layer=estimator.peak_layer_,
            selected_layer=estimator.selected_layer_,
            overlap_input=estimator.overlap_input_,
            overlap_consecutive=estimator.overlap_consecutive_,
            overlap_labels=estimator.overlap_labels_,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the profile, the overlaps and the markers.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : IntrinsicDimensionProfileDisplay
            ``self``, with the attributes set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        layers = np.arange(self.dimensions.shape[0])
        self.errorbar_ = ax.errorbar(
            layers, self.dimensions, yerr=self.errors, marker="o", color="C0", capsize=3,
            label="intrinsic dimension",
        )
        self.peak_line_ = ax.axvline(
            self.peak_layer, color="0.5", linestyle="--", linewidth=1, label="peak"
        )
        (self.selected_marker_,) = ax.plot(
            [self.selected_layer], [self.dimensions[self.selected_layer]], marker="*",
            markersize=16, color="C3", linestyle="none", label="selected layer",
        )
        ax.set_xticks(layers)
        rotation = 45 if len(self.layer_names) > 6 else 0
        ax.set_xticklabels(
            self.layer_names, rotation=rotation, ha="right" if rotation else "center"
        )
        ax.set_xlabel("layer")
        ax.set_ylabel("intrinsic dimension")

        curves = {
            "input": (layers, self.overlap_input, "overlap with input", "C1"),
            "consecutive": (layers[1:], self.overlap_consecutive, "overlap with previous", "C2"),
            "labels": (layers, self.overlap_labels, "label overlap", "C4"),
        }
        self.overlap_lines_ = {}
        self.ax_overlap_ = None
        if any(values is not None and len(values) for _, values, _, _ in curves.values()):
            self.ax_overlap_ = ax.twinx()
            for key, (x, values, label, color) in curves.items():
                if values is None or not len(values):
                    continue
                (self.overlap_lines_[key],) = self.ax_overlap_.plot(
                    x, values, marker=".", linestyle=":", color=color, label=label
                )
            self.ax_overlap_.set_ylim(0, 1.05)
            self.ax_overlap_.set_ylabel("neighbourhood overlap")
        handles, labels = ax.get_legend_handles_labels()
        top = ax
        if self.ax_overlap_ is not None:
            more_handles, more_labels = self.ax_overlap_.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
            top = self.ax_overlap_
        # Below the axes: inside, it would hide curves that span the whole height.
        top.legend(
            handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3,
            fontsize="small", frameon=False,
        )
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
