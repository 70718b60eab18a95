"""Plots of layer zigzag persistence: similarity heat-map and layer barcode."""

import numpy as np

from skrepgeom.topology._zigzag import betti_curves, layer_barcode
from skrepgeom.utils._plotting import check_display_estimator

__all__ = ["PersistenceSimilarityDisplay", "ZigzagBarcodeDisplay"]


class PersistenceSimilarityDisplay:
    """Heat-map of a persistence-similarity matrix, pruned layers marked.

    Build it with :meth:`from_estimator` (a fitted
    :class:`ZigzagPersistenceSimilarity`) or :meth:`from_matrix`; both call
    :meth:`plot`.

    Parameters
    ----------
    similarity : ndarray of shape (n_layers, n_layers)
        ``PS_p`` counts or their normalised version.
    pruned_layers : array-like of int, default=None
        Layers to mark (ticks in red and a frame around the block).
    dim : int, default=None
        Homology dimension, for the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the heat-map.
    figure_ : matplotlib Figure
        Figure holding the axes.
    image_ : matplotlib AxesImage
        The heat-map.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.topology import PersistenceSimilarityDisplay
    >>> ps = np.array([[1, 1, 1], [1, 2, 2], [1, 2, 2]])
    >>> display = PersistenceSimilarityDisplay.from_matrix(ps, pruned_layers=[1])
    >>> display.image_.get_array().shape
    (3, 3)
    """

    def __init__(self, *, similarity, pruned_layers=None, dim=None):
        self.similarity = np.asarray(similarity)
        self.pruned_layers = (
            np.zeros(0, dtype=np.int64) if pruned_layers is None else np.asarray(pruned_layers)
        )
        self.dim = dim

    @classmethod
    def from_estimator(cls, estimator, *, dim=1, normalize=False, ax=None):
        """Plot ``PS_dim`` of a fitted :class:`ZigzagPersistenceSimilarity`.

        Parameters
        ----------
        estimator : ZigzagPersistenceSimilarity
            Fitted estimator.
        dim : int, default=1
            Homology dimension, one of its ``homology_dims``.
        normalize : bool, default=False
            Plot ``normalized_similarity_`` instead of the counts.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : PersistenceSimilarityDisplay
            The plotted display.
        """
        from skrepgeom.topology._similarity import ZigzagPersistenceSimilarity

        check_display_estimator(
            "PersistenceSimilarityDisplay",
            estimator,
            ZigzagPersistenceSimilarity,
            ["similarity_", "pruned_layers_"],
        )
        index = estimator._dim_index(dim)
        matrix = estimator.normalized_similarity_ if normalize else estimator.similarity_
        pruned = estimator.pruned_layers_ if dim == estimator.prune_dim else None
        return cls.from_matrix(matrix[index], pruned_layers=pruned, dim=dim, ax=ax)

    @classmethod
    def from_matrix(cls, similarity, *, pruned_layers=None, dim=None, ax=None):
        """Plot a persistence-similarity matrix.

        Parameters
        ----------
        similarity : array-like of shape (n_layers, n_layers)
            The matrix, e.g. from :func:`~skrepgeom.topology.persistence_similarity`.
        pruned_layers : array-like of int, default=None
            Layers to mark.
        dim : int, default=None
            Homology dimension, for the title.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : PersistenceSimilarityDisplay
            The plotted display.
        """
        similarity = np.asarray(similarity)
        if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
            raise ValueError(f"similarity must be a square matrix, got shape {similarity.shape}.")
        return cls(similarity=similarity, pruned_layers=pruned_layers, dim=dim).plot(ax=ax)

    def plot(self, ax=None, *, cmap="viridis"):
        """Draw the heat-map.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        cmap : str, default="viridis"
            Colour map.

        Returns
        -------
        display : PersistenceSimilarityDisplay
            ``self``, with ``ax_``, ``figure_`` and ``image_`` set.
        """
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        if ax is None:
            _, ax = plt.subplots()
        n_layers = self.similarity.shape[0]
        self.image_ = ax.imshow(self.similarity, origin="lower", cmap=cmap, interpolation="nearest")
        ax.figure.colorbar(self.image_, ax=ax, label="cycles alive on every layer between")
        ax.set_xlabel("layer j")
        ax.set_ylabel("layer i")
        title = "persistence similarity"
        ax.set_title(f"{title} $PS_{{{self.dim}}}$" if self.dim is not None else title)
        pruned = np.asarray(self.pruned_layers, dtype=int)
        if pruned.size:
            for start, stop in _runs(pruned):
                ax.add_patch(
                    Rectangle(
                        (start - 0.5, start - 0.5),
                        stop - start + 1,
                        stop - start + 1,
                        fill=False,
                        edgecolor="red",
                        linewidth=2,
                    )
                )
            ax.plot(pruned, np.full(pruned.shape, -0.5), "rv", clip_on=False, label="pruned")
            ax.legend(loc="upper left", fontsize="small")
        ax.set_xlim(-0.5, n_layers - 0.5)
        ax.set_ylim(-0.5, n_layers - 0.5)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def _runs(layers):
    """Maximal runs of consecutive integers as (first, last) pairs."""
    layers = np.sort(np.asarray(layers))
    breaks = np.flatnonzero(np.diff(layers) > 1)
    starts = np.concatenate([[layers[0]], layers[breaks + 1]])
    stops = np.concatenate([layers[breaks], [layers[-1]]])
    return list(zip(starts.tolist(), stops.tolist()))


class ZigzagBarcodeDisplay:
    """Layer barcode of one homology dimension, with its Betti curve beneath.

    Bars are drawn in layer units (a bar covers the layers its class lives on),
    sorted by first layer, then by length.

    Parameters
    ----------
    barcode : ndarray of shape (n_bars, 3)
        Position-unit rows ``(dim, birth, death)``.
    n_layers : int
        Number of layers.
    dim : int, default=1
        Homology dimension to draw.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the bars.
    betti_ax_ : matplotlib Axes
        Axes with the Betti curve, beneath ``ax_``.
    figure_ : matplotlib Figure
        Figure holding the axes.
    bars_ : matplotlib LineCollection
        The bars.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.topology import ZigzagBarcodeDisplay
    >>> barcode = np.array([[1, 0, 5], [1, 2, 5], [1, 3, 4]])
    >>> display = ZigzagBarcodeDisplay.from_barcode(barcode, n_layers=3)
    >>> len(display.bars_.get_segments())
    2
    """

    def __init__(self, *, barcode, n_layers, dim=1):
        self.barcode = np.asarray(barcode)
        self.n_layers = n_layers
        self.dim = dim

    @classmethod
    def from_estimator(cls, estimator, *, dim=1, n_layers=None, ax=None):
        """Plot the layer bars of a fitted :class:`ZigzagPersistenceSimilarity`.

        Parameters
        ----------
        estimator : ZigzagPersistenceSimilarity
            Fitted estimator.
        dim : int, default=1
            Homology dimension, one of its ``homology_dims``.
        n_layers : int, default=None
            Show only the first ``n_layers`` layers; ``None`` shows all.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : ZigzagBarcodeDisplay
            The plotted display.
        """
        from skrepgeom.topology._similarity import ZigzagPersistenceSimilarity

        check_display_estimator(
            "ZigzagBarcodeDisplay",
            estimator,
            ZigzagPersistenceSimilarity,
            ["barcode_", "n_layers_"],
            hint="; for a barcode of your own use ZigzagBarcodeDisplay.from_barcode",
        )
        estimator._dim_index(dim)
        shown = estimator.n_layers_ if n_layers is None else min(n_layers, estimator.n_layers_)
        barcode = estimator.barcode_
        if shown < estimator.n_layers_:
            barcode = barcode[barcode[:, 1] < 2 * shown - 1].copy()
            barcode[:, 2] = np.minimum(barcode[:, 2], 2 * shown - 1)
        return cls.from_barcode(barcode, n_layers=shown, dim=dim, ax=ax)

    @classmethod
    def from_barcode(cls, barcode, *, n_layers, dim=1, ax=None):
        """Plot a position-unit barcode.

        Parameters
        ----------
        barcode : array-like of shape (n_bars, 3)
            Rows ``(dim, birth, death)`` in position units.
        n_layers : int
            Number of layers.
        dim : int, default=1
            Homology dimension to draw.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : ZigzagBarcodeDisplay
            The plotted display.
        """
        return cls(barcode=barcode, n_layers=n_layers, dim=dim).plot(ax=ax)

    def plot(self, ax=None, *, color="C0"):
        """Draw the bars and the Betti curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes for the bars; a new figure when ``None``. The Betti curve goes
            in an axes attached beneath it.
        color : str, default="C0"
            Colour of the bars.

        Returns
        -------
        display : ZigzagBarcodeDisplay
            ``self``, with ``ax_``, ``betti_ax_``, ``figure_`` and ``bars_`` set.
        """
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4.5))
        bars = layer_barcode(self.barcode, self.n_layers)
        bars = bars[bars[:, 0] == self.dim]
        order = np.lexsort((bars[:, 1] - bars[:, 2], bars[:, 1]))
        bars = bars[order]
        rows = np.arange(bars.shape[0])
        # A bar [first, end) covers layers first .. end - 1: draw it over whole cells.
        segments = np.stack(
            [np.c_[bars[:, 1] - 0.4, rows], np.c_[bars[:, 2] - 0.6, rows]], axis=1
        ).astype(float)
        self.bars_ = LineCollection(segments, colors=color, linewidths=2)
        ax.add_collection(self.bars_)
        ax.set_xlim(-0.5, self.n_layers - 0.5)
        ax.set_ylim(-1, max(bars.shape[0], 1))
        ax.set_ylabel(f"$H_{{{self.dim}}}$ bars")
        ax.set_title(f"zigzag barcode, dimension {self.dim}")
        ax.tick_params(labelbottom=False)
        betti_ax = ax.inset_axes([0.0, -0.32, 1.0, 0.28], sharex=ax)
        betti = betti_curves(self.barcode, self.n_layers, dims=(self.dim,))[0]
        betti_ax.step(np.arange(self.n_layers), betti, where="mid", color="k")
        betti_ax.set_ylabel(f"$\\beta_{{{self.dim}}}$")
        betti_ax.set_xlabel("layer")
        for axis in (ax.yaxis, betti_ax.yaxis, betti_ax.xaxis):
            axis.set_major_locator(MaxNLocator(integer=True))
        self.ax_ = ax
        self.betti_ax_ = betti_ax
        self.figure_ = ax.figure
        return self

