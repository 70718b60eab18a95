"""Causal interventions on a network: attention knockout and activation patching.

:class:`TokenAblation` removes the attention of chosen query positions to chosen key
positions. HuggingFace models are edited through transformers' attention-function
registry: inside the context the model runs an attention function registered here,
which does the eager maths with the edit for the selected layers (each attention
module's ``layer_idx``) and hands every other call, unchanged, to the function the
model used before. Plain torch modules opt in through the ``attention_edit``
attribute protocol (see :class:`TokenAblation`). :class:`ActivationPatching` copies a
module's output at some positions from a source run into a target run; both use
forward hooks only through :func:`skrepgeom.utils._torch.forward_hooks`.
"""

import contextlib
import sys
from numbers import Integral

import numpy as np
import torch

from skrepgeom.representations._activations import _module_name, _StopForward, _vocab_size
from skrepgeom.utils._torch import closest_module_names, forward_hooks, resolve_device, to_numpy

__all__ = ["ActivationPatching", "TokenAblation", "positions_of"]

_MODES = ("knockout", "knockout_renormalized")
# Attention implementations the edit can stand in for, each under its own registered
# name so that the model builds the same attention mask as without the edit.
_DELEGATES = ("eager", "sdpa")
_PREFIX = "skrepgeom_edit_"
# id(attention module) -> (edit state, block index) while a TokenAblation is active.
_ACTIVE = {}
_SUPPORTED = (
    "a HuggingFace model whose attention modules call transformers' attention-function "
    "registry (AttentionInterface; modules with a `layer_idx`, e.g. GPT-2, Llama, BERT), "
    "or a torch module whose attention submodules expose an `attention_edit` attribute "
    "(None by default, called on the post-softmax probability tensor)"
)


def positions_of(input_ids, token_id):
    """Boolean mask of the positions holding ``token_id`` (or any of several ids).

    Parameters
    ----------
    input_ids : array-like of int of shape (n_samples, seq_len) or (seq_len,)
        Token ids (a CPU tensor is accepted).
    token_id : int or sequence of int
        The id(s) to look for.

    Returns
    -------
    mask : ndarray of bool, same shape as ``input_ids``
        Usable as ``queries``/``keys`` of :class:`TokenAblation`, or wrapped in a
        callable (``lambda ids: positions_of(ids, 7)``) to follow the inputs.

    Examples
    --------
    >>> from skrepgeom.representations import positions_of
    >>> positions_of([[5, 7, 1], [7, 7, 2]], 7)
    array([[False,  True, False],
           [ True,  True, False]])
    """
    ids = np.asarray(input_ids.cpu() if isinstance(input_ids, torch.Tensor) else input_ids)
    return np.isin(ids, np.atleast_1d(np.asarray(token_id)))


def _check_token_ids(model, X, name="X"):
    """``X`` as a 2-D int64 array of token ids inside the model's vocabulary."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"{name} must be a non-empty 2-D array of token ids (n_samples, seq_len), got shape {X.shape}."
        )
    if not np.issubdtype(X.dtype, np.integer):
        raise ValueError(f"{name} must hold integer token ids, got dtype {X.dtype}.")
    vocab = _vocab_size(model)
    if X.min() < 0 or (vocab is not None and X.max() >= vocab):
        bad = int(X.min() if X.min() < 0 else X.max())
        raise ValueError(f"{name} holds token id {bad}, outside the model's vocabulary [0, {vocab}).")
    return X.astype(np.int64, copy=False)


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got batch_size={batch_size!r}.")


def _default_readout(output):
    """Last-position logits: ``output.logits[:, -1]`` (2-D logits are returned as they are)."""
    if hasattr(output, "logits"):
        logits = output.logits
    elif isinstance(output, (tuple, list)):
        logits = output[0]
    else:
        logits = output
    if not isinstance(logits, torch.Tensor):
        raise TypeError(
            "The default readout needs `output.logits`, a tensor output or a tuple starting "
            f"with one; got {type(output).__name__}. Pass readout=callable(output) -> (n, n_out)."
        )
    return logits[:, -1] if logits.ndim == 3 else logits


def _position_mask(spec, seq_len, name, input_ids=None):
    """A bool array (1 or n_rows, seq_len) from int positions, a bool mask or a callable."""
    if callable(spec):
        if input_ids is None:
            raise ValueError(
                f"{name} is a callable of the input ids, but the ids of this forward pass "
                "are unknown (the model's input embedding was not called with them)."
            )
        spec = spec(input_ids)
        mask = np.asarray(spec.cpu() if isinstance(spec, torch.Tensor) else spec)
        if mask.dtype != bool or mask.shape[-1] != seq_len:
            raise ValueError(
                f"{name}(input_ids) must return a bool mask with last axis of length {seq_len}, "
                f"got dtype {mask.dtype} and shape {mask.shape}."
            )
        return mask.reshape(-1, seq_len)
    if isinstance(spec, slice):
        spec = np.arange(seq_len)[spec]
    if isinstance(spec, torch.Tensor):
        spec = spec.cpu().numpy()
    array = np.asarray(spec)
    if array.dtype == bool:
        if array.ndim not in (1, 2) or array.shape[-1] != seq_len:
            raise ValueError(
                f"{name} as a bool mask must have shape (seq_len,) or (n_samples, seq_len) with "
                f"seq_len={seq_len}, got shape {array.shape}."
            )
        return array.reshape(-1, seq_len)
    array = np.atleast_1d(array)
    if array.size and not np.issubdtype(array.dtype, np.integer) or array.ndim != 1:
        raise ValueError(
            f"{name} must be int positions, a bool mask, a slice or a callable of the input "
            f"ids, got {spec!r}."
        )
    if array.size and (array.min() < -seq_len or array.max() >= seq_len):
        bad = int(array.min() if array.min() < -seq_len else array.max())
        raise ValueError(
            f"{name} position {bad} is out of range for sequences of length {seq_len} "
            f"(valid: {-seq_len} to {seq_len - 1})."
        )
    mask = np.zeros((1, seq_len), dtype=bool)
    mask[0, array.astype(np.int64) % seq_len] = True
    return mask


def _block_list(model):
    """Name of the ``ModuleList`` of transformer blocks (or layers) of ``model``."""
    lists = [(name, module) for name, module in model.named_modules() if isinstance(module, torch.nn.ModuleList)]
    n_layers = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    for name, module in lists:
        if n_layers is None or len(module) == n_layers:
            return name, len(module)
    raise TypeError(
        "layer as an int needs a model with a torch.nn.ModuleList of blocks; pass the name "
        "of a module (as in model.named_modules()) instead."
    )


def _hf_attention_modules(model):
    """Attention modules (innermost modules with an int ``layer_idx``) of an HF model."""
    if not (hasattr(model, "set_attn_implementation") and hasattr(model, "config")):
        return []
    can_set = getattr(model, "_can_set_attn_implementation", None)
    if callable(can_set) and not can_set():
        return []
    indexed = [
        (name, module) for name, module in model.named_modules()
        if isinstance(getattr(module, "layer_idx", None), Integral)
    ]
    names = [name for name, _ in indexed]
    return [
        (name, module) for name, module in indexed
        if not any(other.startswith(name + ".") for other in names)
    ]


def _additive_mask(module, attention_mask, q_len, kv_len, dtype, device, delegate, is_causal):
    """The mask the delegate would apply, as an additive float tensor (or None)."""
    minimum = torch.finfo(dtype).min
    if attention_mask is None:
        if delegate != "sdpa":
            return None
        is_causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
        if not (is_causal and q_len > 1):
            return None
        # Query i sits at absolute position kv_len - q_len + i (cache-aligned).
        allowed = torch.ones(q_len, kv_len, dtype=torch.bool, device=device).tril(kv_len - q_len)
        return torch.zeros((), dtype=dtype, device=device).masked_fill(~allowed, minimum)
    attention_mask = attention_mask[..., :kv_len]
    if attention_mask.dtype == torch.bool:
        return torch.zeros((), dtype=dtype, device=device).masked_fill(~attention_mask, minimum)
    return attention_mask.to(dtype)


def _delegate_function(module, delegate):
    """The attention function the model ran before: sdpa, or the eager maths of its own file."""
    if delegate == "sdpa":
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

        return ALL_ATTENTION_FUNCTIONS["sdpa"]
    return getattr(sys.modules[type(module).__module__], "eager_attention_forward", None)


def _edited_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Attention registered with transformers: eager maths with the edit, else the delegate."""
    state, layer = _ACTIVE.get(id(module), (None, None))
    delegate = state.delegate if state is not None else "eager"
    mode = state.mode if state is not None else "knockout"
    kv_len, q_len = key.shape[-2], query.shape[-2]
    edit = state.edit_mask(layer, q_len, kv_len, query.device) if state is not None else None
    if edit is None:
        function = _delegate_function(module, delegate)
        if function is not None:
            return function(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)
        edit = torch.zeros((1, 1, q_len, kv_len), dtype=torch.bool, device=query.device)
    groups = query.shape[1] // key.shape[1]
    if groups > 1:
        # Grouped-query attention: key/value head j serves query heads j*groups ... .
        key = key.repeat_interleave(groups, dim=1)
        value = value.repeat_interleave(groups, dim=1)
    if scaling is None:
        scaling = query.shape[-1] ** -0.5
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling
    additive = _additive_mask(module, attention_mask, q_len, kv_len, scores.dtype, scores.device,
                              delegate, kwargs.get("is_causal"))
    if additive is not None:
        scores = scores + additive
    if mode == "knockout_renormalized":
        scores = scores.masked_fill(edit, torch.finfo(scores.dtype).min)
    probabilities = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    if mode == "knockout":
        probabilities = probabilities.masked_fill(edit, 0.0)
    probabilities = torch.nn.functional.dropout(probabilities, p=dropout, training=module.training)
    output = torch.matmul(probabilities, value).transpose(1, 2).contiguous()
    return output, probabilities


def _register_attention_functions():
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    for delegate in _DELEGATES:
        AttentionInterface.register(_PREFIX + delegate, _edited_attention)
        AttentionMaskInterface.register(_PREFIX + delegate, ALL_MASK_ATTENTION_FUNCTIONS[delegate])


class _EditState:
    """Which (query, key) pairs are edited, resolved per forward pass from the input ids."""

    def __init__(self, queries, keys, layers, mode, delegate=None):
        self.queries, self.keys, self.layers, self.mode = queries, keys, layers, mode
        self.delegate = delegate
        self.input_ids = None
        self.rows = None
        self._cache = (None, None)

    def record_ids(self, module, inputs, output):
        if inputs and isinstance(inputs[0], torch.Tensor) and not inputs[0].is_floating_point():
            self.input_ids = inputs[0]
            self._cache = (None, None)

    def pair_mask(self, seq_len, n_rows):
        """Bool array (1 or n_rows, seq_len, seq_len) of the edited (query, key) pairs."""
        ids = None
        # During cached generation the ids of one step are shorter than the sequence.
        if self.input_ids is not None and self.input_ids.shape[-1] == seq_len:
            ids = to_numpy(self.input_ids).reshape(-1, seq_len)
        q = _position_mask(self.queries, seq_len, "queries", ids)
        k = _position_mask(self.keys, seq_len, "keys", ids)
        masks = []
        for name, spec, mask in (("queries", self.queries, q), ("keys", self.keys, k)):
            if not callable(spec) and mask.shape[0] > 1 and self.rows is not None:
                mask = mask[self.rows]
            if mask.shape[0] not in (1, n_rows):
                raise ValueError(
                    f"{name} has a mask for {mask.shape[0]} sequences but the batch holds {n_rows}."
                )
            masks.append(mask)
        return masks[0][:, :, None] & masks[1][:, None, :]

    def edit_mask(self, layer, q_len, kv_len, device, n_rows=None):
        """Bool tensor broadcastable to (batch, heads, q_len, kv_len), or None if nothing is edited."""
        if self.layers is not None and layer not in self.layers:
            return None
        key = (q_len, kv_len, n_rows)
        if self._cache[0] != key:
            batch = n_rows if n_rows is not None else (
                self.input_ids.shape[0] if self.input_ids is not None else 1)
            pairs = self.pair_mask(kv_len, batch)[:, kv_len - q_len:, :]
            self._cache = (key, torch.as_tensor(pairs, device=device)[:, None] if pairs.any() else None)
        return self._cache[1]

    def edit_probabilities(self, layer, probabilities):
        """The ``attention_edit`` protocol: edit a (batch, [heads,] q, k) probability tensor."""
        q_len, kv_len = probabilities.shape[-2:]
        edit = self.edit_mask(layer, q_len, kv_len, probabilities.device, n_rows=probabilities.shape[0])
        if edit is None:
            return probabilities
        if probabilities.ndim == 3:
            edit = edit[:, 0]
        edited = probabilities.masked_fill(edit, 0.0)
        if self.mode == "knockout_renormalized":
            edited = edited / edited.sum(dim=-1, keepdim=True)
        return edited


class _Runner:
    """Batched forward passes with a readout, shared by both interventions."""

    def _scores(self, X, hooks, before_batch=None):
        readout = self.readout if self.readout is not None else _default_readout
        device = resolve_device(self.device)
        chunks = []
        with forward_hooks(self.model, hooks, training=False), torch.inference_mode():
            for start in range(0, X.shape[0], self.batch_size):
                stop = min(start + self.batch_size, X.shape[0])
                if before_batch is not None:
                    before_batch(start, stop)
                output = self.model(torch.as_tensor(X[start:stop], device=device))
                scores = readout(output)
                if not isinstance(scores, torch.Tensor) or scores.ndim != 2:
                    raise ValueError(
                        "readout must return a (n_samples, n_outputs) tensor, got "
                        f"{getattr(scores, 'shape', type(scores).__name__)}."
                    )
                chunks.append(to_numpy(scores.float()))
        return np.concatenate(chunks, axis=0)


def _check_labels(y, n, name):
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of length {n}, got shape {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices into the readout, got dtype {y.dtype}.")
    return y


class TokenAblation(_Runner):
    """Attention knockout: queries in ``queries`` stop reading keys in ``keys``.

    Knockout zeroes the attention probabilities ``a[b, h, q, k]`` for ``q`` in the
    queries and ``k`` in the keys *after* the softmax and does not rescale the row:
    the row's attention mass drops by what was removed. ``"knockout_renormalized"``
    instead sets the scores to -inf before the softmax, which spreads the removed mass
    over the remaining keys (a different intervention, kept for comparison).

    Use it as a context manager around any forward pass of ``model``, or call
    :meth:`predict_scores` / :meth:`score`, which run it batch by batch.

    Parameters
    ----------
    model : torch.nn.Module
        A HuggingFace model whose attention goes through transformers' attention-function
        registry (GPT-2, Llama, BERT, ...) running ``"eager"`` or ``"sdpa"`` attention,
        or a torch module whose attention submodules follow the ``attention_edit``
        protocol (see Notes). It is not copied; inside the context its attention
        implementation is switched to an edited one and restored on exit.
    queries, keys : int, sequence of int, slice, bool array or callable
        Positions (negative counts from the end), a bool mask of shape ``(seq_len,)`` or
        ``(n_samples, seq_len)``, or a callable ``input_ids -> bool mask`` (e.g. with
        :func:`positions_of`) evaluated on each forward pass's ids (a NumPy array).
        An empty selection edits nothing: outputs equal the clean ones bit for bit.
    layers : int, sequence of int or None, default=None
        Block indices whose attention is edited (HF: the attention modules'
        ``layer_idx``; protocol modules: their order in ``model.named_modules()``);
        ``None`` = all.
    mode : {"knockout", "knockout_renormalized"}, default="knockout"
        Post-softmax zeroing without renormalisation, or the -inf pre-softmax mask.
    readout : callable, default=None
        ``output -> (n_samples, n_outputs)`` scores tensor; ``None`` = last-position
        logits ``output.logits[:, -1]`` (2-D logits are used as they are). With right
        padding the last position is a padding token: pass a readout then.
    batch_size : int, default=64
        Sequences per forward pass in :meth:`predict_scores`.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where inputs are sent; the model must already be there.

    Notes
    -----
    *HuggingFace models.* An attention function is registered with
    ``transformers.AttentionInterface`` (with the mask function of the implementation
    it stands in for). For the selected layers it does the eager attention maths
    (grouped key/value heads repeated, the model's mask and scaling) with the edit;
    every other call goes, unchanged, to the model's previous function, so layers and
    batches without an edited pair are computed exactly as without the context. With
    ``output_attentions=True`` the returned weights of edited layers are the edited
    ones: a query row in ``queries`` sums to 1 minus the removed mass.
    ``output.hidden_states`` holds L + 1 tensors (embeddings, then each block); the last
    one is taken after the final LayerNorm in GPT-2, not the raw residual stream.

    *The* ``attention_edit`` *protocol* (plain torch modules). An attention module
    opts in by holding an attribute ``attention_edit = None`` and, right after its
    softmax (before dropout and the product with the values), doing
    ``if self.attention_edit is not None: probs = self.attention_edit(probs)``, with
    ``probs`` of shape ``(batch, heads, q_len, k_len)`` or ``(batch, q_len, k_len)``.
    Inside the context the attribute holds the edit; it is reset on exit. There
    ``"knockout_renormalized"`` divides the edited rows by their remaining sum, which
    equals the -inf mask before the softmax. Callable ``queries``/``keys`` need the
    input ids, which are read from the model's input embedding
    (``get_input_embeddings()`` or the first ``torch.nn.Embedding``).

    Examples
    --------
    >>> import torch
    >>> from transformers import GPT2Config, GPT2LMHeadModel
    >>> from skrepgeom.representations import TokenAblation
    >>> model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=10))
    >>> ids = torch.tensor([[1, 2, 3, 4]])
    >>> with TokenAblation(model, queries=[-1], keys=[0]):
    ...     attentions = model(ids, output_attentions=True).attentions
    >>> row = attentions[0][0, :, -1]  # last query, both heads
    >>> bool((row[:, 0] == 0).all()), bool((row.sum(-1) < 1).all())
    (True, True)
    >>> TokenAblation(model, [-1], [0]).predict_scores(ids).shape
    (1, 10)
    """

    def __init__(self, model, queries, keys, *, layers=None, mode="knockout", readout=None,
                 batch_size=64, device="cpu"):
        self.model = model
        self.queries = queries
        self.keys = keys
        self.layers = layers
        self.mode = mode
        self.readout = readout
        self.batch_size = batch_size
        self.device = device
        self._stack = None
        self._state = None

    def _validate(self):
        if self.mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got mode={self.mode!r}.")
        _check_batch_size(self.batch_size)
        hf = _hf_attention_modules(self.model)
        protocol = [(name, module) for name, module in self.model.named_modules()
                    if hasattr(module, "attention_edit")]
        if not hf and not protocol:
            raise TypeError(
                f"{type(self.model).__name__} has no attention TokenAblation can edit; supported: {_SUPPORTED}."
            )
        indices = ({int(module.layer_idx) for _, module in hf} if hf else set(range(len(protocol))))
        layers = self.layers
        if layers is not None:
            layers = [layers] if isinstance(layers, Integral) else list(layers)
            bad = [layer for layer in layers
                   if isinstance(layer, bool) or not isinstance(layer, Integral) or layer not in indices]
            if bad or not layers:
                raise ValueError(
                    f"layers must be block indices among {sorted(indices)} (or None for all), "
                    f"got layers={self.layers!r}."
                )
            layers = set(int(layer) for layer in layers)
        return hf, protocol, layers

    def _embedding_name(self):
        get = getattr(self.model, "get_input_embeddings", None)
        embedding = None
        if callable(get):
            try:
                embedding = get()
            except NotImplementedError:
                embedding = None
        for name, module in self.model.named_modules():
            if (embedding is not None and module is embedding) or (
                    embedding is None and isinstance(module, torch.nn.Embedding)):
                return name
        return None

    @contextlib.contextmanager
    def _active(self, training=None):
        hf, protocol, layers = self._validate()
        state = _EditState(self.queries, self.keys, layers, self.mode)
        embedding = self._embedding_name()
        hooks = {embedding: state.record_ids} if embedding is not None else {}
        with contextlib.ExitStack() as stack:
            if hf:
                previous = self.model.config._attn_implementation
                if previous.startswith(_PREFIX):
                    raise RuntimeError(
                        "This model is already inside a TokenAblation: put all positions in one, or "
                        "run the two edits one after the other."
                    )
                if previous not in _DELEGATES:
                    raise ValueError(
                        "TokenAblation edits models running 'eager' or 'sdpa' attention; this one "
                        f"runs {previous!r}: call model.set_attn_implementation('sdpa') first."
                    )
                state.delegate = previous
                _register_attention_functions()
                for _, module in hf:
                    _ACTIVE[id(module)] = (state, int(module.layer_idx))
                stack.callback(lambda: [_ACTIVE.pop(id(module), None) for _, module in hf])
                self.model.set_attn_implementation(_PREFIX + previous)
                stack.callback(self.model.set_attn_implementation, previous)
            else:
                for index, (_, module) in enumerate(protocol):
                    before = module.attention_edit
                    if layers is None or index in layers:
                        module.attention_edit = (lambda probs, _i=index: state.edit_probabilities(_i, probs))
                    stack.callback(setattr, module, "attention_edit", before)
            stack.enter_context(forward_hooks(self.model, hooks, training=training))
            yield state

    def __enter__(self):
        if self._stack is not None:
            raise RuntimeError("This TokenAblation is already active; nest two instances instead.")
        stack = contextlib.ExitStack()
        self._state = stack.enter_context(self._active())
        self._stack = stack
        return self

    def __exit__(self, *exc_info):
        stack, self._stack, self._state = self._stack, None, None
        return stack.__exit__(*exc_info)

    def predict_scores(self, X):
        """Readout scores of ``X`` with the knockout applied.

        Parameters
        ----------
        X : array-like of int of shape (n_samples, seq_len)
            Token ids.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_outputs)
            The readout of each row (float32).
        """
        if self._stack is not None:
            raise RuntimeError("predict_scores runs its own context; call it outside `with`.")
        X = _check_token_ids(self.model, X)
        _check_batch_size(self.batch_size)
        # Fail on bad positions before any forward pass.
        state = _EditState(self.queries, self.keys, None, self.mode)
        state.input_ids = torch.as_tensor(X)
        state.pair_mask(X.shape[1], X.shape[0])
        with self._active(training=False) as active:
            def before_batch(start, stop):
                active.rows = slice(start, stop)
                active._cache = (None, None)

            return self._scores(X, {}, before_batch)

    def score(self, X, y, *, metric="accuracy"):
        """Accuracy or mean logit difference of the ablated model.

        Parameters
        ----------
        X : array-like of int of shape (n_samples, seq_len)
            Token ids.
        y : array-like of int of shape (n_samples,)
            True classes, as column indices of the readout.
        metric : {"accuracy", "logit_diff"}, default="accuracy"
            ``"accuracy"``: fraction of rows whose argmax score is ``y``;
            ``"logit_diff"``: mean of the true class's score minus the best other score.

        Returns
        -------
        score : float
        """
        if metric not in ("accuracy", "logit_diff"):
            raise ValueError(f"metric must be 'accuracy' or 'logit_diff', got metric={metric!r}.")
        scores = self.predict_scores(X)
        y = _check_labels(y, scores.shape[0], "y")
        if metric == "accuracy":
            return float(np.mean(scores.argmax(axis=1) == y))
        rows = np.arange(scores.shape[0])
        true = scores[rows, y]
        others = scores.copy()
        others[rows, y] = -np.inf
        return float(np.mean(true - others.max(axis=1)))


class ActivationPatching(_Runner):
    """Copy a module's output at some positions from a source input into the run on X.

    Row ``i`` of ``X`` is run with the output of ``layer`` at ``positions`` replaced by
    that of row ``i`` of ``X_source`` at ``source_positions``.

    Parameters
    ----------
    model : torch.nn.Module
        The network (not copied or modified; hooks are removed after each call).
    layer : int, str or torch.nn.Module
        A block index (the output, i.e. residual stream, of block ``layer`` of the
        model's ``ModuleList`` of blocks), or a module name as in
        ``model.named_modules()`` (e.g. ``"transformer.wte"`` for the token
        embeddings), or the module itself. Tuple outputs are patched in element 0.
    positions : int, sequence of int or bool array of shape (seq_len,)
        Positions patched in the target run (negative counts from the end).
    source_positions : same as positions, default=None
        Positions read in the source run; ``None`` = ``positions``. Same count.
    readout : callable, default=None
        ``output -> (n_samples, n_outputs)``; ``None`` = last-position logits.
    batch_size : int, default=64
        Rows per forward pass.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where inputs are sent; the model must already be there.

    Examples
    --------
    >>> import torch
    >>> from skrepgeom.representations import ActivationPatching
    >>> model = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 2))
    >>> patch = ActivationPatching(model, "0", positions=[-1])
    >>> X, X_source = torch.tensor([[1, 2]]), torch.tensor([[3, 4]])
    >>> bool(torch.allclose(torch.as_tensor(patch.predict_scores(X, X_source)),
    ...                     model(X_source)[:, -1]))
    True
    """

    def __init__(self, model, layer, positions, *, source_positions=None, readout=None,
                 batch_size=64, device="cpu"):
        self.model = model
        self.layer = layer
        self.positions = positions
        self.source_positions = source_positions
        self.readout = readout
        self.batch_size = batch_size
        self.device = device

    def _layer_name(self):
        if isinstance(self.layer, Integral) and not isinstance(self.layer, bool):
            list_name, n_blocks = _block_list(self.model)
            if not -n_blocks <= self.layer < n_blocks:
                raise ValueError(f"layer={self.layer} is out of range for a model with {n_blocks} blocks.")
            return f"{list_name}.{self.layer % n_blocks}"
        name = _module_name(self.model, self.layer)
        if name not in dict(self.model.named_modules()):
            raise ValueError(
                f"Unknown module name {name!r}; closest available names: "
                f"{closest_module_names(self.model, name)}."
            )
        return name

    def predict_scores(self, X, X_source):
        """Readout scores of ``X`` patched from ``X_source`` (row by row).

        Parameters
        ----------
        X, X_source : array-like of int of shape (n_samples, seq_len)
            Target and source token ids (same shape).

        Returns
        -------
        scores : ndarray of shape (n_samples, n_outputs)
        """
        X = _check_token_ids(self.model, X, "X")
        X_source = _check_token_ids(self.model, X_source, "X_source")
        if X.shape != X_source.shape:
            raise ValueError(f"X and X_source must have the same shape, got {X.shape} and {X_source.shape}.")
        _check_batch_size(self.batch_size)
        seq_len = X.shape[1]
        target = np.flatnonzero(_position_mask(self.positions, seq_len, "positions")[0])
        source_spec = self.positions if self.source_positions is None else self.source_positions
        source = np.flatnonzero(_position_mask(source_spec, seq_len, "source_positions")[0])
        if target.size != source.size:
            raise ValueError(
                f"positions and source_positions select {target.size} and {source.size} positions; they must match."
            )
        name = self._layer_name()
        device = resolve_device(self.device)
        stored = {}

        def hook(module, inputs, output):
            hidden = output[0] if isinstance(output, (tuple, list)) else output
            if stored.get("capturing"):
                stored["source"] = hidden[:, source].clone()
                raise _StopForward
            hidden = hidden.clone()
            hidden[:, target] = stored["source"].to(hidden.dtype)
            if isinstance(output, (tuple, list)):
                return type(output)((hidden, *output[1:]))
            return hidden

        def before_batch(start, stop):
            stored.clear()
            stored["capturing"] = True
            try:
                self.model(torch.as_tensor(X_source[start:stop], device=device))
            except _StopForward:
                pass
            stored["capturing"] = False
            if "source" not in stored:
                raise RuntimeError(f"module {name!r} was not called during the forward pass.")

        return self._scores(X, {name: hook}, before_batch)

    def _differing(self, X, X_source, y_source, y):
        scores = self.predict_scores(X, X_source)
        y = _check_labels(y, scores.shape[0], "y")
        y_source = _check_labels(y_source, scores.shape[0], "y_source")
        differ = y != y_source
        if not differ.any():
            raise ValueError("y and y_source are equal on every row: no row can flip.")
        return scores[differ], y[differ], y_source[differ]

    def flip_rate(self, X, X_source, y_source, y):
        """Fraction of rows predicting the source label, among rows whose labels differ.

        Parameters
        ----------
        X, X_source : array-like of int of shape (n_samples, seq_len)
            Target and source token ids.
        y_source, y : array-like of int of shape (n_samples,)
            Labels of the source and target rows (column indices of the readout).

        Returns
        -------
        rate : float
        """
        scores, _, y_source = self._differing(X, X_source, y_source, y)
        return float(np.mean(scores.argmax(axis=1) == y_source))

    def logit_diff(self, X, X_source, y_source, y):
        """Mean patched score of the source label minus that of the target label.

        Taken over the rows whose labels differ; positive when patching moves the
        prediction towards the source.

        Parameters
        ----------
        X, X_source : array-like of int of shape (n_samples, seq_len)
            Target and source token ids.
        y_source, y : array-like of int of shape (n_samples,)
            Labels of the source and target rows (column indices of the readout).

        Returns
        -------
        logit_diff : float
        """
        scores, y, y_source = self._differing(X, X_source, y_source, y)
        rows = np.arange(scores.shape[0])
        return float(np.mean(scores[rows, y_source] - scores[rows, y]))
