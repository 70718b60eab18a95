"""Robustness curves and reconstructions of (attacked) inputs."""

import numpy as np

from skrepgeom.robustness._metrics import robust_accuracy

__all__ = ["ReconstructionDisplay", "RobustnessCurveDisplay"]


class RobustnessCurveDisplay:
    """Robust accuracy against the threat radius eps.

    Build it with :meth:`from_estimator` (which runs :func:`robust_accuracy` at every
    eps) and overlay several defences by passing the same ``ax``.

    Parameters
    ----------
    eps_values : ndarray of shape (n_eps,)
        Threat radii.
    accuracies : ndarray of shape (n_eps,)
        Robust accuracy at each radius.
    estimator_name : str, default=None
        Legend label.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The curve.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure holding the axes.

    Examples
    --------
    >>> from skrepgeom.robustness import RobustnessCurveDisplay
    >>> display = RobustnessCurveDisplay(eps_values=[0, 0.1], accuracies=[0.9, 0.5]).plot()
    >>> display.line_.get_ydata().tolist()
    [0.9, 0.5]
    """

    def __init__(self, *, eps_values, accuracies, estimator_name=None):
        self.eps_values = np.asarray(eps_values, dtype=float)
        self.accuracies = np.asarray(accuracies, dtype=float)
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, X, y, eps_values, *, name=None, ax=None,
                       random_state=None, **robust_params):
        """Compute robust accuracy at each eps and plot it.

        Parameters
        ----------
        estimator : fitted estimator with ``attack_module``, or torch.nn.Module
            The defence.
        X : array-like of shape (n_samples, n_features)
            Clean inputs.
        y : array-like of shape (n_samples,)
            True classes.
        eps_values : array-like of float
            Radii (``0`` gives the clean accuracy).
        name : str, default=None
            Legend label; the class name when ``None``.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        random_state : int, RandomState instance or None, default=None
            Seeds the attacks.
        **robust_params
            Passed to :func:`robust_accuracy` (``attack``, ``steps``, ``surrogates``...).

        Returns
        -------
        display : RobustnessCurveDisplay
        """
        eps_values = np.asarray(eps_values, dtype=float)
        accuracies = [
            robust_accuracy(estimator, X, y, eps=float(eps), random_state=random_state,
                            **robust_params)
            for eps in eps_values
        ]
        name = type(estimator).__name__ if name is None else name
        return cls(eps_values=eps_values, accuracies=accuracies, estimator_name=name).plot(ax=ax)

    def plot(self, ax=None, **line_kw):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        **line_kw
            Passed to ``ax.plot``.

        Returns
        -------
        display : RobustnessCurveDisplay
            ``self``, with ``line_``, ``ax_`` and ``figure_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        line_kw.setdefault("marker", "o")
        if self.estimator_name is not None:
            line_kw.setdefault("label", self.estimator_name)
        (self.line_,) = ax.plot(self.eps_values, self.accuracies, **line_kw)
        ax.set_xlabel("eps")
        ax.set_ylabel("robust accuracy")
        ax.set_ylim(-0.02, 1.02)
        if self.estimator_name is not None:
            ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self


class ReconstructionDisplay:
    """Inputs (first column) next to the purifier's reconstructions of them.

    Parameters
    ----------
    inputs : ndarray of shape (n_samples, height, width)
        The (possibly attacked) inputs as images.
    reconstructions : ndarray of shape (n_samples, n_reconstructions, height, width)
        Reconstructions of each input.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        Grid of axes, one row per input.
    ax_ : matplotlib Axes
        The top-left axes.
    figure_ : matplotlib Figure
        Figure holding the grid.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.robustness import ReconstructionDisplay
    >>> display = ReconstructionDisplay(
    ...     inputs=np.zeros((2, 8, 8)), reconstructions=np.ones((2, 3, 8, 8))
    ... ).plot()
    >>> display.axes_.shape
    (2, 4)
    """

    def __init__(self, *, inputs, reconstructions):
        self.inputs = np.asarray(inputs)
        self.reconstructions = np.asarray(reconstructions)

    @classmethod
    def from_estimator(cls, estimator, X, *, n_reconstructions=None, image_shape=None,
                       ax=None):
        """Reconstructions of ``X`` by a fitted :class:`CARSOClassifier`.

        Parameters
        ----------
        estimator : CARSOClassifier
            Fitted defence.
        X : array-like of shape (n_samples, n_features)
            Inputs (e.g. adversarial examples).
        n_reconstructions : int, default=None
            Reconstructions per input; ``None`` uses the estimator's.
        image_shape : (height, width), default=None
            Image shape; ``None`` uses the estimator's ``image_shape`` or a square.
        ax : ignored
            Accepted for the visualization API; the grid makes its own figure.

        Returns
        -------
        display : ReconstructionDisplay
        """
        X = np.asarray(X)
        rec = estimator.sample_reconstructions(X, n_reconstructions=n_reconstructions)
        shape = _image_shape(image_shape or getattr(estimator, "image_shape", None), X.shape[1])
        n, k = rec.shape[0], rec.shape[1]
        return cls(inputs=X.reshape((n,) + shape),
                   reconstructions=rec.reshape((n, k) + shape)).plot()

    def plot(self, *, cmap="gray_r"):
        """Draw the grid.

        Parameters
        ----------
        cmap : str, default="gray_r"
            Colour map.

        Returns
        -------
        display : ReconstructionDisplay
            ``self``, with ``axes_``, ``ax_`` and ``figure_`` set.
        """
        import matplotlib.pyplot as plt

        n, k = self.reconstructions.shape[:2]
        figure, axes = plt.subplots(n, k + 1, figsize=(1.1 * (k + 1), 1.1 * n), squeeze=False)
        for i in range(n):
            images = [self.inputs[i]] + [self.reconstructions[i, j] for j in range(k)]
            for j, image in enumerate(images):
                axes[i, j].imshow(image, cmap=cmap, vmin=0, vmax=1)
                axes[i, j].set_xticks([])
                axes[i, j].set_yticks([])
        axes[0, 0].set_title("input", fontsize=8)
        for j in range(1, k + 1):
            axes[0, j].set_title(f"rec. {j}", fontsize=8)
        self.axes_, self.ax_, self.figure_ = axes, axes[0, 0], figure
        return self


def _image_shape(shape, n_features):
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        shape = shape[-2:] if len(shape) == 3 else shape
        if int(np.prod(shape)) != n_features:
            raise ValueError(f"image_shape={shape} does not match n_features={n_features}.")
        return shape
    side = int(round(np.sqrt(n_features)))
    if side * side != n_features:
        raise ValueError(
            f"n_features={n_features} is not a square; pass image_shape=(height, width)."
        )
    return (side, side)
