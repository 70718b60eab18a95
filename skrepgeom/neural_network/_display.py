"""The "wall plot" of layer activations: samples by class against units by preferred class."""

import numpy as np
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

from skrepgeom.utils._plotting import check_display_estimator

__all__ = ["ActivationWallDisplay"]


class ActivationWallDisplay:
    """Heat map of a layer's activations, samples sorted by class, units by preferred class.

    The figure of Tosato et al. (the "wall plot"): in a Forward-Forward network each
    class lights up its own small block of units, which shows as a staircase of
    bright blocks; a backpropagation network shows dense, shared activity. Build it
    with :meth:`from_estimator` or :meth:`from_activations`; both call :meth:`plot`.

    Parameters
    ----------
    activations : ndarray of shape (n_samples, n_units)
        Activations, already sorted (rows by class, columns by preferred class).
    sample_labels : ndarray of shape (n_samples,)
        Class of every (sorted) row.
    unit_labels : ndarray of shape (n_units,)
        Preferred class of every (sorted) unit: the class of highest mean activation,
        or ``-1`` for units silent on every sample (placed last).

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the heat map.
    figure_ : matplotlib Figure
        Figure holding the axes.
    image_ : matplotlib AxesImage
        The heat map.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.neural_network import ActivationWallDisplay
    >>> H = np.kron(np.eye(3), np.ones((4, 2)))  # 12 samples, 6 units, 3 classes
    >>> display = ActivationWallDisplay.from_activations(H, np.repeat([0, 1, 2], 4))
    >>> display.image_.get_array().shape
    (12, 6)
    """

    def __init__(self, *, activations, sample_labels, unit_labels):
        self.activations = np.asarray(activations)
        self.sample_labels = np.asarray(sample_labels)
        self.unit_labels = np.asarray(unit_labels)

    @classmethod
    def from_activations(cls, H, y, *, ax=None, cmap="viridis", only_active=False):
        """Sort ``H`` by class and by preferred class of each unit, and plot it.

        Parameters
        ----------
        H : array-like of shape (n_samples, n_units)
            Activations.
        y : array-like of shape (n_samples,)
            Class of every sample.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        cmap : str, default="viridis"
            Colour map.
        only_active : bool, default=False
            Drop the units that are silent on every sample.

        Returns
        -------
        display : ActivationWallDisplay
            The plotted display.
        """
        H = check_array(H, dtype=(np.float64, np.float32))
        y = column_or_1d(y)
        check_consistent_length(H, y)
        classes, y_index = np.unique(y, return_inverse=True)
        sample_order = np.argsort(y_index, kind="stable")
        means = np.stack([H[y_index == c].mean(axis=0) for c in range(classes.shape[0])])
        preferred = means.argmax(axis=0)
        silent = ~np.any(H > 0, axis=0)
        preferred = np.where(silent, classes.shape[0], preferred)
        strength = means.max(axis=0)
        unit_order = np.lexsort((-strength, preferred))
        if only_active:
            unit_order = unit_order[~silent[unit_order]]
        unit_labels = np.where(
            preferred[unit_order] < classes.shape[0],
            classes[np.minimum(preferred[unit_order], classes.shape[0] - 1)],
            -1,
        )
        display = cls(
            activations=H[np.ix_(sample_order, unit_order)],
            sample_labels=y[sample_order],
            unit_labels=unit_labels,
        )
        return display.plot(ax=ax, cmap=cmap)

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, layer=0, ax=None, cmap="viridis", only_active=False
    ):
        """Wall plot of one layer of a fitted :class:`ForwardForwardClassifier`.

        The activations are those of :meth:`ForwardForwardClassifier.transform_layers`
        with the **true** labels ``y`` embedded, as in the paper.

        Parameters
        ----------
        estimator : ForwardForwardClassifier
            Fitted classifier.
        X : array-like of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,)
            True labels.
        layer : int, default=0
            Layer to show.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        cmap : str, default="viridis"
            Colour map.
        only_active : bool, default=False
            Drop the units that are silent on every sample.

        Returns
        -------
        display : ActivationWallDisplay
            The plotted display.
        """
        from skrepgeom.neural_network._forward_forward import ForwardForwardClassifier

        check_display_estimator(
            "ActivationWallDisplay",
            estimator,
            ForwardForwardClassifier,
            hint="; use from_activations for the activations of another network",
        )
        layers = estimator.transform_layers(X, y)
        if not -len(layers) <= layer < len(layers):
            raise ValueError(f"layer={layer} is out of range for {len(layers)} layer(s).")
        return cls.from_activations(layers[layer], y, ax=ax, cmap=cmap, only_active=only_active)

    def plot(self, ax=None, *, cmap="viridis"):
        """Draw the heat map.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        cmap : str, default="viridis"
            Colour map.

        Returns
        -------
        display : ActivationWallDisplay
            ``self``, with ``ax_``, ``figure_`` and ``image_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        self.image_ = ax.imshow(self.activations, aspect="auto", cmap=cmap, interpolation="nearest")
        # Horizontal lines between classes.
        changes = np.flatnonzero(self.sample_labels[1:] != self.sample_labels[:-1]) + 0.5
        for position in changes:
            ax.axhline(position, color="white", linewidth=0.5)
        ax.set_xlabel("units (sorted by preferred class)")
        ax.set_ylabel("samples (sorted by class)")
        ax.figure.colorbar(self.image_, ax=ax, label="activation")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
