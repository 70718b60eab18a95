"""Plots of sparse-autoencoder training and of latent-annotation tables."""

import numpy as np

from skrepgeom.utils._plotting import check_display_estimator

__all__ = ["LatentAnnotationDisplay", "TrainingHistoryDisplay"]


class TrainingHistoryDisplay:
    """Loss per step of a sparse autoencoder, with L0 and dead fraction on a twin axis.

    Build it with :meth:`from_estimator`, which calls :meth:`plot`.

    Parameters
    ----------
    steps : ndarray of shape (n_steps,)
        Step numbers of ``loss``.
    loss : ndarray of shape (n_steps,)
        Loss of every step.
    history_steps : ndarray of shape (n_logged,)
        Steps of the logged ``l0`` and ``dead_fraction``.
    l0 : ndarray of shape (n_logged,)
        Mean active latents per row at the logged steps.
    dead_fraction : ndarray of shape (n_logged,)
        Fraction of dead latents at the logged steps.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the loss.
    ax_l0_ : matplotlib Axes
        Twin axes with L0.
    figure_ : matplotlib Figure
        Figure holding the axes.
    line_ : matplotlib Line2D
        The loss curve.

    Examples
    --------
    >>> from skrepgeom.datasets import make_sparse_dictionary_data
    >>> from skrepgeom.decomposition import SparseAutoencoder, TrainingHistoryDisplay
    >>> X, _, _ = make_sparse_dictionary_data(1000, 8, 16, 2, random_state=0)
    >>> sae = SparseAutoencoder(n_components=32, batch_size=50, max_steps=100,
    ...                         random_state=0).fit(X)
    >>> display = TrainingHistoryDisplay.from_estimator(sae)
    >>> display.line_.get_xdata().shape
    (100,)
    """

    def __init__(self, *, steps, loss, history_steps, l0, dead_fraction):
        self.steps = np.asarray(steps)
        self.loss = np.asarray(loss)
        self.history_steps = np.asarray(history_steps)
        self.l0 = np.asarray(l0)
        self.dead_fraction = np.asarray(dead_fraction)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the training of a fitted :class:`SparseAutoencoder`.

        Parameters
        ----------
        estimator : SparseAutoencoder
            Fitted autoencoder.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : TrainingHistoryDisplay
            The plotted display.
        """
        from skrepgeom.decomposition._sae import SparseAutoencoder

        check_display_estimator("TrainingHistoryDisplay", estimator, SparseAutoencoder, "loss_curve_")
        history = estimator.history_
        display = cls(
            steps=np.arange(1, len(estimator.loss_curve_) + 1),
            loss=estimator.loss_curve_,
            history_steps=[h["step"] for h in history],
            l0=[h["l0"] for h in history],
            dead_fraction=[h["dead_fraction"] for h in history],
        )
        return display.plot(ax=ax)

    def plot(self, *, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : TrainingHistoryDisplay
            ``self``, with ``ax_``, ``ax_l0_``, ``figure_`` and ``line_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        (self.line_,) = ax.plot(self.steps, self.loss, color="C0", label="loss")
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        self.ax_l0_ = ax.twinx()
        self.ax_l0_.plot(self.history_steps, self.l0, color="C1", marker=".", label="L0")
        self.ax_l0_.set_ylabel("L0 (active latents per row), dead latents (%)")
        self.ax_l0_.plot(self.history_steps, 100 * self.dead_fraction, color="C2",
                         linestyle="--", label="dead latents (%)")
        self.ax_l0_.legend(loc="upper right")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class LatentAnnotationDisplay:
    """Precision against recall of every latent for one annotation at one threshold.

    Build it with :meth:`from_table` (the output of
    :func:`latent_annotation_enrichment`), which calls :meth:`plot`.

    Parameters
    ----------
    precision, recall : ndarray of shape (n_latents,)
        Of every latent.
    latents : ndarray of shape (n_latents,)
        Latent indices.
    significant : ndarray of shape (n_latents,), dtype=bool
        ``q_value < alpha``.
    annotation : object
        The annotation shown.
    threshold : float
        The firing threshold shown.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the scatter plot.
    figure_ : matplotlib Figure
        Figure holding the axes.
    scatter_ : matplotlib PathCollection
        The points.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.decomposition import latent_annotation_enrichment, LatentAnnotationDisplay
    >>> A = np.array([1, 1, 0, 0, 0, 0])[:, None]
    >>> codes = np.array([[2.0, 0], [1.5, 0], [0, 1], [0, 0], [0, 1], [0, 0]])
    >>> table = latent_annotation_enrichment(codes, A, thresholds=(0.5,))
    >>> display = LatentAnnotationDisplay.from_table(table, 0, 0.5)
    >>> display.scatter_.get_offsets().shape
    (2, 2)
    """

    def __init__(self, *, precision, recall, latents, significant, annotation, threshold):
        self.precision = np.asarray(precision)
        self.recall = np.asarray(recall)
        self.latents = np.asarray(latents)
        self.significant = np.asarray(significant, dtype=bool)
        self.annotation = annotation
        self.threshold = threshold

    @classmethod
    def from_table(cls, table, annotation, threshold, *, alpha=0.05, n_labels=3, ax=None):
        """Plot one annotation and threshold of an enrichment table.

        Parameters
        ----------
        table : pandas.DataFrame
            Output of :func:`latent_annotation_enrichment`.
        annotation : object
            Value of the ``annotation`` column to show.
        threshold : float
            Value of the ``threshold`` column to show.
        alpha : float, default=0.05
            Latents with ``q_value < alpha`` are drawn filled.
        n_labels : int, default=3
            Number of best latents (by F1) labelled with their index.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        display : LatentAnnotationDisplay
            The plotted display.
        """
        rows = table[(table["annotation"] == annotation) & np.isclose(table["threshold"], threshold)]
        if rows.empty:
            raise ValueError(f"the table has no row for annotation={annotation!r} and threshold={threshold}.")
        display = cls(
            precision=rows["precision"].to_numpy(),
            recall=rows["recall"].to_numpy(),
            latents=rows["latent"].to_numpy(),
            significant=(rows["q_value"] < alpha).to_numpy(),
            annotation=annotation,
            threshold=threshold,
        )
        return display.plot(ax=ax, n_labels=n_labels)

    def plot(self, *, ax=None, n_labels=3):
        """Draw the scatter plot.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        n_labels : int, default=3
            Number of best latents (by F1) labelled with their index.

        Returns
        -------
        display : LatentAnnotationDisplay
            ``self``, with ``ax_``, ``figure_`` and ``scatter_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        colors = np.where(self.significant, "C3", "0.7")
        self.scatter_ = ax.scatter(self.recall, self.precision, c=colors, s=12)
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(self.precision + self.recall > 0,
                          2 * self.precision * self.recall / (self.precision + self.recall), 0.0)
        for i in np.argsort(-f1, kind="stable")[:n_labels]:
            ax.annotate(str(self.latents[i]), (self.recall[i], self.precision[i]), fontsize=8)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(f"{self.annotation} (threshold {self.threshold:g})")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
