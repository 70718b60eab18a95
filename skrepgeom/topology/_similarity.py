"""Zigzag persistence across layers: persistence similarity and layer pruning."""

import sys
import time
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, _fit_context
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skrepgeom.neighbors import BACKENDS
from skrepgeom.topology._complexes import clique_complex, knn_graph, layer_zigzag
from skrepgeom.topology._kernels import (
    clique_enumeration,
    cone_filtration,
    reduce_cone_filtration,
)
from skrepgeom.topology._zigzag import (
    betti_curves,
    inter_layer_persistence,
    layer_barcode,
    layers_to_prune,
    persistence_similarity,
    position_barcode,
    pruning_score,
    run_zigzag,
)
from skrepgeom.utils._parallel import n_workers, worker_blas_limit
from skrepgeom.utils._progress import compilation_notice
from skrepgeom.utils._validation import FLOAT_DTYPES, check_n_neighbors, validate_float_data

__all__ = ["ZigzagPersistenceSimilarity"]


def _layer_complex(X, n_neighbors, max_dim, backend, n_jobs):
    indptr, indices = knn_graph(
        X.astype(np.float64, copy=False), n_neighbors, backend=backend, n_jobs=n_jobs
    )
    return clique_complex(indptr, indices, max_dim)


class ZigzagPersistenceSimilarity(SelectorMixin, BaseEstimator):
    """Cycles that persist across layers, by zigzag persistence of kNN complexes.

    Each layer's representation of the same ``n`` samples becomes the clique
    complex ``K_l`` of its symmetrised kNN graph, and consecutive layers are
    joined through their intersections,
    ``K_0 ⊇ K_0∩K_1 ⊆ K_1 ⊇ ... ⊆ K_{L-1}``. Zigzag persistence of this sequence
    tracks which cycles survive from layer to layer. ``similarity_[p][i, j]``
    counts the ``p``-cycles alive on every layer from ``i`` to ``j``; blocks of
    layers that share most of their cycles are candidates for pruning
    (Gardinazzi et al. 2025). :meth:`transform` drops the pruned layers.

    Read more in the :ref:`User Guide <topology>`.

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours per sample in each layer's kNN graph (Euclidean, computed in
        float64; for the cosine distance normalise the rows first). The graph is
        the union ``u ~ v`` if ``v`` is a neighbour of ``u`` or ``u`` of ``v``.
    homology_dims : tuple of int, default=(0, 1)
        Homology dimensions reported.
    max_simplex_dim : int, default=None
        Largest simplex dimension of the clique complexes; ``None`` means
        ``max(homology_dims) + 1``, which gives the exact bars of those
        dimensions (``H_p`` depends only on the ``(p + 1)``-skeleton). Bars of
        dimension ``max_simplex_dim`` itself are truncation artefacts and cannot
        be requested.
    n_layers : int, default=None
        Number of equal column blocks a 2-D ``X`` is cut into; ``None`` treats a
        2-D ``X`` as one layer. Must agree with a 3-D or list ``X``.
    prune_dim : int, default=1
        Homology dimension of the pruning score; one of ``homology_dims``.
    prune_threshold : float in (0, 1], default=0.9
        Layers ``i <= L - 2`` whose score reaches this fraction of the largest
        score are pruned.
    backend : str, default="auto"
        One of :data:`skrepgeom.neighbors.BACKENDS`.
        Neighbour-search backend, see :func:`skrepgeom.neighbors.kneighbors`.
    n_jobs : int, default=None
        Joblib worker threads over layers, each running one layer's neighbour
        search (BLAS limited to one thread per worker when there are several)
        and clique enumeration (Numba, without the GIL). With ``None`` and one
        worker, the neighbour search keeps BLAS's own threading. The zigzag
        reduction itself runs on one thread.
    verbose : int, default=0
        Print the time of each stage (kNN and complexes, operations,
        reduction, summaries) to stderr.

    Attributes
    ----------
    n_layers_ : int
        Number of layers ``L``.
    layer_widths_ : ndarray of shape (L,)
        Features of each layer.
    n_simplices_ : ndarray of shape (L,)
        Simplices of each layer's complex.
    barcode_ : ndarray of shape (n_bars, 3), dtype=int64
        Zigzag bars ``(dim, birth, death)`` of ``homology_dims`` in position
        units: position ``2l`` is layer ``l``, ``2l + 1`` the intersection of
        layers ``l`` and ``l + 1``; a bar is alive at ``birth .. death - 1`` and
        ``death = 2L - 1`` means alive at the last layer. Sorted.
    layer_barcode_ : ndarray of shape (n_layer_bars, 3), dtype=int64
        Bars in layer units ``(dim, first_layer, end_layer)``, see
        :func:`~skrepgeom.topology.layer_barcode`.
    betti_ : ndarray of shape (len(homology_dims), L), dtype=int64
        Betti numbers of every layer's complex.
    similarity_ : ndarray of shape (len(homology_dims), L, L), dtype=int64
        Persistence similarity ``PS_p``; the diagonal is ``betti_``.
    normalized_similarity_ : ndarray of shape (len(homology_dims), L, L)
        ``PS_p[i, j] / beta_p(i)``, rows of layers without cycles set to 0.
    pruning_score_ : ndarray of shape (L,)
        ``r(i) = (1 / L) sum_j PS[i, j] / beta(j)`` in ``prune_dim``; NaN when
        some layer has no cycle of that dimension.
    pruned_layers_ : ndarray of int64
        Sorted indices of the pruned layers.
    n_features_in_ : int
        Total number of features (sum of the layer widths).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, for a 2-D ``X`` with string
        column names.

    See Also
    --------
    zigzag_barcode : The zigzag engine on any simplex-wise zigzag.

    Notes
    -----
    The scores are fragile by construction: one kNN edge that changes between
    two layers can break a cycle in their intersection and end its bar, so on
    real networks most bars are short and pruning scores are small (about
    0.03-0.34 on LLM layers). A warning is emitted, the score is NaN and nothing
    is pruned when a layer has no cycle of ``prune_dim`` (with two or more
    layers).

    References
    ----------
    .. [1] L. Gardinazzi, K. Viswanathan, G. Panerai, A. Ansuini, A. Cazzaniga,
       M. Biagetti, "Persistent Topological Features in Large Language Models",
       ICML 2025.
    .. [2] T. K. Dey, T. Hou, "Fast Computation of Zigzag Persistence", ESA 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.topology import ZigzagPersistenceSimilarity
    >>> theta = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    >>> circle = np.c_[np.cos(theta), np.sin(theta)]
    >>> X = np.stack([circle, 1.1 * circle, circle + 0.01], axis=1)  # 3 layers
    >>> zz = ZigzagPersistenceSimilarity(n_neighbors=3).fit(X)
    >>> zz.betti_
    array([[1, 1, 1],
           [1, 1, 1]])
    >>> zz.similarity_[1]
    array([[1, 1, 1],
           [1, 1, 1],
           [1, 1, 1]])
    >>> zz.pruned_layers_
    array([0, 1])
    >>> zz.transform(X).shape
    (40, 1, 2)
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "homology_dims": ["array-like"],
        "max_simplex_dim": [Interval(Integral, 1, None, closed="left"), None],
        "n_layers": [Interval(Integral, 1, None, closed="left"), None],
        "prune_dim": [Interval(Integral, 0, None, closed="left")],
        "prune_threshold": [Interval(Real, 0, 1, closed="right")],
        "backend": [StrOptions(set(BACKENDS))],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        n_neighbors=5,
        homology_dims=(0, 1),
        max_simplex_dim=None,
        n_layers=None,
        prune_dim=1,
        prune_threshold=0.9,
        backend="auto",
        n_jobs=None,
        verbose=0,
    ):
        self.n_neighbors = n_neighbors
        self.homology_dims = homology_dims
        self.max_simplex_dim = max_simplex_dim
        self.n_layers = n_layers
        self.prune_dim = prune_dim
        self.prune_threshold = prune_threshold
        self.backend = backend
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_dims(self):
        dims = np.asarray(self.homology_dims)
        if dims.ndim != 1 or dims.size == 0 or not np.issubdtype(dims.dtype, np.integer):
            raise ValueError(
                "homology_dims must be a non-empty sequence of int, got "
                f"homology_dims={self.homology_dims!r}."
            )
        if np.any(dims < 0) or np.unique(dims).size != dims.size:
            raise ValueError(
                f"homology_dims must be distinct non-negative ints, got {self.homology_dims!r}."
            )
        dims = np.sort(dims).astype(np.int64)
        max_dim = int(dims.max()) + 1 if self.max_simplex_dim is None else self.max_simplex_dim
        if dims.max() >= max_dim:
            raise ValueError(
                f"homology_dims={self.homology_dims!r} needs max_simplex_dim > "
                f"{dims.max()}, got max_simplex_dim={max_dim}: bars of dimension "
                "max_simplex_dim are truncation artefacts."
            )
        if self.prune_dim not in dims:
            raise ValueError(
                f"prune_dim={self.prune_dim} must be one of homology_dims={self.homology_dims!r}."
            )
        return dims, max_dim

    def _split_layers(self, X, reset):
        """Layers of ``X`` as a list of 2-D arrays, and the input form."""
        if isinstance(X, (list, tuple)) and len(X) > 0 and all(np.ndim(x) == 2 for x in X):
            layers = [
                check_array(
                    x,
                    dtype=FLOAT_DTYPES,
                    accept_sparse=False,
                    ensure_all_finite=True,
                    input_name=f"X[{l}]",
                )
                for l, x in enumerate(X)
            ]
            n_samples = {layer.shape[0] for layer in layers}
            if len(n_samples) > 1:
                raise ValueError(
                    f"All layers must have the same number of samples, got {sorted(n_samples)}."
                )
            form = "list"
        else:
            if hasattr(X, "toarray") or hasattr(X, "tocsr"):
                raise TypeError(
                    "Sparse input is not supported: pass dense layer representations."
                )
            ndim = X.ndim if hasattr(X, "ndim") else np.asarray(X).ndim
            if ndim == 3:
                X = check_array(
                    X,
                    dtype=FLOAT_DTYPES,
                    accept_sparse=False,
                    ensure_all_finite=True,
                    allow_nd=True,
                )
                layers = [X[:, l, :] for l in range(X.shape[1])]
                form = "3d"
            elif ndim <= 2:
                # sklearn's own message for 1-D input says how to reshape it.
                X = validate_float_data(self, X, reset=reset)
                n_layers = 1 if self.n_layers is None else self.n_layers
                if X.shape[1] % n_layers:
                    raise ValueError(
                        f"X has {X.shape[1]} features, which cannot be cut into "
                        f"n_layers={n_layers} equal blocks."
                    )
                layers = np.split(X, n_layers, axis=1)
                form = "2d"
            else:
                raise ValueError(
                    "X must be a 2-D array (n_samples, n_layers * n_features), a 3-D "
                    "array (n_samples, n_layers, n_features) or a list of 2-D layers, "
                    f"got an array with ndim={ndim}."
                )
        if form != "2d":
            if self.n_layers is not None and self.n_layers != len(layers):
                raise ValueError(
                    f"n_layers={self.n_layers} conflicts with the {len(layers)} layers of X."
                )
            if reset:
                self.n_features_in_ = int(sum(layer.shape[1] for layer in layers))
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
        return layers, form

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Build the layer zigzag and compute its persistence summaries.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_layers, n_features), list of arrays \
of shape (n_samples, n_features_l), or array of shape (n_samples, n_layers * n_features)
            Representations of the same samples in every layer; a 2-D array is
            cut into ``n_layers`` equal column blocks (one layer when
            ``n_layers=None``).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : ZigzagPersistenceSimilarity
            The fitted estimator.
        """
        dims, max_dim = self._check_dims()
        layers, _ = self._split_layers(X, reset=True)
        n_samples = layers[0].shape[0]
        check_n_neighbors(self.n_neighbors, n_samples)
        n_layers = len(layers)
        compilation_notice(
            self.verbose, clique_enumeration, cone_filtration, reduce_cone_filtration
        )
        times = {}

        start = time.perf_counter()
        workers = min(n_workers(self.n_jobs), n_layers)
        with worker_blas_limit(workers):
            complexes = Parallel(n_jobs=workers, prefer="threads")(
                delayed(_layer_complex)(
                    layer,
                    self.n_neighbors,
                    max_dim,
                    self.backend,
                    1 if workers > 1 else self.n_jobs,
                )
                for layer in layers
            )
        times["kNN and complexes"] = time.perf_counter() - start

        start = time.perf_counter()
        zigzag = layer_zigzag(complexes)
        del complexes
        times["operations"] = time.perf_counter() - start

        zigzag_times = {}
        bars = run_zigzag(
            zigzag["op_simplex"],
            zigzag["op_insert"],
            zigzag["simplex_dim"],
            zigzag["facet_ptr"],
            zigzag["facet_idx"],
            times=zigzag_times,
        )
        times["operations"] += zigzag_times["filtration"]
        times["reduction"] = zigzag_times["reduction"]

        start = time.perf_counter()
        barcode = position_barcode(bars, zigzag["operations_done"])
        self.barcode_ = barcode[np.isin(barcode[:, 0], dims)]
        self.n_layers_ = n_layers
        self.layer_widths_ = np.array([layer.shape[1] for layer in layers], dtype=np.int64)
        self.n_simplices_ = zigzag["n_simplices"]
        self.layer_barcode_ = layer_barcode(self.barcode_, n_layers)
        self.betti_ = betti_curves(self.barcode_, n_layers, dims)
        self.similarity_ = np.stack(
            [persistence_similarity(self.barcode_, n_layers, dim=int(p)) for p in dims]
        )
        self.normalized_similarity_ = np.stack(
            [
                persistence_similarity(self.barcode_, n_layers, dim=int(p), normalize=True)
                for p in dims
            ]
        )
        prune_similarity = self.similarity_[int(np.flatnonzero(dims == self.prune_dim)[0])]
        if n_layers > 1:
            self.pruning_score_ = pruning_score(prune_similarity)
        else:
            # One layer is never cut, so an undefined score needs no warning.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self.pruning_score_ = pruning_score(prune_similarity)
        self.pruned_layers_ = layers_to_prune(self.pruning_score_, self.prune_threshold)
        times["summaries"] = time.perf_counter() - start
        self._homology_dims = dims
        self._stage_seconds = times
        if self.verbose:
            for stage, seconds in times.items():
                print(f"[ZigzagPersistenceSimilarity] {stage}: {seconds:.2f} s", file=sys.stderr)
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        kept = np.ones(self.n_layers_, dtype=bool)
        kept[self.pruned_layers_] = False
        return np.repeat(kept, self.layer_widths_)

    def transform(self, X):
        """Drop the pruned layers, keeping the input form.

        Parameters
        ----------
        X : array-like
            In any of the forms :meth:`fit` accepts, with the fitted layer layout.

        Returns
        -------
        X_kept : ndarray or list of ndarray
            ``(n_samples, sum of kept widths)`` for 2-D input (the features of
            :meth:`get_support`), ``(n_samples, n_kept_layers, n_features)`` for 3-D
            input, or the list of kept layers.
        """
        check_is_fitted(self)
        layers, form = self._split_layers(X, reset=False)
        widths = np.array([layer.shape[1] for layer in layers], dtype=np.int64)
        if widths.shape != self.layer_widths_.shape or np.any(widths != self.layer_widths_):
            raise ValueError(
                f"X has layers of widths {widths.tolist()} but the estimator was fitted on "
                f"{self.layer_widths_.tolist()}; the layer layout must match."
            )
        kept = np.setdiff1d(np.arange(self.n_layers_), self.pruned_layers_)
        if form == "2d":
            return np.concatenate([layers[l] for l in kept], axis=1)
        if form == "3d":
            return np.stack([layers[l] for l in kept], axis=1)
        return [layers[l] for l in kept]

    def ilp_profile(self, alpha=2.0, dim=1):
        """Inter-layer persistence of every layer.

        Parameters
        ----------
        alpha : float, default=2.0
            Distance exponent, see
            :func:`~skrepgeom.topology.inter_layer_persistence`.
        dim : int, default=1
            Homology dimension, one of ``homology_dims``.

        Returns
        -------
        ilp : ndarray of shape (n_layers_,)
        """
        check_is_fitted(self)
        return inter_layer_persistence(self.similarity_[self._dim_index(dim)], alpha=alpha)

    def layers_to_prune(self, threshold=0.9):
        """Layers cut at another threshold, from the fitted ``pruning_score_``.

        Parameters
        ----------
        threshold : float in (0, 1], default=0.9
            Fraction of the largest score.

        Returns
        -------
        layers : ndarray of int64
        """
        check_is_fitted(self)
        return layers_to_prune(self.pruning_score_, threshold)

    def _dim_index(self, dim):
        where = np.flatnonzero(self._homology_dims == dim)
        if where.size == 0:
            raise ValueError(
                f"dim={dim} is not one of the fitted homology_dims "
                f"{self._homology_dims.tolist()}."
            )
        return int(where[0])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.target_tags.required = False
        return tags
