"""Dendrogram of density peaks on a log-density axis."""

import numpy as np

from skrepgeom.utils._plotting import check_display_estimator

__all__ = ["PeakDendrogramDisplay"]


class PeakDendrogramDisplay:
    """Dendrogram of the clusters of a :class:`DensityPeakClusterer`.

    Each leaf stands at its peak's log-density, each join at the log-density of
    the saddle through which the two groups connect; groups with no border
    between them join below every saddle. Build it with :meth:`from_estimator`.

    Parameters
    ----------
    linkage : ndarray of shape (n_clusters - 1, 4)
        scipy linkage matrix with heights measured down from ``top``.
    peak_density : ndarray of shape (n_clusters,)
        Log-density of each cluster's peak.
    top : float
        Log-density at height 0 of ``linkage``.
    leaf_labels : list of str, default=None
        Text under each leaf; cluster numbers when ``None``.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the dendrogram.
    figure_ : matplotlib Figure
        Figure holding the axes.
    lines_ : list of matplotlib Line2D
        One line per join, one marker per leaf.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skrepgeom.cluster import DensityPeakClusterer, PeakDendrogramDisplay
    >>> X, _ = make_blobs(1500, centers=4, random_state=1)
    >>> dp = DensityPeakClusterer().fit(X)
    >>> display = PeakDendrogramDisplay.from_estimator(dp)
    >>> [t.get_text() for t in display.ax_.get_xticklabels()][:1]
    ['2 (n=375)']
    """

    def __init__(self, *, linkage, peak_density, top, leaf_labels=None):
        self.linkage = np.asarray(linkage, dtype=np.float64)
        self.peak_density = np.asarray(peak_density, dtype=np.float64)
        self.top = float(top)
        self.leaf_labels = leaf_labels

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, show_sizes=True, **kwargs):
        """Plot the peak hierarchy of a fitted :class:`DensityPeakClusterer`.

        Parameters
        ----------
        estimator : DensityPeakClusterer
            Fitted estimator.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        show_sizes : bool, default=True
            Label each leaf ``"c (n=size)"``, the size being the number of points
            labelled ``c``; else just ``"c"``.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the joins.

        Returns
        -------
        display : PeakDendrogramDisplay
            The plotted display.
        """
        from skrepgeom.cluster._density_peaks import DensityPeakClusterer

        check_display_estimator(
            "PeakDendrogramDisplay", estimator, DensityPeakClusterer, ["linkage_", "peak_density_"]
        )
        n_clusters = estimator.n_clusters_
        if show_sizes:
            sizes = np.bincount(estimator.labels_[estimator.labels_ >= 0], minlength=n_clusters)
            leaf_labels = [f"{c} (n={sizes[c]})" for c in range(n_clusters)]
        else:
            leaf_labels = [str(c) for c in range(n_clusters)]
        display = cls(
            linkage=estimator.linkage_,
            peak_density=estimator.peak_density_,
            top=np.max(estimator.density_),
            leaf_labels=leaf_labels,
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw the dendrogram.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the joins.

        Returns
        -------
        display : PeakDendrogramDisplay
            ``self``, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        n_leaves = self.peak_density.shape[0]
        labels = self.leaf_labels or [str(c) for c in range(n_leaves)]
        # Leaves left to right in the order scipy's dendrogram would draw them.
        if n_leaves > 1:
            from scipy.cluster.hierarchy import leaves_list

            order = leaves_list(self.linkage)
        else:
            order = np.arange(n_leaves)
        x = np.empty(n_leaves + self.linkage.shape[0])
        y = np.empty_like(x)
        x[order] = np.arange(n_leaves)
        y[:n_leaves] = self.peak_density
        style = {"color": "C0", **kwargs}
        self.lines_ = []
        for row, (left, right, height, _) in enumerate(self.linkage):
            left, right = int(left), int(right)
            node = n_leaves + row
            x[node] = 0.5 * (x[left] + x[right])
            y[node] = self.top - height
            self.lines_ += ax.plot(
                [x[left], x[left], x[right], x[right]],
                [y[left], y[node], y[node], y[right]],
                **style,
            )
        self.lines_ += ax.plot(x[:n_leaves], y[:n_leaves], "o", color=style["color"])
        ax.set_xticks(np.arange(n_leaves))
        ax.set_xticklabels([labels[c] for c in order], rotation=90 if n_leaves > 8 else 0)
        ax.set_xlabel("cluster")
        ax.set_ylabel("log-density")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
