"""TwoNN intrinsic dimension (Facco et al., Sci. Rep. 2017)."""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted

from skrepgeom.dimension._kernels import twonn_bootstrap_fits, twonn_linear_fit
from skrepgeom.neighbors import (
    BACKENDS,
    DUPLICATES_OPTIONS,
    handle_duplicates,
    kneighbors,
)
from skrepgeom.utils._parallel import check_n_jobs, n_workers, worker_blas_limit
from skrepgeom.utils._progress import compilation_notice
from skrepgeom.utils._validation import is_dask_array, validate_float_data

__all__ = ["TwoNNDimension", "twonn_decimation", "twonn_from_distances"]

_METHODS = ("linear", "mle")
_MIN_POINTS = 3


def _kept_count(n_total, method, discard_fraction):
    n_keep = int(n_total * (1.0 - discard_fraction))
    if method == "linear":
        # The largest mu has y = -log(1 - N/N) = inf: it never enters the fit.
        n_keep = min(n_keep, n_total - 1)
    if n_keep < _MIN_POINTS:
        raise ValueError(
            f"discard_fraction={discard_fraction} leaves {n_keep} of {n_total} points; "
            f"at least {_MIN_POINTS} are needed."
        )
    return n_keep


def _mu_from_distances(distances):
    distances = np.asarray(distances, dtype=np.float64)
    if distances.ndim != 2 or distances.shape[1] < 2:
        raise ValueError(
            "distances must have shape (n_samples, >= 2) with the first and second "
            f"neighbour distances in columns 0 and 1, got shape {distances.shape}."
        )
    if not np.all(np.isfinite(distances[:, :2])):
        raise ValueError("distances contain NaN or infinity.")
    r1, r2 = distances[:, 0], distances[:, 1]
    if np.any(distances[:, :2] < 0):
        raise ValueError(
            f"distances contain {np.count_nonzero(distances[:, :2] < 0)} negative "
            "value(s): distances must be >= 0."
        )
    if np.any(r1 == 0):
        raise ValueError(
            f"{np.count_nonzero(r1 == 0)} first-neighbour distance(s) are 0: the data "
            'has duplicate rows. Remove them first (duplicates="remove").'
        )
    if np.any(r2 < r1):
        raise ValueError("distances must be sorted: column 1 has values below column 0.")
    return r2 / r1


def _linear_targets(n_keep, n_total):
    """``-log(1 - i / N)`` for ranks ``i = 1 .. n_keep``: the fit's ordinates."""
    return -np.log(1.0 - np.arange(1, n_keep + 1) / n_total)


def _bootstrap_seeds(n_bootstrap, random_state):
    """One 64-bit seed per resample, from a ``SeedSequence`` fed by ``random_state``."""
    entropy = check_random_state(random_state).randint(0, 2**32, size=4, dtype=np.uint64)
    return np.random.SeedSequence([int(e) for e in entropy]).generate_state(
        n_bootstrap, dtype=np.uint64
    )


def _linear_bootstrap_error(sorted_log_mu, targets, n_bootstrap, random_state, n_jobs=None):
    """Standard deviation of the linear fit over ``n_bootstrap`` resamples.

    Resample ``b`` is drawn inside the kernel from its own SplitMix64 stream seeded
    by ``seeds[b]``, so the result depends on ``random_state`` only, not on how many
    threads share the resamples, and no index array is stored.
    """
    if n_bootstrap < 2:
        return np.nan
    if sorted_log_mu.shape[0] >= 2**32:
        raise ValueError("The bootstrap supports fewer than 2**32 points; use n_bootstrap=0.")
    seeds = _bootstrap_seeds(n_bootstrap, random_state)
    n_threads = min(n_workers(n_jobs), n_bootstrap)
    # The kernel releases the GIL: threads run in parallel.
    estimates = Parallel(n_jobs=n_threads, prefer="threads")(
        delayed(twonn_bootstrap_fits)(sorted_log_mu, chunk, targets)
        for chunk in np.array_split(seeds, n_threads)
    )
    return float(np.std(np.concatenate(estimates), ddof=1))


@validate_params(
    {
        "distances": ["array-like"],
        "method": [StrOptions(set(_METHODS))],
        "discard_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_bootstrap": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def twonn_from_distances(
    distances,
    *,
    method="linear",
    discard_fraction=0.1,
    n_bootstrap=100,
    random_state=None,
    n_jobs=None,
):
    """TwoNN intrinsic dimension from precomputed neighbour distances.

    The functional core of :class:`TwoNNDimension`, for callers that already hold
    neighbour distances (density estimators, layer profiles) and should not search
    neighbours again.

    Parameters
    ----------
    distances : array-like of shape (n_samples, n_neighbors >= 2)
        Sorted neighbour distances of each point, column 0 the first neighbour
        (the point itself excluded); only columns 0 and 1 are used.
    method : {"linear", "mle"}, default="linear"
        ``"linear"``: least-squares slope through the origin of
        ``-log(1 - i/N)`` against the sorted ``log mu`` (Facco et al.).
        ``"mle"``: maximum likelihood of ``log mu ~ Exp(d)`` with the discarded
        largest ratios treated as right-censored.
    discard_fraction : float in [0, 1), default=0.1
        Fraction of the largest ratios left out of the fit.
    n_bootstrap : int, default=100
        Resamples for the error of ``"linear"`` (fewer than 2 gives NaN). The
        ``"mle"`` error is analytic.
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap. The error depends on it only, not on ``n_jobs``.
    n_jobs : int, default=None
        Joblib threads sharing the bootstrap resamples (no other pool is touched).
        ``None`` means 1 unless inside ``joblib.parallel_config``; see
        :ref:`parallelism`.

    Returns
    -------
    dimension : float
        The intrinsic-dimension estimate.
    error : float
        Its standard error: bootstrap standard deviation (``"linear"``) or
        ``d / sqrt(n_kept - 2)`` (``"mle"``).

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.dimension import twonn_from_distances
    >>> rng = np.random.default_rng(0)
    >>> r1 = rng.uniform(1, 2, size=100_000)
    >>> mu = rng.pareto(3.0, size=100_000) + 1  # Pareto mu <=> dimension 3
    >>> d, err = twonn_from_distances(np.c_[r1, r1 * mu], method="mle", discard_fraction=0)
    >>> round(d, 1)
    3.0
    """
    check_n_jobs(n_jobs)
    mu = _mu_from_distances(distances)
    n_total = mu.shape[0]
    n_keep = _kept_count(n_total, method, discard_fraction)
    sorted_log_mu = np.sort(np.log(mu))
    if method == "mle":
        censored_sum = sorted_log_mu[:n_keep].sum() + (n_total - n_keep) * sorted_log_mu[n_keep - 1]
        if censored_sum <= 0:
            raise ValueError("All kept distance ratios equal 1: the dimension is undefined.")
        dimension = (n_keep - 1) / censored_sum
        return float(dimension), float(dimension / np.sqrt(n_keep - 2))
    if not np.any(sorted_log_mu[:n_keep] > 0):
        raise ValueError("All kept distance ratios equal 1: the dimension is undefined.")
    targets = _linear_targets(n_keep, n_total)
    dimension = twonn_linear_fit(sorted_log_mu, np.ones(n_total, dtype=np.int64), targets)
    error = _linear_bootstrap_error(sorted_log_mu, targets, n_bootstrap, random_state, n_jobs)
    return float(dimension), error


def local_dimension(mu, neighbor_indices):
    """Maximum-likelihood ID of each neighbourhood: ``(k - 1) / sum_j log mu_j``."""
    log_mu = np.log(mu)[neighbor_indices]
    k = neighbor_indices.shape[1]
    with np.errstate(divide="ignore"):
        return (k - 1) / log_mu.sum(axis=1)


def _self_query_mu(X, duplicates, backend, n_jobs):
    """Ratios ``r2 / r1`` of the distinct rows of ``X`` among themselves."""
    X_unique, _, _ = handle_duplicates(X, duplicates, min_unique=_MIN_POINTS, stacklevel=5)
    distances, _ = kneighbors(X_unique, 2, backend=backend, n_jobs=n_jobs, compute=True)
    return _mu_from_distances(distances)


def twonn_log_likelihood(mu, dimension):
    """Log-density of the Pareto law of TwoNN, ``log d - (d + 1) log mu``, per ratio."""
    return np.log(dimension) - (dimension + 1.0) * np.log(mu)


class TwoNNDimension(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Intrinsic dimension from the ratio of second to first neighbour distances.

    For each point, ``mu = r2 / r1`` (distances to its second and first nearest
    neighbours). On a locally uniform ``d``-dimensional manifold ``mu`` follows a
    Pareto law, ``F(mu) = 1 - mu^(-d)``, so ``d`` is estimated from the empirical
    distribution of ``mu`` (TwoNN, Facco et al. 2017). ``transform`` gives a local
    estimate per sample from the ratios of its nearest training points.

    Read more in the :ref:`User Guide <dimension>`.

    Parameters
    ----------
    method : {"linear", "mle"}, default="linear"
        ``"linear"``: least-squares fit through the origin of ``-log(1 - i/N)``
        against the sorted ``log mu_(i)`` (the estimator of the paper, DADApy and
        scikit-dimension). ``"mle"``: maximum likelihood for ``log mu ~ Exp(d)``,
        the discarded ratios treated as right-censored.
    discard_fraction : float in [0, 1), default=0.1
        Fraction of the largest ratios left out (they come from points far from
        their neighbours, where the local-uniformity assumption fails).
    n_bootstrap : int, default=100
        Bootstrap resamples of ``mu`` for ``dimension_err_`` with
        ``method="linear"``; fewer than 2 sets it to NaN.
    duplicates : {"warn", "remove", "raise"}, default="warn"
        Identical rows give ``r1 = 0``. ``"remove"`` estimates on the distinct rows
        (first occurrences), ``"warn"`` does the same and warns with the count,
        ``"raise"`` refuses them.
    n_neighbors : int, default=20
        Training points pooled for the local dimension of :meth:`transform`.
    backend : str, default="auto"
        One of :data:`skrepgeom.neighbors.BACKENDS`: neighbour-search backend, passed unchanged to
        :func:`skrepgeom.neighbors.kneighbors`.
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.
    n_jobs : int, default=None
        Worker threads of the neighbour search (with BLAS limited to one thread
        per worker when there are several, see :func:`~skrepgeom.neighbors.kneighbors`)
        and joblib threads of the bootstrap. ``None`` means one worker and leaves
        BLAS alone, unless inside ``joblib.parallel_config``; see :ref:`parallelism`.
        Results do not depend on it.
    verbose : int, default=0
        When positive, says once if Numba kernels are being compiled (first run
        after installation) and shows the progress of the neighbour search.
    n_local_neighbors : int
        Former name of ``n_neighbors``.

        .. deprecated:: 0.1
           ``n_local_neighbors`` is renamed ``n_neighbors``; the old name will be
           removed in 0.2.

    Attributes
    ----------
    dimension_ : float
        Intrinsic-dimension estimate.
    dimension_err_ : float
        Its standard error (bootstrap for ``"linear"``, analytic for ``"mle"``).
    mu_ : ndarray of shape (`n_samples_fit_`,)
        Ratios ``r2 / r1`` of the distinct training rows.
    neighbor_distances_ : ndarray of shape (`n_samples_fit_`, 2)
        First and second neighbour distances.
    scale_ : float
        Mean of all first and second neighbour distances: the length scale the
        estimate refers to.
    n_duplicates_ : int
        Duplicate rows removed before the fit.
    n_samples_fit_ : int
        Number of distinct training rows used.
    n_neighbors_ : int
        Effective neighbourhood size of :meth:`transform`,
        ``min(n_neighbors, n_samples_fit_)``.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string column names.

    See Also
    --------
    GrideDimension : Dimension at several scales from higher-order neighbours.
    twonn_from_distances : The same estimate from precomputed distances.

    References
    ----------
    .. [1] E. Facco, M. d'Errico, A. Rodriguez, A. Laio, "Estimating the intrinsic
       dimension of datasets by a minimal neighborhood information", Scientific
       Reports 7, 12140 (2017).

    Examples
    --------
    >>> from sklearn.datasets import make_swiss_roll
    >>> from skrepgeom.dimension import TwoNNDimension
    >>> X, _ = make_swiss_roll(2000, random_state=0)
    >>> twonn = TwoNNDimension(random_state=0).fit(X)
    >>> print(f"{twonn.dimension_:.2f} +/- {twonn.dimension_err_:.2f}")
    1.93 +/- 0.05
    >>> twonn.transform(X[:3]).shape
    (3, 1)
    """

    _parameter_constraints: dict = {
        "method": [StrOptions(set(_METHODS))],
        "discard_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_bootstrap": [Interval(Integral, 0, None, closed="left")],
        "duplicates": [StrOptions(set(DUPLICATES_OPTIONS))],
        "n_neighbors": [Interval(Integral, 2, None, closed="left")],
        "backend": [StrOptions(set(BACKENDS))],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "n_local_neighbors": [
            Interval(Integral, 2, None, closed="left"),
            Hidden(StrOptions({"deprecated"})),
        ],
    }

    def __init__(
        self,
        *,
        method="linear",
        discard_fraction=0.1,
        n_bootstrap=100,
        duplicates="warn",
        n_neighbors=20,
        backend="auto",
        random_state=None,
        n_jobs=None,
        verbose=0,
        n_local_neighbors="deprecated",
    ):
        self.method = method
        self.discard_fraction = discard_fraction
        self.n_bootstrap = n_bootstrap
        self.duplicates = duplicates
        self.n_neighbors = n_neighbors
        self.backend = backend
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.n_local_neighbors = n_local_neighbors

    def _requested_n_neighbors(self):
        if isinstance(self.n_local_neighbors, str):
            return self.n_neighbors
        warnings.warn(
            "n_local_neighbors was renamed n_neighbors in 0.1 and will be removed in 0.2; "
            f"pass n_neighbors={self.n_local_neighbors} instead.",
            FutureWarning,
            stacklevel=3,
        )
        return self.n_local_neighbors

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate the intrinsic dimension of ``X``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Training data, at least 3 distinct rows. A dask array is searched by
            the ``"dask"`` backend without being brought into memory; only the
            ratios come back (see :ref:`scaling`).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : TwoNNDimension
            The fitted estimator.
        """
        check_n_jobs(self.n_jobs)
        n_neighbors = self._requested_n_neighbors()
        X = validate_float_data(self, X, min_samples=_MIN_POINTS)
        X_unique, _, self.n_duplicates_ = handle_duplicates(
            X, self.duplicates, min_unique=_MIN_POINTS
        )
        compilation_notice(self.verbose, twonn_linear_fit, twonn_bootstrap_fits)
        distances, _ = kneighbors(
            X_unique, 2, backend=self.backend, n_jobs=self.n_jobs, verbose=self.verbose,
            compute=True,
        )
        self.dimension_, self.dimension_err_ = twonn_from_distances(
            distances,
            method=self.method,
            discard_fraction=self.discard_fraction,
            n_bootstrap=self.n_bootstrap,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        self.neighbor_distances_ = distances
        self.mu_ = distances[:, 1] / distances[:, 0]
        self.scale_ = float(distances.mean())
        self.n_samples_fit_ = X_unique.shape[0]
        self.n_neighbors_ = min(n_neighbors, self.n_samples_fit_)
        self._fit_X = X_unique
        self._n_features_out = 1
        return self

    def transform(self, X):
        """Local intrinsic dimension around each sample.

        The ``k = n_neighbors_`` training points nearest to a sample (a training
        sample is its own first one) give ``(k - 1) / sum_j log mu_j``, the
        maximum-likelihood dimension of their pooled ratios. A removed duplicate
        gets the value of the row it copies.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.

        Returns
        -------
        local_dimension : ndarray of shape (n_samples, 1)
            Local intrinsic dimension, in the dtype of ``X`` (float32 or float64).
        """
        check_is_fitted(self)
        X = validate_float_data(self, X, reset=False)
        _, indices = kneighbors(
            self._fit_X.astype(X.dtype, copy=False),
            self.n_neighbors_,
            query=X,
            backend=self.backend,
            n_jobs=self.n_jobs,
            compute=True,
        )
        return local_dimension(self.mu_, indices).astype(X.dtype, copy=False)[:, None]

    def score(self, X, y=None):
        """Mean log-likelihood of the fitted Pareto law on the ratios of ``X``.

        The ratios ``mu = r2 / r1`` are those of the distinct rows of ``X`` among
        themselves (as in :meth:`fit`, ``duplicates`` applies); each contributes
        ``log d - (d + 1) log mu``, the log-density of ``F(mu) = 1 - mu^(-d)`` at
        ``d = dimension_``. All ratios count, including those ``discard_fraction``
        leaves out of the fit. Higher is better, so that
        :class:`~sklearn.model_selection.GridSearchCV` can compare settings on
        held-out data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data, at least 3 distinct rows.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            Mean log-likelihood per ratio.
        """
        check_is_fitted(self)
        X = validate_float_data(self, X, reset=False, min_samples=_MIN_POINTS)
        mu = _self_query_mu(X, self.duplicates, self.backend, self.n_jobs)
        return float(np.mean(twonn_log_likelihood(mu, self.dimension_)))

    @property
    def n_local_neighbors_(self):
        """Former name of ``n_neighbors_``, to be removed in 0.2."""
        warnings.warn(
            "n_local_neighbors_ was renamed n_neighbors_ in 0.1 and will be removed in 0.2.",
            FutureWarning,
            stacklevel=2,
        )
        return self.n_neighbors_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _subset_dimension(X, indices, method, discard_fraction, backend):
    distances, _ = kneighbors(X[indices], 2, backend=backend)
    return _dimension_and_scale(distances, method, discard_fraction)


def _dimension_and_scale(distances, method, discard_fraction):
    dimension, _ = twonn_from_distances(
        distances, method=method, discard_fraction=discard_fraction, n_bootstrap=0
    )
    return dimension, float(distances.mean())


def _dask_subset_dimensions(X, subsets, method, discard_fraction):
    """The subsets of one level of a dask ``X``, searched in one graph."""
    import dask

    searches = [kneighbors(X[subset], 2, backend="dask")[0] for subset in subsets]
    return [
        _dimension_and_scale(distances, method, discard_fraction)
        for distances in dask.compute(*searches)
    ]


@validate_params(
    {
        "X": ["array-like"],
        "n_min": [Interval(Integral, _MIN_POINTS, None, closed="left")],
        "method": [StrOptions(set(_METHODS))],
        "discard_fraction": [Interval(Real, 0, 1, closed="left")],
        "duplicates": [StrOptions(set(DUPLICATES_OPTIONS))],
        "backend": [StrOptions(set(BACKENDS))],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def twonn_decimation(
    X,
    *,
    n_min=10,
    method="linear",
    discard_fraction=0.1,
    duplicates="warn",
    backend="auto",
    random_state=None,
    n_jobs=None,
    verbose=0,
):
    """TwoNN dimension as a function of scale, by decimating the data.

    Level ``i`` splits a random permutation of the rows into ``2**i`` disjoint
    subsets of ``N // 2**i`` rows (while that exceeds ``n_min``), estimates the
    dimension in each subset and averages. Sparser subsets have larger neighbour
    distances, so the levels probe growing length scales.

    Parameters
    ----------
    X : array-like or dask array of shape (n_samples, n_features)
        Data, more than ``n_min`` distinct rows. With a dask array every level is
        one dask graph (the subsets' searches) and only distances come back.
    n_min : int, default=10
        Smallest subset size; levels stop before subsets get this small.
    method : {"linear", "mle"}, default="linear"
        TwoNN fit, see :class:`TwoNNDimension`.
    discard_fraction : float in [0, 1), default=0.1
        Fraction of the largest ratios left out per subset.
    duplicates : {"warn", "remove", "raise"}, default="warn"
        Policy for identical rows, see :class:`TwoNNDimension`.
    backend : str, default="auto"
        Neighbour-search backend, passed unchanged to
        :func:`skrepgeom.neighbors.kneighbors`.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutations and the bootstrap of level 0.
    n_jobs : int, default=None
        Joblib threads over the subsets of a level (BLAS limited to one thread each
        when there are several); level 0 passes it to :class:`TwoNNDimension`.
        ``None`` means one, unless inside ``joblib.parallel_config``; see
        :ref:`parallelism`. Results do not depend on it.
    verbose : int, default=0
        When positive, says once if Numba kernels are being compiled and shows a
        progress bar over the levels.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``n_samples`` (subset size per level), ``dimensions`` (mean over subsets),
        ``errors`` (level 0: the estimator's own error; then the standard
        deviation over subsets divided by ``sqrt(2**i)``) and ``scales`` (mean
        first and second neighbour distance).

    Examples
    --------
    >>> from sklearn.datasets import make_swiss_roll
    >>> from skrepgeom.dimension import twonn_decimation
    >>> X, _ = make_swiss_roll(1000, random_state=0)
    >>> result = twonn_decimation(X, random_state=0)
    >>> result.n_samples[:3]
    array([1000,  500,  250])
    """
    n_threads = n_workers(n_jobs)
    X = validate_float_data(TwoNNDimension(), X, min_samples=_MIN_POINTS)
    X, _, _ = handle_duplicates(X, duplicates, min_unique=_MIN_POINTS)
    n_total = X.shape[0]
    if n_total <= n_min:
        raise ValueError(
            f"twonn_decimation needs more than n_min={n_min} distinct rows, got "
            f"n_samples={n_total}; lower n_min or pass more data."
        )
    compilation_notice(verbose, twonn_linear_fit, twonn_bootstrap_fits)
    rng = check_random_state(random_state)
    n_levels = 1
    while n_total // 2**n_levels > n_min:
        n_levels += 1
    levels = range(n_levels)
    if verbose:
        from tqdm.auto import tqdm

        levels = tqdm(levels, desc="TwoNN decimation levels")
    n_samples, dimensions, errors, scales = [], [], [], []
    for level in levels:
        n_subsets = 2**level
        size = n_total // n_subsets
        if level == 0:
            twonn = TwoNNDimension(
                method=method,
                discard_fraction=discard_fraction,
                duplicates="raise",
                backend=backend,
                random_state=rng,
                n_jobs=n_jobs,
            ).fit(X)
            dimension, error, scale = twonn.dimension_, twonn.dimension_err_, twonn.scale_
        else:
            permutation = rng.permutation(n_total)
            subsets = [permutation[s * size : (s + 1) * size] for s in range(n_subsets)]
            if is_dask_array(X):
                results = _dask_subset_dimensions(X, subsets, method, discard_fraction)
            else:
                with worker_blas_limit(n_threads):
                    results = Parallel(n_jobs=n_threads, prefer="threads")(
                        delayed(_subset_dimension)(X, subset, method, discard_fraction, backend)
                        for subset in subsets
                    )
            subset_dimensions, subset_scales = np.asarray(results).T
            dimension = subset_dimensions.mean()
            error = subset_dimensions.std() / np.sqrt(n_subsets)
            scale = subset_scales.mean()
        n_samples.append(size)
        dimensions.append(dimension)
        errors.append(error)
        scales.append(scale)
    return Bunch(
        n_samples=np.asarray(n_samples),
        dimensions=np.asarray(dimensions),
        errors=np.asarray(errors),
        scales=np.asarray(scales),
    )
