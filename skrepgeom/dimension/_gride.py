"""GRIDE: intrinsic dimension across scales (Denti et al., Sci. Rep. 2022)."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import betaln
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skrepgeom.dimension._kernels import gride_bisect, gride_fisher_information
from skrepgeom.exceptions import ConvergenceWarning
from skrepgeom.neighbors import (
    BACKENDS,
    DUPLICATES_OPTIONS,
    handle_duplicates,
    kneighbors,
)
from skrepgeom.utils._parallel import check_n_jobs
from skrepgeom.utils._progress import compilation_notice
from skrepgeom.utils._validation import validate_float_data

__all__ = ["GrideDimension"]

_EPS = np.finfo(np.float64).eps
# Ratios beyond median + 20 * (q95 - median) come from isolated points.
_OUTLIER_SPREAD = 20.0


def _default_ladder(range_max, n_samples):
    largest = min(range_max, n_samples - 1)
    n1 = []
    rank = 1
    while 2 * rank <= largest:
        n1.append(rank)
        rank *= 2
    n1 = np.asarray(n1, dtype=np.int64)
    return n1, 2 * n1


def _untie(mu):
    """Nudge ratios of exactly 1 (equal distances) off the likelihood's singularity."""
    mu[mu == 1.0] += 10 * _EPS
    return mu


def gride_log_likelihood(mu, n1, n2, dimension):
    """Log-density of the ratio ``mu = r_n2 / r_n1`` under GRIDE's law, per ratio.

    ``f(mu) = d (mu^d - 1)^(n2 - n1 - 1) / (B(n2 - n1, n1) mu^((n2 - 1) d + 1))``
    for ``mu > 1`` (Denti et al. 2022, eq. 3).
    """
    log_mu = np.log(mu)
    # log(mu^d - 1) = d log mu + log(1 - mu^-d), without overflow for large mu^d.
    log_power_minus_one = dimension * log_mu + np.log(-np.expm1(-dimension * log_mu))
    return (
        np.log(dimension)
        + (n2 - n1 - 1) * log_power_minus_one
        - ((n2 - 1) * dimension + 1) * log_mu
        - betaln(n2 - n1, n1)
    )


def _as_ranks(values, name):
    ranks = np.atleast_1d(np.asarray(values))
    if ranks.ndim != 1 or ranks.size == 0 or ranks.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a positive int or a 1-D array of ints, got {values!r}.")
    if np.any(ranks < 1):
        raise ValueError(f"{name} must be >= 1, got {name}={values!r}.")
    return ranks.astype(np.int64)


class GrideDimension(BaseEstimator):
    """Intrinsic dimension at several scales from ratios of higher-order neighbours.

    GRIDE generalises TwoNN to ``mu = r_{n2} / r_{n1}``, the ratio of the distances
    to the ``n2``-th and ``n1``-th neighbours, whose law depends only on the
    intrinsic dimension ``d``; the dimension is its maximum-likelihood estimate.
    Doubling ``n1`` and ``n2`` probes coarser length scales, which separates the
    dimension of the manifold from that of the noise around it.

    Read more in the :ref:`User Guide <dimension>`.

    Parameters
    ----------
    range_max : int, default=64
        Largest neighbour rank of the default ladder ``n1 = 1, 2, 4, ...``,
        ``n2 = 2 * n1`` (6 scales for 64).
    n1 : int or array-like of int, default=None
        Custom lower ranks; ``None`` uses the ladder (or ``n2 // 2`` when only
        ``n2`` is given).
    n2 : int or array-like of int, default=None
        Custom upper ranks, same length as ``n1``; ``None`` means ``2 * n1``.
    d0, d1 : float, default=0.001, 1000.0
        Bracket of the likelihood root.
    tol : float, default=1e-7
        Width of the bracket at which bisection stops.
    duplicates : {"warn", "remove", "raise"}, default="warn"
        Identical rows, see :class:`TwoNNDimension`.
    backend : str, default="auto"
        Neighbour-search backend, passed unchanged to
        :func:`skrepgeom.neighbors.kneighbors`.
    n_jobs : int, default=None
        Worker threads of the neighbour search (with BLAS limited to one thread
        per worker when there are several, see :func:`~skrepgeom.neighbors.kneighbors`);
        the per-scale fits run on one thread. ``None`` means one worker and leaves
        BLAS alone, unless inside ``joblib.parallel_config``; see :ref:`parallelism`.
    verbose : int, default=0
        When positive, says once if Numba kernels are being compiled (first run
        after installation) and shows the progress of the neighbour search.

    Attributes
    ----------
    n1_, n2_ : ndarray of shape (n_scales,)
        Neighbour ranks of each scale.
    dimensions_ : ndarray of shape (n_scales,)
        Estimate per scale (NaN where the root is not bracketed).
    dimensions_err_ : ndarray of shape (n_scales,)
        Standard errors, ``1 / sqrt(Fisher information)``.
    scales_ : ndarray of shape (n_scales,)
        Mean of the ``n1``-th and ``n2``-th neighbour distances over all points.
    n_filtered_ : ndarray of shape (n_scales,)
        Outlying ratios left out per scale.
    dimension_ : float
        The estimate closest to the median over scales.
    dimension_err_ : float
        Its error.
    scale_index_ : int
        Index of the scale chosen for ``dimension_``.
    n_duplicates_ : int
        Duplicate rows removed.
    n_samples_fit_ : int
        Distinct rows used.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string column names.

    See Also
    --------
    TwoNNDimension : The ``n1=1, n2=2`` case with a per-sample local estimate.
    IntrinsicDimensionScaleDisplay : Plot of ``dimensions_`` against ``scales_``.

    References
    ----------
    .. [1] F. Denti, D. Doimo, A. Laio, A. Mira, "The generalized ratios intrinsic
       dimension estimator", Scientific Reports 12, 20005 (2022).

    Examples
    --------
    >>> from sklearn.datasets import make_swiss_roll
    >>> from skrepgeom.dimension import GrideDimension
    >>> X, _ = make_swiss_roll(2000, random_state=0)
    >>> gride = GrideDimension(range_max=16).fit(X)
    >>> gride.n2_
    array([ 2,  4,  8, 16])
    >>> bool(abs(gride.dimension_ - 2) < 0.2)
    True
    """

    _parameter_constraints: dict = {
        "range_max": [Interval(Integral, 2, None, closed="left")],
        "n1": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "n2": [Interval(Integral, 2, None, closed="left"), "array-like", None],
        "d0": [Interval(Real, 0, None, closed="neither")],
        "d1": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "duplicates": [StrOptions(set(DUPLICATES_OPTIONS))],
        "backend": [StrOptions(set(BACKENDS))],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        range_max=64,
        n1=None,
        n2=None,
        d0=0.001,
        d1=1000.0,
        tol=1e-7,
        duplicates="warn",
        backend="auto",
        n_jobs=None,
        verbose=0,
    ):
        self.range_max = range_max
        self.n1 = n1
        self.n2 = n2
        self.d0 = d0
        self.d1 = d1
        self.tol = tol
        self.duplicates = duplicates
        self.backend = backend
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _ranks(self, n_samples):
        if self.n1 is None and self.n2 is None:
            return _default_ladder(self.range_max, n_samples)
        if self.n2 is None:
            n1 = _as_ranks(self.n1, "n1")
            n2 = 2 * n1
        elif self.n1 is None:
            n2 = _as_ranks(self.n2, "n2")
            n1 = n2 // 2
        else:
            n1, n2 = _as_ranks(self.n1, "n1"), _as_ranks(self.n2, "n2")
        if n1.shape != n2.shape:
            raise ValueError(
                f"n1 and n2 must have the same length, got {n1.size} and {n2.size}."
            )
        if np.any(n1 < 1) or np.any(n2 <= n1):
            raise ValueError(f"Every n2 must exceed its n1 >= 1, got n1={n1}, n2={n2}.")
        if n2.max() >= n_samples:
            raise ValueError(
                f"n2={int(n2.max())} needs n_samples > n2 distinct rows, but n_samples={n_samples}."
            )
        return n1, n2

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate the intrinsic dimension of ``X`` at each scale.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data, at least 3 distinct rows. A dask array is searched by
            the ``"dask"`` backend without being brought into memory; the
            neighbour distances up to the largest rank come back (see
            :ref:`scaling`).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : GrideDimension
            The fitted estimator.
        """
        check_n_jobs(self.n_jobs)
        if self.d0 >= self.d1:
            raise ValueError(f"d0 must be smaller than d1, got d0={self.d0}, d1={self.d1}.")
        X = validate_float_data(self, X, min_samples=3)
        X_unique, _, self.n_duplicates_ = handle_duplicates(X, self.duplicates, min_unique=3)
        n_samples = X_unique.shape[0]
        n1, n2 = self._ranks(n_samples)
        if n1.size == 0:
            raise ValueError(
                f"range_max={self.range_max} with n_samples={n_samples} leaves no scale; "
                "at least 3 distinct rows and range_max >= 2 are needed."
            )
        compilation_notice(self.verbose, gride_bisect, gride_fisher_information)
        distances, _ = kneighbors(
            X_unique, int(n2.max()), backend=self.backend, n_jobs=self.n_jobs,
            verbose=self.verbose, compute=True,
        )
        n_scales = n1.size
        self.dimensions_ = np.empty(n_scales)
        self.dimensions_err_ = np.empty(n_scales)
        self.scales_ = np.empty(n_scales)
        self.n_filtered_ = np.empty(n_scales, dtype=np.int64)
        for s, (low, high) in enumerate(zip(n1, n2)):
            r_low, r_high = distances[:, low - 1], distances[:, high - 1]
            mu = _untie(r_high / r_low)
            median, q95 = np.quantile(mu, [0.5, 0.95])
            kept = mu < median + _OUTLIER_SPREAD * (q95 - median)
            log_mu = np.log(mu[kept])
            self.n_filtered_[s] = n_samples - log_mu.size
            dimension = gride_bisect(log_mu, float(low), float(high), self.d0, self.d1, self.tol)
            if np.isnan(dimension):
                warnings.warn(
                    f"GRIDE likelihood root not bracketed in [d0, d1] = [{self.d0}, {self.d1}] "
                    f"at scale n1={low}, n2={high}; its dimension is NaN.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
                error = np.nan
            else:
                information = gride_fisher_information(
                    log_mu, float(low), float(high), dimension, 5 * _EPS
                )
                error = 1.0 / np.sqrt(information)
            self.dimensions_[s] = dimension
            self.dimensions_err_[s] = error
            self.scales_[s] = 0.5 * (r_low.mean() + r_high.mean())
        self.n1_, self.n2_ = n1, n2
        self.n_samples_fit_ = n_samples
        if np.all(np.isnan(self.dimensions_)):
            self.scale_index_ = 0
        else:
            median = np.nanmedian(self.dimensions_)
            self.scale_index_ = int(np.nanargmin(np.abs(self.dimensions_ - median)))
        self.dimension_ = float(self.dimensions_[self.scale_index_])
        self.dimension_err_ = float(self.dimensions_err_[self.scale_index_])
        return self

    def score(self, X, y=None):
        """Mean log-likelihood of the fitted GRIDE law on the ratios of ``X``.

        The ratios ``mu = r_n2 / r_n1`` are those of the distinct rows of ``X``
        among themselves (``duplicates`` applies), at the chosen scale
        (``n1_[scale_index_]``, ``n2_[scale_index_]``); each contributes the
        log-density of GRIDE's law at ``d = dimension_``,
        ``log d + (n2 - n1 - 1) log(mu^d - 1) - ((n2 - 1) d + 1) log mu - log B(n2 - n1, n1)``.
        All ratios count, including those the fit filters out as outlying. Higher
        is better; scores compare models of the same scale (the same ``n1``, ``n2``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data, more than ``n2_[scale_index_]`` distinct rows.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            Mean log-likelihood per ratio (NaN when ``dimension_`` is NaN).
        """
        check_is_fitted(self)
        X = validate_float_data(self, X, reset=False, min_samples=3)
        X_unique, _, _ = handle_duplicates(X, self.duplicates, min_unique=3)
        low, high = int(self.n1_[self.scale_index_]), int(self.n2_[self.scale_index_])
        distances, _ = kneighbors(
            X_unique, high, backend=self.backend, n_jobs=self.n_jobs, compute=True
        )
        mu = _untie(distances[:, high - 1] / distances[:, low - 1])
        return float(np.mean(gride_log_likelihood(mu, low, high, self.dimension_)))
