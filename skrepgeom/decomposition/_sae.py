"""Sparse autoencoders (ReLU + L1 and TopK) trained with torch behind the sklearn API.

The fitted state is a set of NumPy arrays in **input units** (``encoder_weight_``,
``encoder_bias_``, ``components_``, ``decoder_norms_``, ``decoder_bias_``,
``input_scale_``); training moves them into torch tensors in the *scaled* space
``x' = x / input_scale_`` and writes them back after every (partial) fit. The Adam
moments and the dead-latent counters are kept between calls so that ``partial_fit``
and ``warm_start`` continue the same optimisation.

Gradients are written by hand rather than by autograd: for TopK the decoder and the
encoder backward touch only the ``k`` selected latents of each row (sparse products),
and for ReLU the hand-written backward saves the elementwise passes autograd would
spend on the ``(batch, n_components)`` activations.
"""

import math
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skrepgeom.utils._torch import (
    TORCH_PARAMETER_CONSTRAINTS,
    make_generator,
    resolve_device,
    resolve_dtype,
    to_numpy,
    to_tensor,
    torch_threads,
)

__all__ = ["SparseAutoencoder", "sae_metrics"]

_HISTORY_EVERY = 50
_RESAMPLE_ENCODER_SCALE = 0.2
_AUXK_COEF = 1.0 / 32.0
_NORM_EPS = 1e-12
# Under n_jobs=None, steps whose encoder product has fewer multiply-adds than this run on
# one torch thread: on the 2-core test machine a 256 x 32 x 128 TopK step took 4.5 ms
# on one thread and 85 ms on two (thread synchronisation dominates such small products).
_SMALL_STEP = 2**24
# Largest row count whose 0/1 column sums are exact in float32.
_EXACT_FLOAT_COUNT = 2**24


def _geometric_median(X, *, max_iter=100, tol=1e-6):
    """Weiszfeld iterations for the point minimising the sum of distances to the rows."""
    y = X.mean(dim=0)
    for _ in range(max_iter):
        distances = torch.linalg.vector_norm(X - y, dim=1).clamp_min(_NORM_EPS)
        weights = 1.0 / distances
        y_new = (weights[:, None] * X).sum(dim=0) / weights.sum()
        shift = torch.linalg.vector_norm(y_new - y)
        y = y_new
        if shift <= tol * (torch.linalg.vector_norm(y) + _NORM_EPS):
            break
    return y


def _project_off_rows(grad, rows):
    """Remove from each gradient row its component along the (unit) decoder row, in place.

    The step then moves a unit row along the sphere to first order, so the
    renormalisation after the step corrects only a second-order drift.
    """
    dots = torch.linalg.vecdot(grad, rows, dim=1)
    return grad.addcmul_(dots.unsqueeze(1), rows, value=-1.0)


def _normalize_rows(rows):
    """Scale each row to unit norm, in place."""
    rows /= torch.linalg.vector_norm(rows, dim=1, keepdim=True).clamp_min(_NORM_EPS)
    return rows


def _rows_to_latents(idx, values, n_components):
    """Sparse ``(n_components, batch)`` matrix holding ``values[b, i]`` at ``(idx[b, i], b)``."""
    batch, k = idx.shape
    rows = torch.arange(batch, device=idx.device).repeat_interleave(k)
    return torch.sparse_coo_tensor(
        torch.stack([idx.reshape(-1), rows]),
        values.reshape(-1),
        (n_components, batch),
        is_coalesced=False,
    )


def _gather_dot(idx, left, right):
    """``out[b, i] = left[b] . right[idx[b, i]]`` without a dense ``(batch, n_components)``."""
    batch, k = idx.shape
    crow = torch.arange(0, batch * k + 1, k, device=idx.device)
    with warnings.catch_warnings():
        # torch flags its CSR layout as beta; the sampled product is what we need.
        warnings.simplefilter("ignore", UserWarning)
        pattern = torch.sparse_csr_tensor(
            crow,
            idx.reshape(-1),
            torch.zeros(batch * k, dtype=left.dtype, device=left.device),
            (batch, right.shape[0]),
        )
    product = torch.sparse.sampled_addmm(pattern, left, right.t(), beta=0.0)
    return product.values().reshape(batch, k)


def _decode_rows(idx, values, decoder):
    """``sum_i values[b, i] * decoder[idx[b, i]]``: a gather of ``k`` rows per token."""
    return torch.nn.functional.embedding_bag(
        idx, decoder, per_sample_weights=values, mode="sum"
    )


class _State:
    """Torch tensors of one training run (scaled space), their Adam optimiser and work buffers.

    ``m`` and ``v`` are the optimiser's own moment tensors, so that resetting rows of
    them (resampling) resets the optimiser's state.
    """

    def __init__(self, params, device, dtype, *, moments=None, t=0):
        # contiguous copies: the fused Adam kernel walks parameter, gradient and moments
        # as flat arrays of the same layout
        self.p = {
            name: torch.as_tensor(value).to(device=device, dtype=dtype).clone(
                memory_format=torch.contiguous_format
            )
            for name, value in params.items()
        }
        if moments is None:
            self.m = {name: torch.zeros_like(t_) for name, t_ in self.p.items()}
            self.v = {name: torch.zeros_like(t_) for name, t_ in self.p.items()}
        else:
            self.m = {name: torch.as_tensor(moments["m"][name]).to(device=device, dtype=dtype)
                      for name in self.p}
            self.v = {name: torch.as_tensor(moments["v"][name]).to(device=device, dtype=dtype)
                      for name in self.p}
        self._t0 = t
        self.optimizer = None
        self._buffers = {}

    def make_optimizer(self, learning_rate, beta_1, beta_2):
        """Adam over ``p`` holding ``m``, ``v`` and the step count; one fused kernel per step."""
        self.optimizer = torch.optim.Adam(
            list(self.p.values()), lr=learning_rate, betas=(beta_1, beta_2), eps=1e-8,
            fused=True,
        )
        for name, param in self.p.items():
            self.optimizer.state[param] = {
                # one step tensor per parameter: the fused kernel increments each of them
                "step": torch.tensor(float(self._t0), dtype=torch.float32, device=param.device),
                "exp_avg": self.m[name],
                "exp_avg_sq": self.v[name],
            }

    @property
    def t(self):
        if self.optimizer is None:
            return self._t0
        return int(self.optimizer.state[self.p["enc"]]["step"])

    def buffer(self, name, rows, columns):
        """A ``(rows, columns)`` work array reused across steps.

        Large step temporaries are allocated once per fit: a fresh allocation of that size
        is a new memory map whose pages are faulted in (and zeroed) on every step.
        """
        buf = self._buffers.get(name)
        if buf is None or buf.shape[0] < rows or buf.shape[1] != columns:
            ref = self.p["enc"]
            buf = torch.empty(rows, columns, device=ref.device, dtype=ref.dtype)
            self._buffers[name] = buf
        return buf[:rows]


class _SAEModule(torch.nn.Module):
    """A fitted sparse autoencoder as a torch module (input units in and out).

    ``encode(x)`` returns the non-negative codes, ``decode(f)`` the reconstruction
    ``(f * decoder_norms * input_scale) @ components + decoder_bias``, ``forward(x)``
    the reconstruction of ``x``.
    """

    def __init__(self, encoder_weight, encoder_bias, components, decoder_norms, decoder_bias,
                 *, input_scale, activation, k, center_input):
        super().__init__()
        self.encoder_weight = torch.nn.Parameter(encoder_weight)
        self.encoder_bias = torch.nn.Parameter(encoder_bias)
        self.components = torch.nn.Parameter(components)
        self.decoder_norms = torch.nn.Parameter(decoder_norms)
        self.decoder_bias = torch.nn.Parameter(decoder_bias)
        self.input_scale = input_scale
        self.activation = activation
        self.k = k
        self.center_input = center_input

    def encode(self, x):
        if self.center_input:
            x = x - self.decoder_bias
        pre = x @ self.encoder_weight + self.encoder_bias
        if self.activation == "relu":
            return torch.relu(pre)
        values, idx = pre.topk(self.k, dim=-1)
        return torch.zeros_like(pre).scatter_(-1, idx, torch.relu(values))

    def decode(self, codes):
        return (codes * (self.decoder_norms * self.input_scale)) @ self.components + self.decoder_bias

    def forward(self, x):
        return self.decode(self.encode(x))


class SparseAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Sparse autoencoder: a wide, sparse, non-negative code that reconstructs the input linearly.

    Each row ``x`` (a token's hidden state, say) is encoded as
    ``f = act((x' - b_dec) W_enc + b_enc)`` with ``x' = x / input_scale_`` and
    reconstructed as ``x_hat' = f W_dec + b_dec``; every row of ``W_dec`` is a
    direction in input space (``components_``). ``activation="relu"`` trains with an
    L1 penalty on the codes; ``activation="topk"`` keeps the ``k`` largest
    pre-activations of every row and needs no penalty.

    Read more in the :ref:`User Guide <decomposition>`.

    Parameters
    ----------
    n_components : int, default=None
        Number of latents; ``None`` means ``expansion_factor * n_features_in_``.
    expansion_factor : int, default=8
        Latents per input feature when ``n_components`` is ``None``.
    activation : {"relu", "topk"}, default="relu"
        ``"relu"``: ReLU codes with the L1 penalty ``l1_coef``; ``"topk"``: the ``k``
        largest pre-activations of each row, then ReLU (``l1_coef`` is not used).
    k : int, default=32
        Active latents per row for ``activation="topk"`` (at most ``n_components``).
    l1_coef : float, default=0.1
        Weight of the L1 term ``mean over rows of sum_j f_j ||W_dec,j||``. The loss is a
        mean over rows; code that sums the L1 term over the batch (plm-sae) with a
        coefficient ``c`` corresponds to ``l1_coef = c * batch_size``.
    l1_weighting : {"decoder_norm", "none"}, default="decoder_norm"
        Weight each latent's L1 term by its decoder-row norm (so that shrinking
        codes while growing decoder rows does not pay) or not.
    normalize_decoder : bool, default=True
        Keep every decoder row at unit norm: the row's gradient is projected off the
        row before each Adam step and the row is renormalised after it.
    center_input : bool, default=True
        Subtract the decoder bias before encoding.
    normalize_input : {None, "expected_norm"}, default=None
        ``"expected_norm"`` divides inputs by ``input_scale_ = mean ||x|| / sqrt(d)``,
        measured on the first batch and then frozen, so that the L1 coefficient means
        the same for any activation scale. Outputs are in input units.
    dead_latent_strategy : {"none", "reinit", "resample", "auxk"}, default="resample"
        What to do with latents that did not fire on any row during the last
        ``dead_latent_window`` steps. ``"reinit"``: fresh random unit rows.
        ``"resample"``: the decoder row becomes the normalised residual of a row drawn
        with probability proportional to its squared loss, the encoder column 0.2
        times that times the mean norm of live encoder columns, the bias 0, and their
        Adam moments are reset. ``"auxk"`` (TopK only): an auxiliary loss makes the
        top ``n_features_in_ // 2`` dead latents reconstruct the residual. Resampling
        is checked every ``dead_latent_window`` steps, never in a fit's last window.
    dead_latent_window : int, default=1000
        Window, in steps, of the dead-latent rule.
    batch_size : int, default=4096
        Rows per step.
    max_epochs : int, default=1
        Passes over ``X`` in :meth:`fit`.
    max_steps : int, default=None
        When set, :meth:`fit` runs exactly this many steps (repeating epochs as
        needed) instead of ``max_epochs`` epochs.
    learning_rate : float, default=3e-4
        Adam step size.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam moment decay rates.
    warm_start : bool, default=False
        Continue from the previous fit (weights, Adam moments, counters).
    sparse_output : bool, default=False
        :meth:`transform` returns a CSR matrix.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where to train and encode; ``"auto"`` picks CUDA when available.
    dtype : {"float32", "float64"}, default="float32"
        Torch compute dtype, and dtype of the fitted arrays and of the outputs.
    n_jobs : int, default=None
        Torch intra-op threads during fit and transform, set and restored; no other
        pool is used. ``None`` runs on **one thread when**
        ``batch_size * n_features_in_ * n_components_ < 2**24`` (small products lose more
        to thread synchronisation than they gain: a 256 x 32 x 128 TopK step took
        4.5 ms on one thread and 85 ms on two on a loaded 2-core machine) and keeps
        torch's setting otherwise.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the minibatch order and the resampling.
    verbose : int, default=0
        ``1``: a line per 50 steps with loss, L0, explained variance and dead fraction.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features_in_)
        Unit decoder rows, in input space.
    decoder_norms_ : ndarray of shape (n_components,)
        Norms of the decoder rows in the scaled space (1 with ``normalize_decoder``).
    encoder_weight_ : ndarray of shape (n_features_in_, n_components)
        Encoder acting on input units: ``pre = (x - decoder_bias_) @ encoder_weight_ + encoder_bias_``.
    encoder_bias_ : ndarray of shape (n_components,)
        Encoder bias.
    decoder_bias_ : ndarray of shape (n_features_in_,)
        Decoder bias in input units.
    input_scale_ : float
        Divisor of the inputs (1.0 unless ``normalize_input="expected_norm"``).
    module_ : torch.nn.Module
        The fitted autoencoder as a CPU module (``encode``, ``decode``, ``forward``, input
        units) whose parameters share memory with the arrays above, so that it always
        shows the current weights (:meth:`partial_fit` updates them in place). It is left
        out of pickles and rebuilt on loading. :meth:`to_torch` returns a copy.
    n_components_ : int
        Number of latents.
    n_iter_ : int
        Epochs run by the last :meth:`fit` (passes for :meth:`partial_fit`, cumulated).
    n_steps_ : int
        Optimisation steps run so far.
    n_tokens_seen_ : int
        Rows seen during training so far.
    loss_curve_ : list of float
        Loss of every step.
    history_ : list of dict
        Every 50 steps: ``step``, ``loss``, ``mse``, ``l1``, ``l0``, ``dead_fraction``.
    feature_frequencies_ : ndarray of shape (n_components,)
        Fraction of the rows of the last training call on which each latent fired.
    dead_latents_ : ndarray of shape (n_components,), dtype=bool
        Latents that did not fire during the last ``dead_latent_window`` steps.
    n_resampled_ : int
        Latents re-initialised or resampled so far.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string column names.

    See Also
    --------
    sae_metrics : L0, dead fraction, explained variance, MSE and L1 of a fitted SAE.
    latent_annotation_enrichment : Which latents fire on annotated tokens.
    LatentSteering : Add latent directions to a model's hidden states.

    References
    ----------
    .. [1] E. Villegas Garcia, A. Ansuini, "Interpreting and steering protein language
       models through sparse autoencoders", arXiv:2502.09135 (2025).
    .. [2] L. Gao et al., "Scaling and evaluating sparse autoencoders",
       arXiv:2406.04093 (2024).

    Examples
    --------
    >>> from skrepgeom.datasets import make_sparse_dictionary_data
    >>> from skrepgeom.decomposition import SparseAutoencoder
    >>> X, codes, atoms = make_sparse_dictionary_data(2000, 16, 32, 2, random_state=0)
    >>> sae = SparseAutoencoder(n_components=64, activation="topk", k=2, batch_size=128,
    ...                         max_steps=200, learning_rate=1e-3, random_state=0).fit(X)
    >>> sae.transform(X[:3]).shape
    (3, 64)
    >>> int((sae.transform(X[:3]) > 0).sum(axis=1).max())
    2
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "expansion_factor": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"relu", "topk"})],
        "k": [Interval(Integral, 1, None, closed="left")],
        "l1_coef": [Interval(Real, 0, None, closed="left")],
        "l1_weighting": [StrOptions({"decoder_norm", "none"})],
        "normalize_decoder": ["boolean"],
        "center_input": ["boolean"],
        "normalize_input": [StrOptions({"expected_norm"}), None],
        "dead_latent_strategy": [StrOptions({"none", "reinit", "resample", "auxk"})],
        "dead_latent_window": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "max_steps": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "warm_start": ["boolean"],
        "sparse_output": ["boolean"],
        **TORCH_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        n_components=None,
        expansion_factor=8,
        activation="relu",
        k=32,
        l1_coef=0.1,
        l1_weighting="decoder_norm",
        normalize_decoder=True,
        center_input=True,
        normalize_input=None,
        dead_latent_strategy="resample",
        dead_latent_window=1000,
        batch_size=4096,
        max_epochs=1,
        max_steps=None,
        learning_rate=3e-4,
        beta_1=0.9,
        beta_2=0.999,
        warm_start=False,
        sparse_output=False,
        device="cpu",
        dtype="float32",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.expansion_factor = expansion_factor
        self.activation = activation
        self.k = k
        self.l1_coef = l1_coef
        self.l1_weighting = l1_weighting
        self.normalize_decoder = normalize_decoder
        self.center_input = center_input
        self.normalize_input = normalize_input
        self.dead_latent_strategy = dead_latent_strategy
        self.dead_latent_window = dead_latent_window
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.warm_start = warm_start
        self.sparse_output = sparse_output
        self.device = device
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ validation
    def _validate_X(self, X, *, reset):
        if hasattr(X, "ndim") and getattr(X, "ndim", 2) != 2 and not sp.issparse(X):
            raise ValueError(
                f"SparseAutoencoder expects a 2-D array of shape (n_tokens, n_features), got "
                f"an array with {X.ndim} dimension(s) of shape {tuple(X.shape)}. Reshape your "
                "data to (n_tokens, d), e.g. X.reshape(-1, X.shape[-1])."
            )
        return validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=False,
            dtype=[np.float64, np.float32],
            ensure_all_finite=True,
            ensure_2d=True,
        )

    def _n_threads(self, n_features, n_components):
        """``n_jobs``, or one thread for small steps when ``n_jobs`` is None."""
        if self.n_jobs is not None:
            return self.n_jobs
        if self.batch_size * n_features * n_components < _SMALL_STEP:
            return 1
        return None

    def _check_params(self, n_features):
        n_components = (
            self.n_components if self.n_components is not None
            else self.expansion_factor * n_features
        )
        if self.activation == "topk" and self.k > n_components:
            raise ValueError(
                f"k={self.k} must be at most n_components={n_components} for "
                "activation='topk'."
            )
        if self.dead_latent_strategy == "auxk" and self.activation != "topk":
            raise ValueError(
                "dead_latent_strategy='auxk' needs activation='topk' (the auxiliary loss "
                f"reconstructs the residual with dead TopK latents), got activation={self.activation!r}."
            )
        return n_components

    # --------------------------------------------------------- torch tensors
    def _scaled_params(self):
        """Fitted arrays mapped to the scaled space of the training tensors."""
        s = self.input_scale_
        return {
            "enc": (self.encoder_weight_ * s).T,  # (n_components, d): rows are latents
            "b_enc": self.encoder_bias_,
            "dec": self.components_ * self.decoder_norms_[:, None],
            "b_dec": self.decoder_bias_ / s,
        }

    def _store(self, state, *, in_place=False):
        """Write the training tensors back as fitted arrays in input units.

        ``in_place`` (calls that continue a fit) overwrites the existing arrays rather
        than binding new ones: long-lived arrays reallocated on every ``partial_fit``
        call fragment the heap, and resident memory then grows with the number of calls.
        It also keeps :attr:`module_`, which shares their memory, in step.
        """
        np_dtype = np.dtype(self.dtype)
        s = self.input_scale_
        enc = to_numpy(state.p["enc"]).astype(np_dtype, copy=False)
        dec = to_numpy(state.p["dec"]).astype(np_dtype, copy=False)
        norms = np.linalg.norm(dec, axis=1)
        values = {
            "encoder_weight_": (enc / s).T,
            "encoder_bias_": to_numpy(state.p["b_enc"]),
            "decoder_norms_": norms,
            "components_": dec / np.maximum(norms, _NORM_EPS)[:, None],
            "decoder_bias_": to_numpy(state.p["b_dec"]) * s,
        }
        if in_place and all(
            getattr(self, name).shape == value.shape and getattr(self, name).dtype == np_dtype
            for name, value in values.items()
        ):
            for name, value in values.items():
                np.copyto(getattr(self, name), value, casting="same_kind")
            return
        for name, value in values.items():
            setattr(self, name, np.array(value, dtype=np_dtype, order="C"))
        self.module_ = self._make_module(share_memory=True)

    def _make_module(self, *, share_memory):
        """The fitted arrays as an :class:`_SAEModule`, sharing their memory or copying them."""
        def tensor(array):
            return torch.from_numpy(array) if share_memory else torch.tensor(array)

        return _SAEModule(
            tensor(self.encoder_weight_),
            tensor(self.encoder_bias_),
            tensor(self.components_),
            tensor(self.decoder_norms_),
            tensor(self.decoder_bias_),
            input_scale=self.input_scale_,
            activation=self.activation,
            k=self.k,
            center_input=self.center_input,
        )

    def to_torch(self):
        """A copy of the fitted autoencoder as a CPU ``torch.nn.Module`` acting on input units.

        Unlike :attr:`module_`, the returned module owns its weights: training or moving
        it leaves the estimator unchanged.

        Returns
        -------
        module : torch.nn.Module
            With ``encode(x)``, ``decode(codes)`` and ``forward(x)`` (reconstruction);
            ``encode`` returns dense codes equal to :meth:`transform`.
        """
        check_is_fitted(self)
        return self._make_module(share_memory=False)

    def __getstate__(self):
        # module_ is a view of the fitted arrays: pickled once, as NumPy, it reloads on
        # CPU whatever device trained it, and shares their memory again after loading.
        state = super().__getstate__()
        state.pop("module_", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "components_" in self.__dict__:
            self.module_ = self._make_module(share_memory=True)

    # ------------------------------------------------------------- training
    def _initialize(self, X0, n_features, n_components, generator, device, dtype):
        """Fresh weights: b_dec = geometric median of the first batch, W_enc = W_dec^T."""
        np_dtype = np.dtype(self.dtype)
        if self.normalize_input == "expected_norm":
            mean_norm = float(torch.linalg.vector_norm(X0, dim=1).mean())
            self.input_scale_ = mean_norm / math.sqrt(n_features) if mean_norm > 0 else 1.0
        else:
            self.input_scale_ = 1.0
        X0 = X0 / self.input_scale_
        dec = torch.randn(n_components, n_features, generator=generator, device=device, dtype=dtype)
        _normalize_rows(dec)
        b_dec = _geometric_median(X0) if self.center_input else torch.zeros(
            n_features, device=device, dtype=dtype
        )
        state = _State(
            {
                "enc": dec.clone(),
                "b_enc": torch.zeros(n_components, device=device, dtype=dtype),
                "dec": dec,
                "b_dec": b_dec,
            },
            device,
            dtype,
        )
        self.n_components_ = n_components
        self._store(state)
        self.n_steps_ = 0
        self.n_iter_ = 0
        self.n_tokens_seen_ = 0
        self.n_resampled_ = 0
        self.loss_curve_ = []
        self.history_ = []
        self._adam = None
        self._steps_since_fired = np.zeros(n_components, dtype=np.int64)
        self.dead_latents_ = np.zeros(n_components, dtype=bool)
        self.feature_frequencies_ = np.zeros(n_components, dtype=np_dtype)
        return state

    def _state_from_fitted(self, device, dtype):
        if self._adam is None:
            return _State(self._scaled_params(), device, dtype)
        return _State(self._scaled_params(), device, dtype, moments=self._adam, t=self._adam["t"])

    def _save_adam(self, state):
        previous = self._adam
        self._adam = {
            "m": {name: to_numpy(t) for name, t in state.m.items()},
            "v": {name: to_numpy(t) for name, t in state.v.items()},
            "t": state.t,
        }
        if previous is not None and previous["m"]["enc"].shape == self._adam["m"]["enc"].shape:
            # into the previous arrays, for the reason given in _store (on CPU the moments
            # already are those arrays: the copy is then onto itself)
            for key in ("m", "v"):
                for name, value in self._adam[key].items():
                    np.copyto(previous[key][name], value)
            previous["t"] = self._adam["t"]
            self._adam = previous

    def _loss_and_grads(self, x, state, want_stats):
        """Loss terms, hand-written gradients and firing counts of one minibatch.

        Returns ``(grads, stats, counts, residual)``: ``stats`` holds 0-d tensors
        ``loss``, ``mse``, ``l1``, ``row_loss`` (per-row squared error) and ``l0``;
        ``counts`` the rows each latent fired on.
        """
        p = state.p
        enc, b_enc, dec, b_dec = p["enc"], p["b_enc"], p["dec"], p["b_dec"]
        batch, n_components = x.shape[0], enc.shape[0]
        xc = x - b_dec if self.center_input else x
        pre = torch.addmm(b_enc, xc, enc.t(), out=state.buffer("pre", batch, n_components))
        grads = {}
        if self.activation == "relu":
            f = pre.clamp_min_(0)
            x_hat = torch.addmm(b_dec, f, dec)
            diff = x_hat.sub_(x)
            row_loss = diff.square().sum(dim=1)
            mse = row_loss.mean()
            g = diff.mul_(2.0 / batch)
            if self.l1_weighting == "decoder_norm":
                norms = torch.linalg.vector_norm(dec, dim=1)
            else:
                norms = torch.ones(n_components, device=x.device, dtype=x.dtype)
            code_sums = f.sum(dim=0)
            l1 = code_sums @ norms / batch
            grads["dec"] = f.t() @ g
            if self.l1_weighting == "decoder_norm" and self.l1_coef > 0:
                radial = code_sums.div_(norms.clamp_min(_NORM_EPS)).mul_(self.l1_coef / batch)
                grads["dec"].addcmul_(radial.unsqueeze(1), dec)
            grads["b_dec"] = g.sum(dim=0)
            grad_pre = torch.addmm(norms * (self.l1_coef / batch), g, dec.t(),
                                   out=state.buffer("grad_pre", batch, n_components))
            # ReLU's own backward kernel, written over its input: one pass, no boolean mask
            torch.ops.aten.threshold_backward.grad_input(grad_pre, f, 0, grad_input=grad_pre)
            grads["enc"] = grad_pre.t() @ xc
            grads["b_enc"] = grad_pre.sum(dim=0)
            if batch <= _EXACT_FLOAT_COUNT:
                # sign(f) is 0/1 and its column sums are exact integers below 2**24; this
                # avoids count_nonzero's (batch, n_components) boolean and int64 copies
                counts = torch.sign(f, out=grad_pre).sum(dim=0).long()
            else:
                counts = torch.count_nonzero(f, dim=0)
            loss = mse + self.l1_coef * l1
        else:
            values, idx = pre.topk(self.k, dim=1, sorted=False)
            codes = values.clamp_min(0)
            x_hat = _decode_rows(idx, codes, dec) + b_dec
            diff = x_hat.sub_(x)
            row_loss = diff.square().sum(dim=1)
            mse = row_loss.mean()
            g = diff.mul_(2.0 / batch)
            positive = values > 0
            grad_values = _gather_dot(idx, g, dec).mul_(positive)
            grads["dec"] = torch.sparse.mm(_rows_to_latents(idx, codes, n_components), g)
            grads["enc"] = torch.sparse.mm(_rows_to_latents(idx, grad_values, n_components), xc)
            grads["b_enc"] = torch.zeros_like(b_enc).index_add_(
                0, idx.reshape(-1), grad_values.reshape(-1)
            )
            grads["b_dec"] = g.sum(dim=0)
            counts = torch.zeros(n_components, device=x.device, dtype=torch.long).index_add_(
                0, idx.reshape(-1), positive.reshape(-1).long()
            )
            l1 = codes.sum(dim=1).mean()
            loss = mse
            if self.dead_latent_strategy == "auxk":
                aux = self._auxk_loss_and_grads(pre, xc, diff, state, grads)
                if aux is not None:
                    loss = loss + aux
        if self.center_input:
            grads["b_dec"] -= grads["b_enc"] @ enc
        stats = {"loss": loss, "mse": mse, "l1": l1, "row_loss": row_loss}
        if want_stats:
            stats["l0"] = counts.sum() / batch
        return grads, stats, counts

    def _auxk_loss_and_grads(self, pre, xc, diff, state, grads):
        """Dead latents' top ``k_aux`` reconstruct the (detached) residual ``x - x_hat``.

        Scaled by ``min(n_dead / k_aux, 1) / 32``; adds the gradients into ``grads``.
        """
        dead = torch.as_tensor(
            self._steps_since_fired >= self.dead_latent_window, device=pre.device
        )
        n_dead = int(dead.sum())
        if n_dead == 0:
            return None
        batch, n_features = xc.shape
        k_aux = max(n_features // 2, 1)
        scale = min(n_dead / k_aux, 1.0) * _AUXK_COEF
        dec = state.p["dec"]
        # diff was overwritten with g = 2 (x_hat - x) / batch: the residual is -g batch / 2.
        residual = diff * (-batch / 2.0)
        masked = pre.masked_fill(~dead, -torch.inf)
        values, idx = masked.topk(min(k_aux, n_dead), dim=1, sorted=False)
        codes = values.clamp_min(0)
        recon = _decode_rows(idx, codes, dec)
        err = recon - residual
        aux_mse = err.square().sum(dim=1).mean()
        g = err.mul_(2.0 * scale / batch)
        positive = values > 0
        grad_values = _gather_dot(idx, g, dec).mul_(positive)
        n_components = dec.shape[0]
        grads["dec"] += torch.sparse.mm(_rows_to_latents(idx, codes, n_components), g)
        grads["enc"] += torch.sparse.mm(_rows_to_latents(idx, grad_values, n_components), xc)
        grads["b_enc"].index_add_(0, idx.reshape(-1), grad_values.reshape(-1))
        return scale * aux_mse

    def _step(self, state, x, *, want_stats):
        """One optimisation step on the scaled minibatch ``x``; returns ``(stats, counts)``."""
        grads, stats, counts = self._loss_and_grads(x, state, want_stats=want_stats)
        if self.normalize_decoder:
            _project_off_rows(grads["dec"], state.p["dec"])
        self._adam_step(state, grads)
        if self.normalize_decoder:
            _normalize_rows(state.p["dec"])
        return stats, counts

    def _adam_step(self, state, grads):
        if state.optimizer is None:
            state.make_optimizer(self.learning_rate, self.beta_1, self.beta_2)
        for name, grad in grads.items():
            state.p[name].grad = grad
        state.optimizer.step()

    def _resample(self, state, x, row_loss, dead, generator):
        """Re-initialise the ``dead`` latents (bool tensor) from the current batch."""
        idx = torch.nonzero(dead).reshape(-1)
        n_dead = idx.shape[0]
        p = state.p
        n_features = p["dec"].shape[1]
        if self.dead_latent_strategy == "reinit":
            rows = torch.randn(n_dead, n_features, generator=generator,
                               device=x.device, dtype=x.dtype)
            _normalize_rows(rows)
            p["dec"][idx] = rows
            p["enc"][idx] = rows
        else:
            with torch.no_grad():
                x_hat = self._reconstruct_scaled(x, state)
                residual = x - x_hat
            weights = row_loss.square()
            if not torch.isfinite(weights).all() or weights.sum() <= 0:
                weights = torch.ones_like(weights)
            picks = torch.multinomial(weights, n_dead, replacement=n_dead > weights.shape[0],
                                      generator=generator)
            rows = residual[picks]
            _normalize_rows(rows)
            live = ~dead
            enc_norms = torch.linalg.vector_norm(p["enc"], dim=1)
            mean_live = enc_norms[live].mean() if bool(live.any()) else torch.ones((), dtype=x.dtype)
            p["dec"][idx] = rows
            p["enc"][idx] = _RESAMPLE_ENCODER_SCALE * mean_live * rows
        p["b_enc"][idx] = 0
        for moments in (state.m, state.v):
            moments["dec"][idx] = 0
            moments["enc"][idx] = 0
            moments["b_enc"][idx] = 0
        self.n_resampled_ += n_dead

    def _reconstruct_scaled(self, x, state):
        p = state.p
        xc = x - p["b_dec"] if self.center_input else x
        pre = torch.addmm(p["b_enc"], xc, p["enc"].t())
        if self.activation == "relu":
            return torch.addmm(p["b_dec"], pre.clamp_min_(0), p["dec"])
        values, idx = pre.topk(self.k, dim=1, sorted=False)
        return _decode_rows(idx, values.clamp_min(0), p["dec"]) + p["b_dec"]

    def _train(self, X, *, n_epochs, max_steps, first_call, protect_last_window):
        """Run the optimisation over ``X`` (validated array) and store the result."""
        device = resolve_device(self.device)
        dtype = resolve_dtype(self.dtype)
        n_samples, n_features = X.shape
        with warnings.catch_warnings():
            # X_t is only ever read (minibatches are gathered copies): a read-only input,
            # such as a chunk of a memory map, is used without a copy of the chunk
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            X_t = to_tensor(X, dtype=dtype, device=device)
        batch_size = min(self.batch_size, n_samples)
        if first_call:
            n_components = self._check_params(n_features)
            generator = make_generator(self.random_state, device)
            first = torch.randperm(n_samples, generator=generator, device=device)[:batch_size]
            state = self._initialize(X_t[first], n_features, n_components, generator, device, dtype)
            self._generator_state = generator.get_state()
        else:
            self._check_params(n_features)
            state = self._state_from_fitted(device, dtype)
            generator = torch.Generator(device=device)
            generator.set_state(self._generator_state)
        n_components = self.n_components_
        scale = self.input_scale_
        window = self.dead_latent_window
        resampling = self.dead_latent_strategy in ("reinit", "resample")
        steps_since = torch.as_tensor(self._steps_since_fired, device=device)
        total_counts = torch.zeros(n_components, device=device, dtype=torch.long)
        losses = []
        steps_per_epoch = math.ceil(n_samples / batch_size)
        total_steps = max_steps if max_steps is not None else n_epochs * steps_per_epoch
        step = 0
        epochs = 0
        rows_seen = 0
        while step < total_steps:
            order = torch.randperm(n_samples, generator=generator, device=device)
            epochs += 1
            for start in range(0, n_samples, batch_size):
                if step >= total_steps:
                    break
                x = X_t[order[start : start + batch_size]]
                if scale != 1.0:
                    x = x / scale
                global_step = self.n_steps_ + 1
                log = global_step % _HISTORY_EVERY == 0
                stats, counts = self._step(state, x, want_stats=log)
                fired = counts > 0
                steps_since += 1
                steps_since.masked_fill_(fired, 0)
                total_counts += counts
                losses.append(stats["loss"].detach())
                self.n_steps_ = global_step
                rows_seen += x.shape[0]
                step += 1
                if log:
                    self._log(stats, steps_since, x, state)
                if (
                    resampling
                    and global_step % window == 0
                    and not (protect_last_window and total_steps - step < window)
                ):
                    dead = steps_since >= window
                    if bool(dead.any()):
                        self._resample(state, x, stats["row_loss"], dead, generator)
                        steps_since.masked_fill_(dead, 0)
        if self.normalize_decoder:
            _normalize_rows(state.p["dec"])
        self._store(state, in_place=not first_call)
        self._save_adam(state)
        self._generator_state = generator.get_state()
        self._steps_since_fired = to_numpy(steps_since).astype(np.int64)
        self.dead_latents_ = self._steps_since_fired >= window
        self.feature_frequencies_ = (
            to_numpy(total_counts).astype(np.float64) / max(rows_seen, 1)
        ).astype(np.dtype(self.dtype))
        self.loss_curve_ = list(self.loss_curve_) + [float(v) for v in torch.stack(losses).cpu()]
        self.n_tokens_seen_ += rows_seen
        return epochs

    def _log(self, stats, steps_since, x, state):
        dead_fraction = float((steps_since >= self.dead_latent_window).float().mean())
        entry = {
            "step": int(self.n_steps_),
            "loss": float(stats["loss"]),
            "mse": float(stats["mse"]),
            "l1": float(stats["l1"]),
            "l0": float(stats["l0"]),
            "dead_fraction": dead_fraction,
        }
        self.history_ = list(self.history_) + [entry]
        if self.verbose:
            total = (x - x.mean(dim=0)).square().sum()
            ev = 1.0 - float(stats["mse"]) * x.shape[0] / max(float(total), _NORM_EPS)
            print(
                f"[SparseAutoencoder] step {entry['step']}: loss={entry['loss']:.5g} "
                f"L0={entry['l0']:.2f} EV={ev:.4f} dead={dead_fraction:.3f}",
                file=sys.stdout,
                flush=True,
            )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_tokens, n_features)
            Training rows (one hidden state per row).
        y : None
            Ignored.

        Returns
        -------
        self : SparseAutoencoder
            The fitted autoencoder.
        """
        first = not (self.warm_start and hasattr(self, "components_"))
        X = self._validate_X(X, reset=first)
        with torch_threads(self._n_threads(X.shape[1], self._check_params(X.shape[1]) if first else self.n_components_)):
            self.n_iter_ = self._train(
                X,
                n_epochs=self.max_epochs,
                max_steps=self.max_steps,
                first_call=first,
                protect_last_window=True,
            )
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One pass over ``X``; the first call initialises the weights.

        Parameters
        ----------
        X : array-like of shape (n_tokens, n_features)
            A chunk of training rows.
        y : None
            Ignored.

        Returns
        -------
        self : SparseAutoencoder
            The updated autoencoder.
        """
        first = not hasattr(self, "components_")
        X = self._validate_X(X, reset=first)
        with torch_threads(self._n_threads(X.shape[1], self._check_params(X.shape[1]) if first else self.n_components_)):
            epochs = self._train(
                X, n_epochs=1, max_steps=None, first_call=first, protect_last_window=False
            )
        self.n_iter_ = (0 if first else self.n_iter_) + epochs
        return self

    # ------------------------------------------------------------- inference
    def _encode_chunks(self, X):
        """Yield ``(start, codes)`` tensors of ``X`` encoded chunk by chunk."""
        device = resolve_device(self.device)
        dtype = resolve_dtype(self.dtype)
        enc = torch.as_tensor(self.encoder_weight_).to(device=device, dtype=dtype)
        b_enc = torch.as_tensor(self.encoder_bias_).to(device=device, dtype=dtype)
        b_dec = torch.as_tensor(self.decoder_bias_).to(device=device, dtype=dtype)
        if not X.flags.writeable:
            X = np.array(X)
        chunk = max(self.batch_size, 1)
        for start in range(0, X.shape[0], chunk):
            x = to_tensor(X[start : start + chunk], dtype=dtype, device=device)
            if self.center_input:
                x = x - b_dec
            pre = torch.addmm(b_enc, x, enc)
            if self.activation == "relu":
                yield start, pre.clamp_min_(0), None
            else:
                values, idx = pre.topk(self.k, dim=1, sorted=False)
                yield start, values.clamp_min_(0), idx

    def transform(self, X):
        """Encode ``X`` into the sparse, non-negative codes.

        Parameters
        ----------
        X : array-like of shape (n_tokens, n_features_in_)
            Rows to encode.

        Returns
        -------
        codes : ndarray or scipy.sparse.csr_matrix of shape (n_tokens, n_components_)
            The codes (CSR when ``sparse_output=True``), in ``dtype``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        np_dtype = np.dtype(self.dtype)
        n = X.shape[0]
        with torch_threads(self._n_threads(X.shape[1], self.n_components_)), torch.inference_mode():
            if self.sparse_output:
                blocks = []
                for _, codes, idx in self._encode_chunks(X):
                    if idx is None:
                        blocks.append(sp.csr_matrix(to_numpy(codes)))
                        continue
                    rows = np.repeat(np.arange(codes.shape[0]), codes.shape[1])
                    blocks.append(
                        sp.csr_matrix(
                            (to_numpy(codes).ravel(), (rows, to_numpy(idx).ravel())),
                            shape=(codes.shape[0], self.n_components_),
                        )
                    )
                out = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix(
                    (0, self.n_components_), dtype=np_dtype
                )
                out.eliminate_zeros()
                out.sort_indices()
                return out.astype(np_dtype)
            out = np.zeros((n, self.n_components_), dtype=np_dtype)
            for start, codes, idx in self._encode_chunks(X):
                if idx is None:
                    out[start : start + codes.shape[0]] = to_numpy(codes)
                else:
                    block = out[start : start + codes.shape[0]]
                    np.put_along_axis(block, to_numpy(idx), to_numpy(codes), axis=1)
            return out

    def inverse_transform(self, X):
        """Decode codes back to input space.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_tokens, n_components_)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_rec : ndarray of shape (n_tokens, n_features_in_)
            ``codes @ (decoder_norms_ * input_scale_ * components_) + decoder_bias_``.
        """
        check_is_fitted(self)
        from sklearn.utils import check_array

        if hasattr(X, "ndim") and X.ndim != 2:
            raise ValueError(
                f"inverse_transform expects a 2-D array of codes, got shape {tuple(X.shape)}."
            )
        codes = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32])
        if codes.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {codes.shape[1]} features, but inverse_transform is expecting "
                f"{self.n_components_} features (n_components_) as input."
            )
        decoder = self.components_ * (self.decoder_norms_ * self.input_scale_)[:, None]
        out = codes @ decoder.astype(codes.dtype, copy=False)
        return np.asarray(out + self.decoder_bias_, dtype=np.dtype(self.dtype))

    def score(self, X, y=None):
        """Explained variance of the reconstruction of ``X``.

        ``1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2`` (SAELens's definition).

        Parameters
        ----------
        X : array-like of shape (n_tokens, n_features_in_)
            Rows to reconstruct.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Explained variance (1 is perfect).
        """
        return sae_metrics(self, X)["explained_variance"]

    @property
    def _n_features_out(self):
        """Number of codes, for :meth:`get_feature_names_out`."""
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = [self.dtype]
        tags.input_tags.sparse = False
        return tags


def sae_metrics(sae, X):
    """Reconstruction and sparsity figures of a fitted :class:`SparseAutoencoder` on ``X``.

    Parameters
    ----------
    sae : SparseAutoencoder
        Fitted autoencoder.
    X : array-like of shape (n_tokens, n_features_in_)
        Rows to evaluate on.

    Returns
    -------
    metrics : dict
        ``l0`` (mean non-zero codes per row), ``dead_fraction`` (latents that never
        fire on ``X``), ``explained_variance`` (``1 - sum ||x - x_hat||^2 /
        sum ||x - mean(x)||^2``), ``mse`` (mean ``||x - x_hat||^2`` over rows, input
        units) and ``l1`` (mean sum of codes per row).

    Examples
    --------
    >>> from skrepgeom.datasets import make_sparse_dictionary_data
    >>> from skrepgeom.decomposition import SparseAutoencoder, sae_metrics
    >>> X, _, _ = make_sparse_dictionary_data(1000, 8, 16, 2, random_state=0)
    >>> sae = SparseAutoencoder(n_components=32, activation="topk", k=2, batch_size=100,
    ...                         max_steps=50, random_state=0).fit(X)
    >>> sorted(sae_metrics(sae, X))
    ['dead_fraction', 'explained_variance', 'l0', 'l1', 'mse']
    """
    check_is_fitted(sae)
    X = sae._validate_X(X, reset=False)
    codes = sae.transform(X)
    if sp.issparse(codes):
        nonzero = np.diff(codes.indptr)
        fired = np.zeros(sae.n_components_, dtype=bool)
        fired[codes.indices[codes.data > 0]] = True
        l1 = float(codes.sum()) / X.shape[0]
    else:
        nonzero = (codes > 0).sum(axis=1)
        fired = (codes > 0).any(axis=0)
        l1 = float(codes.sum(dtype=np.float64)) / X.shape[0]
    X_hat = sae.inverse_transform(codes).astype(np.float64)
    X64 = X.astype(np.float64)
    residual = ((X64 - X_hat) ** 2).sum()
    total = ((X64 - X64.mean(axis=0)) ** 2).sum()
    return {
        "l0": float(np.mean(nonzero)),
        "dead_fraction": float(1.0 - fired.mean()),
        "explained_variance": float(1.0 - residual / total) if total > 0 else float("nan"),
        "mse": float(residual / X.shape[0]),
        "l1": l1,
    }
