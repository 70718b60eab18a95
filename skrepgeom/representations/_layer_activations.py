"""Pooled activations of several layers of a torch model, as a scikit-learn transformer."""

import copy
import os
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from skrepgeom.representations._activations import (
    _NpyWriter,
    POOLINGS,
    _check_token_ids,
    _explicit_pad_id,
    _expects_token_ids,
    _hidden_state_count,
    _input_embedding_name,
    _iter_captured,
    _pad_id,
    _pool,
    _token_batches,
)
from skrepgeom.utils._torch import (
    TORCH_PARAMETER_CONSTRAINTS,
    resolve_device,
    resolve_dtype,
    torch_threads,
)

__all__ = ["LayerActivations"]

_INPUT = "input"


class LayerActivations(TransformerMixin, BaseEstimator):
    """Activations of chosen layers of a torch model, pooled to one row per input.

    Forward hooks (registered through :func:`skrepgeom.utils._torch.forward_hooks`,
    so they are always removed and the model's training flags restored) capture the
    output (or input) of each layer while the data run through the model in batches,
    under ``torch.inference_mode()``; each layer's activations are pooled over the
    token axis and the layers are concatenated. The model is never copied or
    modified. ``Pipeline([("acts", LayerActivations(model, ["h.5"])), ("probe",
    LogisticRegression())])`` is a linear probe of layer ``h.5``.

    Parameters
    ----------
    model : torch.nn.Module or callable
        The network, used as is and already on ``device``, or a factory
        ``model(n_features_in) -> torch.nn.Module`` called in :meth:`fit` on the
        number of columns of float ``X`` (its module is moved to ``device``). The
        module used is ``model_``.
    layers : str, int or list of str or int
        Layers to read, in output order. A ``str`` is a module name as in
        ``model.named_modules()`` (``"h.3"``, or ``"3"`` in a ``Sequential``). For
        HuggingFace models an int ``i`` is ``hidden_states[i]`` of
        ``output_hidden_states=True`` (negative counts from the end) and
        ``"hidden_states"`` means all ``L + 1`` of them: the embeddings, then each
        block. In GPT-2 and ESM the last one is taken after the final LayerNorm, so
        it is not the raw residual stream of the last block.
    pooling : {"mean", "last", "first", "all", "flatten", "spatial_mean"} or \
callable, default="mean"
        How a 3-D output ``(batch, tokens, d)`` becomes rows. ``"mean"``: mean over
        the non-padding tokens; ``"last"`` / ``"first"``: the last / first
        non-padding token of each row (not column -1); ``"all"``: one row per
        non-padding token (see ``token_sample_index_``); ``"flatten"``: all
        positions side by side (sequences are padded to the length seen in
        :meth:`fit`); a callable ``pooling(hidden, mask) -> (batch, d')`` gets the
        tensor and the bool mask ``(batch, tokens)`` of real tokens. 2-D outputs pass
        as they are; 4-D and more (convolution maps) are flattened, or averaged over
        the axes after the channel axis with ``"spatial_mean"`` (which also averages
        a 3-D output ``(batch, C, L)`` over ``L``).
    hook : {"output", "input"}, default="output"
        Capture what each module returns, or its positional input.
    output_index : int, default=0
        Element taken when the captured output (or input) is a tuple, as for the
        blocks of HuggingFace models.
    input_shape : tuple of int, default=None
        Shape of one sample for float ``X``: rows of ``(n, n_features)`` are reshaped
        to ``(batch, *input_shape)``, e.g. ``(1, 8, 8)`` for a CNN on 8x8 digits.
    pad_token_id : int, default=None
        For token ids: the id that marks padding in ``X``; positions holding it are
        masked (``attention_mask``) and left out of the pooling. ``None`` uses
        ``model.config.pad_token_id`` when set, else treats every position of a 2-D
        ``X`` as real. Ragged lists are padded inside.
    include_input : bool, default=False
        Prepend a layer named ``"input"``: ``X`` itself for float inputs, the output
        of the input embedding for token ids.
    batch_size : int, default=64
        Samples per forward pass.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Device of the inputs (where the model must be); ``"auto"`` picks CUDA when
        available.
    dtype : {"float32", "float64"}, default="float32"
        Dtype of the returned arrays (the model runs in its own dtype).
    memmap_dir : str or path-like, default=None
        With a directory, :meth:`transform_layers` writes each layer batch by batch
        to ``<memmap_dir>/<layer>.npy`` and returns read-only ``np.memmap`` arrays,
        so the memory used is one batch whatever the number of samples.
    model_kwargs : dict, default=None
        Extra keyword arguments of every forward call (e.g. ``{"use_cache": False}``).
    n_jobs : int, default=None
        Torch intra-op threads during the forward passes, set and restored around
        each call; ``None`` leaves torch's setting, ``-1`` uses every core.
    verbose : int, default=0
        Show a progress bar (tqdm) over the batches when positive.

    Attributes
    ----------
    model_ : torch.nn.Module
        The module run (``model`` itself, or the factory's module).
    layer_names_ : list of str
        Names of the layers in output order (ints ``i`` appear as
        ``"hidden_states.i"``).
    layer_dims_ : list of int
        Columns of each layer after pooling.
    layer_slices_ : dict of str to slice
        Columns of each layer in the output of :meth:`transform`.
    n_features_in_ : int
        Columns of float ``X``; for token ids, the longest sequence seen in
        :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it is a DataFrame with string column names.
    token_sample_index_ : ndarray of shape (n_tokens,)
        With ``pooling="all"``: the sample of each row returned by the last call of
        :meth:`transform_layers` or :meth:`transform`.

    See Also
    --------
    collect_activations : All token activations of one module.
    iter_activations : The same, one batch at a time.

    Notes
    -----
    Token ids (integer arrays ``(n, seq_len)`` or ragged lists of 1-D arrays) are
    expected when the model has a vocabulary (HuggingFace ``config.vocab_size`` or
    ``get_input_embeddings``) or starts with an ``nn.Embedding``; any other model
    gets float ``X`` of shape ``(n, n_features)``. Models whose forward takes
    ``input_ids`` and ``attention_mask`` get both as keywords, the others the id
    tensor. Each forward pass stops once the last hooked module has run, unless
    HuggingFace hidden states are asked for.

    The hooks of this estimator never outlive a call, but transformers (5.x) installs
    hooks of its own, for good, the first time a model returns ``hidden_states``; such
    a model (and an estimator holding it) no longer pickles with the standard
    :mod:`pickle`, whoever asked for the hidden states. Module names avoid this.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skrepgeom.representations import LayerActivations
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    >>> X = np.random.default_rng(0).normal(size=(10, 4))
    >>> acts = LayerActivations(mlp, ["1", "2"]).fit(X)
    >>> acts.transform(X).shape
    (10, 11)
    >>> acts.layer_dims_
    [8, 3]
    >>> acts.get_feature_names_out()[[0, -1]]
    array(['1__0', '2__2'], dtype=object)
    """

    _parameter_constraints: dict = {
        "model": [torch.nn.Module, callable],
        "layers": [list, tuple, str, Integral],
        "pooling": [StrOptions(set(POOLINGS)), callable],
        "hook": [StrOptions({"output", "input"})],
        "output_index": [Interval(Integral, 0, None, closed="left")],
        "input_shape": [tuple, list, None],
        "pad_token_id": [Interval(Integral, 0, None, closed="left"), None],
        "include_input": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": TORCH_PARAMETER_CONSTRAINTS["device"],
        "dtype": TORCH_PARAMETER_CONSTRAINTS["dtype"],
        "memmap_dir": [str, os.PathLike, None],
        "model_kwargs": [dict, None],
        "n_jobs": TORCH_PARAMETER_CONSTRAINTS["n_jobs"],
        "verbose": TORCH_PARAMETER_CONSTRAINTS["verbose"],
    }

    def __init__(
        self,
        model,
        layers,
        *,
        pooling="mean",
        hook="output",
        output_index=0,
        input_shape=None,
        pad_token_id=None,
        include_input=False,
        batch_size=64,
        device="cpu",
        dtype="float32",
        memmap_dir=None,
        model_kwargs=None,
        n_jobs=None,
        verbose=0,
    ):
        self.model = model
        self.layers = layers
        self.pooling = pooling
        self.hook = hook
        self.output_index = output_index
        self.input_shape = input_shape
        self.pad_token_id = pad_token_id
        self.include_input = include_input
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.memmap_dir = memmap_dir
        self.model_kwargs = model_kwargs
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Resolve the layers and run one batch to learn each layer's width.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or list of 1-D int arrays
            Float features, or token ids (see Notes of the class).
        y : None
            Ignored.

        Returns
        -------
        self : LayerActivations
            The fitted transformer.
        """
        device = resolve_device(self.device)
        module = self.model if isinstance(self.model, torch.nn.Module) else None
        self._tokens = module is not None and _expects_token_ids(module)
        if self.pooling == "all" and not self._tokens:
            raise ValueError("pooling='all' needs a model that reads token ids.")
        if self._tokens:
            sequences = _check_token_ids(module, X)
            self.n_features_in_ = self._longest(sequences)
            first = sequences[: self.batch_size]
        else:
            X = self._validate_floats(X, reset=True)
            first = X[: self.batch_size]
        if module is None:
            module = self.model(self.n_features_in_)
            if not isinstance(module, torch.nn.Module):
                raise TypeError(
                    "model must be a torch.nn.Module or a callable returning one; the "
                    f"factory returned {type(module).__name__}."
                )
            module = module.to(device)
        self._check_device(module, device)
        self.model_ = module
        self._sources = self._resolve_layers(module)
        self.layer_names_ = [name for name, _, _ in self._sources]
        if len(set(self.layer_names_)) != len(self.layer_names_):
            raise ValueError(f"layers holds duplicates: {self.layer_names_}.")
        dims = []
        for pooled in self._iter_pooled(first):
            dims = [block.shape[1] for block in pooled]
            break
        self.layer_dims_ = [int(d) for d in dims]
        bounds = np.cumsum([0, *self.layer_dims_])
        self.layer_slices_ = {
            name: slice(int(bounds[i]), int(bounds[i + 1])) for i, name in enumerate(self.layer_names_)
        }
        return self

    # ------------------------------------------------------------ transform
    def transform_layers(self, X):
        """Pooled activations of each layer, by name.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or list of 1-D int arrays
            Float features, or token ids.

        Returns
        -------
        activations : dict of str to ndarray of shape (n_rows, d_l)
            Layers in the order of ``layer_names_``; ``n_rows`` is ``n_samples``,
            or the number of non-padding tokens with ``pooling="all"`` (then
            ``token_sample_index_`` gives each row's sample). With ``memmap_dir`` the
            arrays are read-only ``np.memmap`` of ``<memmap_dir>/<layer>.npy``.
        """
        check_is_fitted(self)
        if self._tokens:
            data = _check_token_ids(self.model_, X)
            token_counts = self._token_counts(data)
        else:
            data = self._validate_floats(X, reset=False)
            token_counts = None
        n_samples = len(data)
        if self.pooling == "all":
            n_rows = int(token_counts.sum())
            self.token_sample_index_ = np.repeat(np.arange(n_samples), token_counts)
        else:
            n_rows = n_samples
        np_dtype = np.dtype(str(resolve_dtype(self.dtype)).replace("torch.", ""))
        shapes = {name: (n_rows, dim) for name, dim in zip(self.layer_names_, self.layer_dims_)}
        if self.memmap_dir is None:
            outputs = {name: np.empty(shape, dtype=np_dtype) for name, shape in shapes.items()}
        else:
            os.makedirs(self.memmap_dir, exist_ok=True)
            directory = os.fspath(self.memmap_dir)
            outputs = {name: _NpyWriter(os.path.join(directory, f"{name or 'model'}.npy"), shape, np_dtype)
                       for name, shape in shapes.items()}
        row = 0
        for pooled in self._iter_pooled(data):
            size = pooled[0].shape[0]
            for name, dim, block in zip(self.layer_names_, self.layer_dims_, pooled):
                if block.shape[1] != dim:
                    raise ValueError(
                        f"layer {name!r} gives {block.shape[1]} columns, but {dim} in fit; "
                        "the input shape differs from the one seen in fit."
                    )
                if self.memmap_dir is None:
                    outputs[name][row : row + size] = block
                else:
                    outputs[name].write(block)
            row += size
        if self.memmap_dir is None:
            return outputs
        return {name: writer.close() for name, writer in outputs.items()}

    def transform(self, X):
        """Pooled activations of the layers, concatenated in order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or list of 1-D int arrays
            Float features, or token ids.

        Returns
        -------
        X_new : ndarray of shape (n_rows, sum(layer_dims_))
            Columns ``layer_slices_[name]`` hold layer ``name``; rows as in
            :meth:`transform_layers`.
        """
        layers = self.transform_layers(X)
        return np.concatenate([np.asarray(layers[name]) for name in self.layer_names_], axis=1)

    def get_feature_names_out(self, input_features=None):
        """Output column names ``"<layer>__<j>"``.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Checked against ``feature_names_in_`` when given; not used otherwise.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per column of :meth:`transform`.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray(
            [f"{name}__{j}" for name, dim in zip(self.layer_names_, self.layer_dims_)
             for j in range(dim)],
            dtype=object,
        )

    # -------------------------------------------------------------- helpers
    def _validate_floats(self, X, *, reset):
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=reset)
        if self.input_shape is not None and int(np.prod(self.input_shape)) != X.shape[1]:
            raise ValueError(
                f"input_shape={tuple(self.input_shape)} holds {int(np.prod(self.input_shape))} "
                f"values, but X has {X.shape[1]} features."
            )
        return X

    @staticmethod
    def _check_device(module, device):
        parameter = next(module.parameters(), None)
        if parameter is not None and parameter.device.type != device.type:
            raise ValueError(
                f"the model is on {parameter.device} but device={str(device)!r}; move the "
                "model to that device first (LayerActivations never moves it)."
            )

    def _resolve_layers(self, module):
        """``[(name, kind, key)]``: kind "module" (key: ``(module name, hook)``), "hidden"
        (key: hidden-state index) or "input" (float X itself)."""
        layers = self.layers
        if isinstance(layers, (str, Integral)) and layers != "hidden_states":
            layers = [layers]
        n_states = _hidden_state_count(module)
        if isinstance(layers, str):
            if n_states is None:
                raise ValueError("layers='hidden_states' needs a HuggingFace model with a config.")
            layers = list(range(n_states))
        if len(layers) == 0:
            raise ValueError("layers is empty: pass at least one module name or index.")
        sources = []
        if self.include_input:
            if self._tokens:
                embedding = _input_embedding_name(module)
                if embedding is None:
                    raise ValueError("include_input=True found no input embedding in the model.")
                sources.append((_INPUT, "module", (embedding, "output")))
            else:
                sources.append((_INPUT, "input", None))
        for layer in layers:
            if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, (str, Integral)):
                raise TypeError(f"layers must hold str or int, got {layer!r}.")
            if isinstance(layer, str):
                sources.append((layer, "module", (layer, self.hook)))
                continue
            if n_states is None:
                raise ValueError(
                    f"int layer {layer} indexes HuggingFace hidden states, but the model has "
                    "no config.num_hidden_layers; name its modules instead."
                )
            if not -n_states <= layer < n_states:
                raise ValueError(
                    f"layer index {layer} is out of range for the {n_states} hidden states "
                    "(embeddings + blocks)."
                )
            index = int(layer) % n_states
            sources.append((f"hidden_states.{index}", "hidden", index))
        return sources

    @staticmethod
    def _longest(sequences):
        if isinstance(sequences, np.ndarray):
            return sequences.shape[1]
        return max(ids.size for ids in sequences)

    def _token_counts(self, sequences):
        pad = _explicit_pad_id(self.model_, self.pad_token_id)
        if isinstance(sequences, np.ndarray):
            if pad is None:
                return np.full(sequences.shape[0], sequences.shape[1])
            return np.count_nonzero(sequences != pad, axis=1)
        if pad is None:
            return np.array([ids.size for ids in sequences])
        return np.array([np.count_nonzero(ids != pad) for ids in sequences])

    def _batches(self, data):
        if not self._tokens:
            for start in range(0, data.shape[0], self.batch_size):
                chunk = data[start : start + self.batch_size]
                # torch refuses to wrap read-only memory (memory-mapped X) without a copy.
                yield (chunk if chunk.flags.writeable else chunk.copy()), None
            return
        length = None
        if self.pooling == "flatten":
            length = self.n_features_in_
            longest = self._longest(data)
            if longest > length:
                raise ValueError(
                    f"pooling='flatten' pads to the {length} tokens seen in fit; X holds a "
                    f"sequence of {longest} tokens."
                )
        explicit = _explicit_pad_id(self.model_, self.pad_token_id)
        pad = _pad_id(self.model_, self.pad_token_id)
        yield from _token_batches(data, self.batch_size, pad, explicit_pad=explicit, length=length)

    def _iter_pooled(self, data):
        """Yield, per batch, the list of pooled ``(rows, d_l)`` arrays of every layer."""
        device = resolve_device(self.device)
        torch_dtype = resolve_dtype(self.dtype)
        np_dtype = np.dtype(str(torch_dtype).replace("torch.", ""))
        parameter = next(self.model_.parameters(), None)
        input_dtype = parameter.dtype if parameter is not None else torch_dtype
        targets = {key: key for _, kind, key in self._sources if kind == "module"}
        hidden = [key for _, kind, key in self._sources if kind == "hidden"]
        batches = self._batches(data)
        if self.verbose:
            from tqdm.auto import tqdm

            batches = tqdm(batches, total=-(-len(data) // self.batch_size), desc="batches")
        captures = _iter_captured(
            self.model_, batches, targets, device=device, output_index=self.output_index, hidden_states=hidden,
            input_shape=None if self.input_shape is None else tuple(self.input_shape),
            input_dtype=input_dtype, model_kwargs=self.model_kwargs,
        )
        with torch_threads(self.n_jobs):
            for (array, mask), captured in captures:
                mask_t = None if mask is None else torch.as_tensor(mask, device=device)
                pooled = []
                for name, kind, key in self._sources:
                    if kind == "input":
                        tensor = torch.as_tensor(array, device=device)
                    else:
                        tensor = captured[key]
                    block = _pool(tensor, mask_t, self.pooling, name)
                    pooled.append(block.to(torch_dtype).cpu().numpy().astype(np_dtype, copy=False))
                yield pooled

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        state = super().__getstate__()
        module = state.get("model_")
        if module is not None and any(p.device.type != "cpu" for p in module.parameters()):
            # A CPU copy: pickling must not move the live estimator's network.
            state = dict(state)
            state["model_"] = copy.deepcopy(module).cpu()
            if state.get("model") is module:
                state["model"] = state["model_"]
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = [self.dtype]
        tags.input_tags.sparse = False
        tags.non_deterministic = str(self.device) != "cpu"
        return tags
