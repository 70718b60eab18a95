"""Intrinsic dimension and neighbourhood overlaps across the layers of a network,
and the choice of the layer to probe."""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from skrepgeom.dimension import twonn_from_distances
from skrepgeom.neighbors import (
    BACKENDS,
    DUPLICATES_OPTIONS,
    handle_duplicates,
    kneighbors,
    label_overlap_from_indices,
    neighborhood_overlap_from_indices,
)
from skrepgeom.utils._parallel import check_n_jobs, n_workers, worker_blas_limit
from skrepgeom.utils._validation import FLOAT_DTYPES, check_n_neighbors, validate_float_data

__all__ = ["IntrinsicDimensionProfile", "select_layer"]

RULES = ("first_local_min_after_peak", "global_min_after_peak", "plateau_start")
# The TwoNN fit of a subset smaller than this is dominated by noise.
_MIN_SUBSET_SIZE = 20
_MIN_TWONN_POINTS = 3


def _check_smooth(smooth):
    if smooth % 2 == 0:
        raise ValueError(
            f"smooth must be an odd window width (centred on each layer), got smooth={smooth}."
        )


def _smoothed(id_profile, smooth):
    """Centred moving average of odd width ``smooth``, over the values available at the ends."""
    _check_smooth(smooth)
    half = smooth // 2
    padded = np.concatenate([[0.0], np.cumsum(id_profile)])
    index = np.arange(id_profile.shape[0])
    low = np.maximum(index - half, 0)
    high = np.minimum(index + half + 1, id_profile.shape[0])
    return (padded[high] - padded[low]) / (high - low)


@validate_params(
    {
        "id_profile": ["array-like"],
        "rule": [StrOptions(set(RULES))],
        "smooth": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "plateau_tol": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def select_layer(
    id_profile, *, rule="first_local_min_after_peak", smooth=1, tol=0.0, plateau_tol=0.1
):
    """Layer to probe, read off an intrinsic-dimension profile.

    The profile is smoothed by a centred moving average of width ``smooth``
    (``s``); its peak ``p`` is the first maximum of ``s``. Representations after
    the peak compress the data onto fewer directions; the layer where the
    compression stops is where the most abstract (semantic) representation is.

    Parameters
    ----------
    id_profile : array-like of shape (n_layers,)
        Intrinsic dimension of each layer, in order.
    rule : {"first_local_min_after_peak", "global_min_after_peak", "plateau_start"}, \
            default="first_local_min_after_peak"
        ``"first_local_min_after_peak"``: the first ``l > p`` with
        ``s[l + 1] > s[l] + tol`` (the profile rises again), else the last layer.
        ``"global_min_after_peak"``: the first minimum of ``s[p + 1:]``.
        ``"plateau_start"``: the first ``l > p`` with
        ``s[l] <= (1 + plateau_tol) * min(s[p + 1:])``.
    smooth : int, default=1
        Odd width of the moving average; 1 leaves the profile as it is. At the
        ends the average runs over the layers that exist.
    tol : float, default=0.0
        Rise that counts as a local minimum in ``"first_local_min_after_peak"``.
    plateau_tol : float, default=0.1
        Relative distance to the minimum that counts as reaching the plateau in
        ``"plateau_start"``.

    Returns
    -------
    layer : int
        Index of the selected layer. When the peak is the last layer there is no
        layer after it: the last layer is returned with a ``UserWarning``; a
        one-layer profile returns 0.

    Examples
    --------
    >>> from skrepgeom.representations import select_layer
    >>> profile = [8.8, 8.9, 8.0, 6.5, 5.7, 5.9, 5.2]
    >>> select_layer(profile)
    4
    >>> select_layer(profile, rule="global_min_after_peak")
    6
    >>> select_layer(profile, rule="first_local_min_after_peak", tol=0.5)
    6
    >>> select_layer(profile, rule="plateau_start", plateau_tol=0.1)
    4
    """
    return _select_layer(id_profile, rule, smooth, tol, plateau_tol, stacklevel=4)


def _select_layer(id_profile, rule, smooth, tol, plateau_tol, stacklevel):
    """:func:`select_layer` with the warning's ``stacklevel`` set by the caller."""
    profile = check_array(
        id_profile, ensure_2d=False, dtype=np.float64, input_name="id_profile"
    )
    if profile.ndim != 1:
        raise ValueError(f"id_profile must be 1-D, got an array of shape {profile.shape}.")
    s = _smoothed(profile, smooth)
    n_layers = s.shape[0]
    peak = int(np.argmax(s))
    if peak == n_layers - 1:
        if n_layers > 1:
            warnings.warn(
                f"The intrinsic-dimension profile peaks at the last layer ({peak}): no layer "
                "follows the peak, so the last layer is returned.",
                UserWarning,
                stacklevel=stacklevel,
            )
        return peak
    after = s[peak + 1 :]
    if rule == "global_min_after_peak":
        return peak + 1 + int(np.argmin(after))
    if rule == "plateau_start":
        reached = after <= (1.0 + plateau_tol) * after.min()
        return peak + 1 + int(np.argmax(reached))
    rises = s[peak + 2 :] > s[peak + 1 : -1] + tol
    return peak + 1 + int(np.argmax(rises)) if rises.any() else n_layers - 1


def _check_layer(layer, name):
    return check_array(
        layer,
        dtype=FLOAT_DTYPES,
        accept_sparse=False,
        ensure_all_finite=True,
        ensure_2d=True,
        input_name=f"layer {name!r}",
    )


def _split_columns(X, n_layers):
    n_features = X.shape[1]
    if n_features % n_layers:
        raise ValueError(
            f"X has n_features={n_features}, not divisible by n_layers={n_layers}: a 2-D X is "
            "cut into n_layers equal column blocks, one per layer."
        )
    width = n_features // n_layers
    return [slice(start, start + width) for start in range(0, n_features, width)]


def _layer_names(n_layers):
    return [f"layer_{index}" for index in range(n_layers)]


def _stacked_layers(X):
    """``(names, arrays)`` of a dict, list or 3-D stack of layers; ``None`` for a 2-D X.

    A list is a list of layers when its items are 2-D, else the rows of one 2-D X.
    """
    if issparse(X):
        # Refused by the 2-D validation (a DOK matrix is also a dict).
        return None
    if isinstance(X, dict):
        if not X:
            raise ValueError("X is an empty dict: pass at least one layer.")
        names = [str(name) for name in X]
        return names, [_check_layer(X[key], name) for key, name in zip(X, names)]
    if isinstance(X, (list, tuple)):
        if not X:
            raise ValueError("X is an empty list: pass at least one layer.")
        if any(np.ndim(layer) != 2 for layer in X):
            return None
        names = _layer_names(len(X))
        return names, [_check_layer(layer, name) for layer, name in zip(X, names)]
    if hasattr(X, "ndim") and X.ndim == 3:
        X = check_array(X, dtype=FLOAT_DTYPES, allow_nd=True, input_name="X")
        names = _layer_names(X.shape[1])
        return names, [X[:, index] for index in range(X.shape[1])]
    return None


def _check_same_samples(names, layers):
    rows = [layer.shape[0] for layer in layers]
    if any(n != rows[0] for n in rows):
        listing = ", ".join(f"{name!r}: {n}" for name, n in zip(names, rows))
        raise ValueError(
            f"Every layer must hold the same samples, row for row; row counts are {listing}."
        )
    return rows[0]


def _subsets(n_samples, subset_size, n_repeats, random_state):
    """Row indices of the ``n_repeats`` TwoNN subsets, each sorted.

    Disjoint pieces of one random permutation when they fit, else independent draws.
    """
    rng = check_random_state(random_state)
    if n_repeats * subset_size <= n_samples:
        permutation = rng.permutation(n_samples)[: n_repeats * subset_size]
        subsets = permutation.reshape(n_repeats, subset_size)
    else:
        subsets = np.stack(
            [rng.choice(n_samples, subset_size, replace=False) for _ in range(n_repeats)]
        )
    return np.sort(subsets, axis=1)


def _layer_statistics(
    layer, distinct, unique_index, positions, discard_fraction, n_neighbors, backend, n_jobs
):
    """TwoNN dimension on each subset of one layer, and its overlap neighbour indices.

    ``distinct`` holds the distinct values of the rows the subsets draw and
    ``unique_index`` the position there of each such row's value (see
    :func:`handle_duplicates`); ``positions`` gives each subset as indices into
    ``unique_index``, and a subset keeps one row per distinct value.
    ``n_neighbors=None`` skips the overlap search.
    """
    indices = None
    whole_distances = None
    if n_neighbors is not None:
        distances, indices = kneighbors(layer, n_neighbors, backend=backend, n_jobs=n_jobs)
        whole_distances = distances
    dimensions = np.empty(positions.shape[0])
    for repeat, subset in enumerate(positions):
        rows = np.unique(unique_index[subset])
        if whole_distances is not None and rows.shape[0] == layer.shape[0]:
            # The subset is every row, all distinct: the overlap search already
            # holds the first two neighbour distances.
            distances = whole_distances
        else:
            if rows.shape[0] < _MIN_TWONN_POINTS:
                raise ValueError(
                    f"A TwoNN subset has {rows.shape[0]} distinct rows after removing "
                    f"duplicates; at least {_MIN_TWONN_POINTS} are needed."
                )
            distances, _ = kneighbors(distinct[rows], 2, backend=backend, n_jobs=n_jobs)
        dimensions[repeat], _ = twonn_from_distances(
            distances, discard_fraction=discard_fraction, n_bootstrap=0
        )
    return dimensions, indices


class IntrinsicDimensionProfile(TransformerMixin, BaseEstimator):
    """Intrinsic dimension and neighbourhood overlaps along the layers of a network.

    For every layer, TwoNN (Facco et al.) is fitted on ``n_repeats`` random
    subsets of ``N // subsample_factor`` samples, the same subsets in every layer
    so that layers are compared on the same points. The profile of trained
    networks rises in the first layers and then falls; the layer where the fall
    stops (:func:`select_layer`) holds the most abstract representation, and
    :meth:`transform` returns it. The neighbourhood overlaps of every layer with
    the input, with the previous layer and with the labels come from one
    neighbour search per layer.

    Read more in the :ref:`User Guide <representations>`.

    Parameters
    ----------
    subsample_factor : int, default=32
        Each TwoNN subset holds ``m = n_samples // subsample_factor`` samples: the
        scale at which the dimension is measured grows with the factor. ``m`` must
        be at least 20. ``subsample_factor=1, n_repeats=1`` uses the whole data set.
    n_repeats : int, default=4
        Subsets per layer: disjoint pieces of one random permutation when
        ``n_repeats * m <= n_samples``, independent draws otherwise.
    discard_fraction : float in [0, 1), default=0.02
        Fraction of the largest distance ratios left out of each TwoNN fit (see
        :func:`~skrepgeom.dimension.twonn_from_distances`).
    n_neighbors : int, default=10
        Neighbours per sample of the overlaps.
    n_layers : int, default=None
        Number of equal column blocks a 2-D ``X`` is cut into, one per layer;
        ``None`` reads a 2-D ``X`` as one layer.
    duplicates : {"warn", "remove", "raise"}, default="warn"
        Identical rows in a layer make the distance ratio infinite. ``"remove"``
        keeps one row of each value in that layer's TwoNN subsets (the first),
        ``"warn"`` does the same and warns with the count, ``"raise"`` refuses
        them. The overlaps use all rows.
    compute_overlap : bool, default=True
        Compute the overlaps (one ``n_neighbors`` search over all samples per
        layer, the costly part of the fit).
    weighted_label_overlap : bool, default=False
        Class-balanced label overlap (see
        :func:`~skrepgeom.neighbors.label_overlap_from_indices`).
    rule : {"first_local_min_after_peak", "global_min_after_peak", "plateau_start"}, \
            default="first_local_min_after_peak"
        Layer choice, see :func:`select_layer`.
    smooth : int, default=1
        Odd width of the moving average applied before the layer choice.
    activations : LayerActivations, default=None
        When given, ``X`` is the network's input: a clone of ``activations`` is
        fitted on it and its ``transform_layers(X)`` gives the layers.
    random_state : int, RandomState instance or None, default=None
        Seed of the subsets.
    backend : str, default="auto"
        One of :data:`skrepgeom.neighbors.BACKENDS`, passed unchanged to
        :func:`skrepgeom.neighbors.kneighbors`.
    n_jobs : int, default=None
        Joblib threads over layers, each running its neighbour searches with one
        worker and BLAS limited to one thread. With one worker (``None``, 1, or a
        single layer) ``n_jobs`` is passed to :func:`~skrepgeom.neighbors.kneighbors`
        instead. ``None`` means one, unless inside ``joblib.parallel_config``; see
        :ref:`parallelism`. Results do not depend on it.
    verbose : int, default=0
        When positive, shows a progress bar over the layers.

    Attributes
    ----------
    dimensions_ : ndarray of shape (n_layers,)
        Mean TwoNN dimension over the subsets of each layer.
    dimensions_err_ : ndarray of shape (n_layers,)
        Standard deviation over the subsets divided by ``sqrt(n_repeats)``.
    dimensions_repeats_ : ndarray of shape (n_layers, n_repeats)
        Dimension of each subset.
    subset_size_ : int
        Samples per subset, ``n_samples // subsample_factor``.
    n_duplicates_ : ndarray of shape (n_layers,)
        Duplicate rows found in each layer among the rows its TwoNN subsets draw
        (every row when the subsets cover them).
    overlap_input_ : ndarray of shape (n_layers,) or None
        Neighbourhood overlap of each layer with the first one.
    overlap_consecutive_ : ndarray of shape (n_layers - 1,) or None
        Overlap of layer ``l`` with layer ``l + 1``.
    overlap_labels_ : ndarray of shape (n_layers,) or None
        Fraction of neighbours sharing the sample's label, when ``y`` is given.
    peak_layer_ : int
        First maximum of the (smoothed) profile.
    selected_layer_ : int
        Layer chosen by ``rule``; :meth:`transform` returns it.
    selected_layer_name_ : str
        Its name.
    layer_names_ : list of str
        Keys of a dict ``X``, else ``"layer_0"``, ``"layer_1"``, ...
    layer_dims_ : ndarray of shape (n_layers,)
        Features of each layer.
    activations_ : LayerActivations
        The fitted clone of ``activations``, when given.
    n_features_in_ : int
        Number of features of a 2-D ``X`` seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string column names.

    See Also
    --------
    select_layer : The layer choice on its own.
    skrepgeom.neighbors.overlap_profile : The overlaps on their own.
    skrepgeom.dimension.TwoNNDimension : TwoNN on one data set.

    References
    ----------
    .. [1] L. Valeriani, D. Doimo, F. Cuturello, A. Laio, A. Ansuini, A. Cazzaniga,
       "The geometry of hidden representations of large transformer models",
       NeurIPS 2023.
    .. [2] A. Ansuini, A. Laio, J. H. Macke, D. Zoccolan, "Intrinsic dimension of
       data representations in deep neural networks", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.representations import IntrinsicDimensionProfile
    >>> rng = np.random.default_rng(0)
    >>> latent = rng.uniform(size=(2000, 6))
    >>> layers = [latent[:, :2], latent, latent[:, :4], latent[:, :3]]
    >>> profile = IntrinsicDimensionProfile(subsample_factor=4, random_state=0).fit(layers)
    >>> profile.dimensions_.round(1)
    array([1.9, 5.2, 3.6, 2.9])
    >>> profile.peak_layer_, profile.selected_layer_name_
    (1, 'layer_3')
    >>> profile.transform(layers).shape
    (2000, 3)
    """

    _parameter_constraints: dict = {
        "subsample_factor": [Interval(Integral, 1, None, closed="left")],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "discard_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left"), None],
        "duplicates": [StrOptions(set(DUPLICATES_OPTIONS))],
        "compute_overlap": ["boolean"],
        "weighted_label_overlap": ["boolean"],
        "rule": [StrOptions(set(RULES))],
        "smooth": [Interval(Integral, 1, None, closed="left")],
        "activations": [HasMethods(["fit", "transform_layers"]), None],
        "random_state": ["random_state"],
        "backend": [StrOptions(set(BACKENDS))],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        subsample_factor=32,
        n_repeats=4,
        discard_fraction=0.02,
        n_neighbors=10,
        n_layers=None,
        duplicates="warn",
        compute_overlap=True,
        weighted_label_overlap=False,
        rule="first_local_min_after_peak",
        smooth=1,
        activations=None,
        random_state=None,
        backend="auto",
        n_jobs=None,
        verbose=0,
    ):
        self.subsample_factor = subsample_factor
        self.n_repeats = n_repeats
        self.discard_fraction = discard_fraction
        self.n_neighbors = n_neighbors
        self.n_layers = n_layers
        self.duplicates = duplicates
        self.compute_overlap = compute_overlap
        self.weighted_label_overlap = weighted_label_overlap
        self.rule = rule
        self.smooth = smooth
        self.activations = activations
        self.random_state = random_state
        self.backend = backend
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _layers(self, X, reset):
        """``(names, arrays)`` of the layers held by ``X``, in any accepted format."""
        if self.activations is not None:
            if reset:
                self.activations_ = clone(self.activations).fit(X)
            X = self.activations_.transform_layers(X)
        stacked = _stacked_layers(X)
        if stacked is not None:
            if reset:
                self._column_blocks = None
            return stacked
        X = validate_float_data(self, X, reset=reset)
        n_layers = 1 if self.n_layers is None else self.n_layers
        blocks = _split_columns(X, n_layers)
        if reset:
            self._column_blocks = blocks
        return _layer_names(n_layers), [X[:, block] for block in blocks]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Measure the intrinsic dimension (and overlaps) of every layer; choose one.

        Parameters
        ----------
        X : list of array-like, dict, ndarray or array-like of shape (n_samples, n_features)
            Layers holding the same samples row for row: a list of
            ``(n_samples, d_l)`` arrays, a dict name -> array (the output of
            ``LayerActivations.transform_layers``), a 3-D array
            ``(n_samples, n_layers, d)``, or a 2-D array cut into ``n_layers``
            equal column blocks. With ``activations`` set, the network's input.
        y : array-like of shape (n_samples,), default=None
            Labels for ``overlap_labels_``.

        Returns
        -------
        self : IntrinsicDimensionProfile
            The fitted estimator.
        """
        check_n_jobs(self.n_jobs)
        _check_smooth(self.smooth)
        names, layers = self._layers(X, reset=True)
        n_samples = _check_same_samples(names, layers)
        if y is not None:
            y = np.asarray(y)
            if y.ndim != 1 or y.shape[0] != n_samples:
                raise ValueError(
                    f"y must hold one label per sample: got shape {y.shape} for "
                    f"n_samples={n_samples}."
                )
        subset_size = n_samples // self.subsample_factor
        if subset_size < _MIN_SUBSET_SIZE:
            raise ValueError(
                f"subsample_factor={self.subsample_factor} leaves subsets of "
                f"{subset_size} samples out of n_samples={n_samples}; TwoNN needs at least "
                f"{_MIN_SUBSET_SIZE} per subset: lower subsample_factor or pass more samples."
            )
        n_neighbors = None
        if self.compute_overlap:
            check_n_neighbors(self.n_neighbors, n_samples)
            n_neighbors = self.n_neighbors
        subsets = _subsets(n_samples, subset_size, self.n_repeats, self.random_state)

        # The duplicate policy runs in the calling thread, so that its warnings
        # reach the caller whatever the number of workers. Only the rows the
        # subsets draw are searched (the overlaps use every row and tolerate
        # duplicates); the subsets become positions among those rows.
        used = np.unique(subsets)
        positions = np.searchsorted(used, subsets)
        covers_all = used.shape[0] == n_samples
        distinct_layers, n_duplicates = [], []
        for layer in layers:
            distinct, unique_index, count = handle_duplicates(
                layer if covers_all else layer[used], self.duplicates,
                min_unique=_MIN_TWONN_POINTS,
            )
            distinct_layers.append((distinct, unique_index))
            n_duplicates.append(count)

        n_threads = min(n_workers(self.n_jobs), len(layers))
        inner_n_jobs = 1 if n_threads > 1 else self.n_jobs
        tasks = zip(layers, distinct_layers)
        if self.verbose:
            from tqdm.auto import tqdm

            tasks = tqdm(tasks, total=len(layers), desc="ID profile layers")
        with worker_blas_limit(n_threads):
            results = Parallel(n_jobs=n_threads, prefer="threads")(
                delayed(_layer_statistics)(
                    layer, distinct, unique_index, positions, self.discard_fraction, n_neighbors,
                    self.backend, inner_n_jobs,
                )
                for layer, (distinct, unique_index) in tasks
            )
        repeats = np.array([dimensions for dimensions, _ in results])
        self.dimensions_repeats_ = repeats
        self.dimensions_ = repeats.mean(axis=1)
        self.dimensions_err_ = repeats.std(axis=1) / np.sqrt(self.n_repeats)
        self.subset_size_ = subset_size
        self.n_duplicates_ = np.array(n_duplicates)
        self._set_overlaps([indices for _, indices in results], y)

        self.layer_names_ = names
        self.layer_dims_ = np.array([layer.shape[1] for layer in layers])
        self.peak_layer_ = int(np.argmax(_smoothed(self.dimensions_, self.smooth)))
        self.selected_layer_ = _select_layer(
            self.dimensions_, self.rule, self.smooth, 0.0, 0.1, stacklevel=4
        )
        self.selected_layer_name_ = names[self.selected_layer_]
        return self

    def _set_overlaps(self, indices, y):
        if not self.compute_overlap:
            self.overlap_input_ = self.overlap_consecutive_ = self.overlap_labels_ = None
            return
        self.overlap_input_ = np.array(
            [neighborhood_overlap_from_indices(layer, indices[0]) for layer in indices]
        )
        self.overlap_consecutive_ = np.array(
            [neighborhood_overlap_from_indices(a, b) for a, b in zip(indices[:-1], indices[1:])]
        )
        self.overlap_labels_ = None
        if y is not None:
            self.overlap_labels_ = np.array(
                [
                    label_overlap_from_indices(layer, y, weighted=self.weighted_label_overlap)
                    for layer in indices
                ]
            )

    def transform(self, X):
        """The selected layer of ``X``.

        Parameters
        ----------
        X : list of array-like, dict, ndarray or array-like of shape (n_samples, n_features)
            Layers in the format given to :meth:`fit` (raw input with ``activations``).

        Returns
        -------
        X_layer : ndarray of shape (n_samples, layer_dims_[selected_layer_])
            A copy of layer ``selected_layer_``.
        """
        check_is_fitted(self)
        names, layers = self._layers(X, reset=False)
        dims = [layer.shape[1] for layer in layers]
        if dims != list(self.layer_dims_):
            raise ValueError(
                f"X holds layers of widths {dims}, but the profile was fitted on layers of "
                f"widths {list(self.layer_dims_)}."
            )
        return np.array(layers[self.selected_layer_], copy=True)

    def get_feature_names_out(self, input_features=None):
        """Names of the features of the selected layer.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names, for a 2-D ``X`` only; ``None`` uses
            ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
            For a 2-D ``X``, the input names of the selected column block; for
            other formats ``"<layer name>__<j>"``.
        """
        check_is_fitted(self)
        if self._column_blocks is not None:
            names = _check_feature_names_in(self, input_features)
            return names[self._column_blocks[self.selected_layer_]]
        width = int(self.layer_dims_[self.selected_layer_])
        return np.asarray(
            [f"{self.selected_layer_name_}__{j}" for j in range(width)], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
