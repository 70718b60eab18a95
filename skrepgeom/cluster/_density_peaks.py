"""Density-peak clustering with adaptive neighbourhoods (k*, PAk, Advanced Density Peaks)."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import gammaln
from scipy.stats import chi2
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skrepgeom.cluster._adp import advanced_density_peaks
from skrepgeom.cluster._hierarchy import saddle_linkage
from skrepgeom.cluster._kernels import pak_log_density
from skrepgeom.cluster._lists import NeighborLists, grow_kstar
from skrepgeom.dimension import twonn_from_distances
from skrepgeom.exceptions import KstarSaturationWarning
from skrepgeom.neighbors import BACKENDS, DUPLICATES_OPTIONS, handle_duplicates, kneighbors
from skrepgeom.utils._parallel import effective_n_threads, numba_threads
from skrepgeom.utils._validation import check_n_neighbors, validate_float_data

__all__ = ["DensityPeakClusterer"]

_MIN_SAMPLES = 5
# Above DADApy's 100: on 2e5 points of smooth blobs, 1.2 % of them saturate at
# 100 and the lists would grow, while a search of 128 neighbours costs about 10 % more.
_AUTO_START = 128
# Points allowed at k* = max_neighbors - 1 before "auto" grows the lists or a warning says so.
_SATURATION_LIMIT = 0.01
_PAK_TOLERANCE = 1e-8
_PAK_MAX_ITER = 200


def log_unit_ball_volume(dimension):
    """``log omega_d = (d / 2) ln pi - ln Gamma(d / 2 + 1)``, finite for any d > 0."""
    return 0.5 * dimension * np.log(np.pi) - gammaln(0.5 * dimension + 1.0)


def _warn_saturation(saturated, max_neighbors, cap):
    advice = (
        "max_neighbors already spans the data set."
        if max_neighbors >= cap
        else 'Increase max_neighbors or use max_neighbors="auto".'
    )
    warnings.warn(
        f"{saturated:.1%} of the points have k* = max_neighbors - 1 = {max_neighbors - 1}: "
        "their neighbourhoods were cut short, which smooths the density and can merge "
        f"peaks. {advice}",
        KstarSaturationWarning,
        stacklevel=4,
    )


class DensityPeakClusterer(ClusterMixin, BaseEstimator):
    """Clusters as statistically significant density peaks, with their hierarchy.

    Every point gets its own neighbourhood size k* (the largest neighbourhood over
    which the density is statistically constant) and a PAk log-density with an
    error bar. Density peaks are putative clusters; two bordering clusters stay
    apart only when both peaks rise above their saddle by more than ``z`` error
    bars, otherwise they merge, the highest saddle first (Advanced Density Peaks,
    d'Errico et al. 2021). The order of the merges of the surviving clusters,
    along their saddles, is the dendrogram of peaks (:attr:`linkage_`).

    Neighbours are Euclidean; for the cosine distance normalise the rows first.
    The method is deterministic.

    Read more in the :ref:`User Guide <cluster>`.

    Parameters
    ----------
    z : float, default=1.65
        Significance of a peak over a saddle, in units of the summed errors of
        their log-densities; larger ``z`` merges more.
    intrinsic_dimension : float, default=None
        Dimension of the volumes. ``None`` uses the TwoNN estimate of
        :class:`~skrepgeom.dimension.TwoNNDimension` from the neighbour distances
        already computed; a number is used as given.
    density : {"pak", "knn"}, default="pak"
        ``"pak"``: adaptive k* and the PAk likelihood (log-density linear in the
        neighbour rank). ``"knn"``: ``k* = n_neighbors`` for every point and the
        k-NN estimate ``ln k - ln(omega_d r_k**d) - ln N``.
    n_neighbors : int, default=30
        Neighbourhood of ``density="knn"``, ``1 <= n_neighbors < n_samples``;
        unused by ``"pak"``.
    alpha : float in (0, 1), default=1e-6
        Level of the k* likelihood-ratio test: the threshold is
        ``chi2.isf(alpha, 1)`` (23.93 at the default).
    max_neighbors : "auto" or int >= 4, default="auto"
        Largest neighbourhood considered plus one (k* <= ``max_neighbors - 1``).
        ``"auto"`` starts at ``min(128, n_samples - 1)`` and doubles (up to
        ``n_samples - 1``) while more than 1 % of the points reach the bound; only
        the lists that the k* tests and the cluster assignment reach are lengthened,
        with the result of a full search. An int is used as given (capped at
        ``n_samples - 1``). When more than 1 % of
        the points stay at the bound, a :class:`~skrepgeom.exceptions.KstarSaturationWarning`
        is emitted: their densities are too smooth and peaks may merge.
    halo : bool, default=False
        Label -1 the points whose log-density is below the highest saddle of
        their cluster.
    duplicates : {"warn", "remove", "raise"}, default="warn"
        Identical rows make distances 0. ``"remove"`` fits on the distinct rows
        (first occurrences, order kept), ``"warn"`` does the same with a
        :class:`~skrepgeom.exceptions.DuplicateSamplesWarning` giving the count,
        ``"raise"`` refuses them. A removed copy gets every per-sample result of
        the row it copies.
    backend : str, default="auto"
        One of :data:`skrepgeom.neighbors.BACKENDS`.
        Neighbour-search backend, passed to :func:`~skrepgeom.neighbors.kneighbors`.
    n_jobs : int, default=None
        Threads of the neighbour search and of the Numba kernels (k*, PAk, peak
        search), following the package's ``n_jobs`` rule.
    verbose : int, default=0
        Print the time of each stage, and show a progress bar of the neighbour
        search when > 0.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training row, -1 for the halo.
    n_clusters_ : int
        Number of clusters.
    cluster_centers_indices_ : ndarray of shape (n_clusters_,)
        Row of ``X`` at the peak of each cluster.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        The peaks' rows.
    density_ : ndarray of shape (n_samples,)
        Natural log-density (the density integrates to 1 over the
        ``intrinsic_dimension_``-dimensional data manifold).
    density_err_ : ndarray of shape (n_samples,)
        Its standard error: ``sqrt((4k* + 2) / (k* (k* - 1)))`` for PAk,
        ``1 / sqrt(k)`` for k-NN.
    kstar_ : ndarray of shape (n_samples,)
        Neighbourhood size of every row.
    intrinsic_dimension_ : float
        Dimension used for the volumes.
    max_neighbors_ : int
        Final bound of the neighbourhoods (``kstar_ <= max_neighbors_ - 1``).
    kstar_saturated_fraction_ : float
        Fraction of distinct rows with ``kstar_ == max_neighbors_ - 1`` (0 for
        ``density="knn"``).
    n_duplicates_ : int
        Duplicate rows removed before the fit.
    peak_density_, peak_density_err_ : ndarray of shape (n_clusters_,)
        Log-density of each cluster's peak and its error.
    saddle_density_ : ndarray of shape (n_clusters_, n_clusters_)
        Log-density at the saddle between two clusters: symmetric, ``-inf`` where
        they share no border, NaN on the diagonal.
    saddle_density_err_ : ndarray of shape (n_clusters_, n_clusters_)
        Its error, NaN where there is no saddle.
    saddle_indices_ : ndarray of shape (n_clusters_, n_clusters_)
        Row of ``X`` at each saddle, -1 where there is none.
    linkage_ : ndarray of shape (n_clusters_ - 1, 4)
        scipy linkage matrix of the peaks (leaf ``c`` is cluster ``c``): single
        linkage along the saddles, at height ``max(density_) - saddle``; groups
        with no border between them join last at ``1 +`` the largest height.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string column names.

    See Also
    --------
    PeakDendrogramDisplay : Dendrogram of the peaks on a log-density axis.
    skrepgeom.dimension.TwoNNDimension : The default intrinsic dimension.

    Notes
    -----
    Shells between tied neighbour distances would have volume 0; they get the
    volume ``eps * omega_d r**d`` (float64 epsilon) instead. Clusters are numbered
    in the order of their peak's row.

    References
    ----------
    .. [1] M. d'Errico, E. Facco, A. Laio, A. Rodriguez, "Automatic topography of
       high-dimensional data sets by non-parametric density peak clustering",
       Information Sciences 560, 476-492 (2021).
    .. [2] A. Rodriguez, M. d'Errico, E. Facco, A. Laio, "Computing the free energy
       without collective variables", J. Chem. Theory Comput. 14, 1206 (2018).

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skrepgeom.cluster import DensityPeakClusterer
    >>> X, y = make_blobs(2000, centers=3, random_state=0)
    >>> dp = DensityPeakClusterer().fit(X)
    >>> dp.n_clusters_
    3
    >>> dp.predict(X[:4])
    array([0, 0, 2, 2])
    """

    _parameter_constraints: dict = {
        "z": [Interval(Real, 0, None, closed="neither")],
        "intrinsic_dimension": [Interval(Real, 0, None, closed="neither"), None],
        "density": [StrOptions({"pak", "knn"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "max_neighbors": [StrOptions({"auto"}), Interval(Integral, 4, None, closed="left")],
        "halo": ["boolean"],
        "duplicates": [StrOptions(set(DUPLICATES_OPTIONS))],
        "backend": [StrOptions(set(BACKENDS))],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        z=1.65,
        intrinsic_dimension=None,
        density="pak",
        n_neighbors=30,
        alpha=1e-6,
        max_neighbors="auto",
        halo=False,
        duplicates="warn",
        backend="auto",
        n_jobs=None,
        verbose=0,
    ):
        self.z = z
        self.intrinsic_dimension = intrinsic_dimension
        self.density = density
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.max_neighbors = max_neighbors
        self.halo = halo
        self.duplicates = duplicates
        self.backend = backend
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _log(self, stage, start):
        if self.verbose:
            print(f"[DensityPeakClusterer] {stage}: {time.perf_counter() - start:.2f} s")
        return time.perf_counter()

    def _neighbors(self, X, n_columns):
        def search(n_neighbors, query):
            return kneighbors(
                X, n_neighbors, query=query, backend=self.backend, n_jobs=self.n_jobs,
                verbose=self.verbose if query is None else 0,
            )

        return NeighborLists(X, n_columns, search)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate densities and find the significant density peaks of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, at least 5 distinct rows.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : DensityPeakClusterer
            The fitted estimator.
        """
        X = validate_float_data(self, X, min_samples=_MIN_SAMPLES)
        X_unique, unique_index, self.n_duplicates_ = handle_duplicates(
            X, self.duplicates, min_unique=_MIN_SAMPLES
        )
        n = X_unique.shape[0]
        n_threads = effective_n_threads(self.n_jobs)
        start = time.perf_counter()
        if self.density == "knn":
            check_n_neighbors(self.n_neighbors, n)
            max_neighbors = max(self.n_neighbors, 2) + 1
        elif self.max_neighbors == "auto":
            max_neighbors = min(_AUTO_START, n - 1)
        else:
            max_neighbors = min(self.max_neighbors, n - 1)
        lists = self._neighbors(X_unique, max_neighbors - 1)
        start = self._log(f"kNN ({max_neighbors - 1} neighbours)", start)

        if self.intrinsic_dimension is None:
            dimension, _ = twonn_from_distances(lists.distances[:, :2], n_bootstrap=0)
        else:
            dimension = float(self.intrinsic_dimension)
        log_omega = log_unit_ball_volume(dimension)
        start = self._log(f"intrinsic dimension ({dimension:.4g})", start)

        with numba_threads(n_threads):
            if self.density == "knn":
                k = self.n_neighbors
                kstar = np.full(n, k, dtype=np.intp)
                log_density = (
                    np.log(k) - log_omega - dimension * np.log(lists.distances[:, k - 1])
                    - np.log(n)
                )
                log_density_err = np.full(n, 1.0 / np.sqrt(k))
                saturated = 0.0
            else:
                cap = n - 1
                kstar, saturated = grow_kstar(
                    lists, dimension, chi2.isf(self.alpha, 1),
                    grow=self.max_neighbors == "auto", limit=_SATURATION_LIMIT, cap=cap,
                )
                max_neighbors = lists.n_columns + 1
                if saturated > _SATURATION_LIMIT:
                    _warn_saturation(saturated, max_neighbors, cap)
                start = self._log(f"k* (max_neighbors={max_neighbors})", start)
                F = np.empty(n)
                a = np.empty(n)
                pak_log_density(
                    *lists.distance_arrays(), kstar, dimension, log_omega, _PAK_TOLERANCE,
                    _PAK_MAX_ITER, F, a,
                )
                log_density = F - np.log(n)
                kf = kstar.astype(np.float64)
                log_density_err = np.sqrt((4.0 * kf + 2.0) / (kf * (kf - 1.0)))
            start = self._log("density", start)
            lists.drop_distances()
            result = advanced_density_peaks(
                log_density, log_density_err, lists, kstar, z=self.z, halo=self.halo
            )
        start = self._log(f"ADP ({result.peaks.shape[0]} clusters)", start)

        _, first_rows = np.unique(unique_index, return_index=True)
        n_clusters = result.peaks.shape[0]
        saddle_points = result.saddle_points
        has_saddle = saddle_points >= 0
        saddle_density = np.where(has_saddle, log_density[saddle_points], -np.inf)
        saddle_density[np.diag_indices(n_clusters)] = np.nan
        self.labels_ = result.labels[unique_index]
        self.n_clusters_ = n_clusters
        self.cluster_centers_indices_ = first_rows[result.peaks]
        self.cluster_centers_ = X[self.cluster_centers_indices_]
        self.density_ = log_density[unique_index]
        self.density_err_ = log_density_err[unique_index]
        self.kstar_ = kstar[unique_index]
        self.intrinsic_dimension_ = dimension
        self.max_neighbors_ = int(max_neighbors)
        self.kstar_saturated_fraction_ = float(saturated)
        self.peak_density_ = log_density[result.peaks]
        self.peak_density_err_ = log_density_err[result.peaks]
        self.saddle_density_ = saddle_density
        self.saddle_density_err_ = np.where(has_saddle, log_density_err[saddle_points], np.nan)
        self.saddle_indices_ = np.where(has_saddle, first_rows[saddle_points], -1)
        self.linkage_ = saddle_linkage(
            np.where(has_saddle, saddle_density, -np.inf), log_density.max()
        )
        self._fit_X = X_unique
        self._fit_labels = result.labels
        self._log("hierarchy", start)
        return self

    def predict(self, X):
        """Label of the nearest training row.

        A convenience for new points close to the training data: densities are not
        re-estimated, and a halo neighbour gives -1, so ``predict(X_train)``
        equals ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster of the nearest training row.
        """
        check_is_fitted(self)
        X = validate_float_data(self, X, reset=False)
        _, nearest = kneighbors(
            self._fit_X, 1, query=X, backend=self.backend, n_jobs=self.n_jobs
        )
        return self._fit_labels[nearest[:, 0]]
