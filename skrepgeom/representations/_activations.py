"""Token-level activations of one module of a torch model, streamed batch by batch.

The functional core of :class:`LayerActivations`: sequences of any length are padded
into batches, the module's output is captured by a forward hook (through
:func:`skrepgeom.utils._torch.forward_hooks`, so hooks never outlive the call and the
model's training flags are restored), and only the real (non-padding, non-dropped)
tokens are returned, in input order.

The private helpers below (token batches, capture of several modules in one forward
pass, pooling over the token axis) are the engine of :class:`LayerActivations` too.
"""

import inspect
import os
from numbers import Integral

import numpy as np
import torch

from skrepgeom.utils._torch import forward_hooks, resolve_device, resolve_dtype

__all__ = ["collect_activations", "iter_activations"]


class _StopForward(Exception):
    """Raised by the capturing hook to skip the layers after the hooked module."""


def _module_name(model, layer):
    """Name (as in ``model.named_modules()``) of ``layer``, a name or a submodule."""
    if isinstance(layer, str):
        return layer
    if isinstance(layer, torch.nn.Module):
        for name, module in model.named_modules():
            if module is layer:
                return name
        raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model.")
    raise TypeError(f"layer must be a module name (str) or a torch.nn.Module, got {type(layer).__name__}.")


def _vocab_size(model):
    config = getattr(model, "config", None)
    if config is not None and getattr(config, "vocab_size", None):
        return int(config.vocab_size)
    get_embeddings = getattr(model, "get_input_embeddings", None)
    if callable(get_embeddings):
        try:
            embeddings = get_embeddings()
        except NotImplementedError:
            return None
        if embeddings is not None and hasattr(embeddings, "num_embeddings"):
            return int(embeddings.num_embeddings)
    return None


def _check_inputs(model, inputs):
    if isinstance(inputs, np.ndarray) and inputs.ndim == 2:
        inputs = list(inputs)
    if isinstance(inputs, torch.Tensor):
        inputs = list(inputs.cpu().numpy()) if inputs.ndim == 2 else [inputs.cpu().numpy()]
    inputs = [np.asarray(ids) for ids in inputs]
    if not inputs:
        raise ValueError("inputs is empty: pass at least one sequence of token ids.")
    vocab = _vocab_size(model)
    for index, ids in enumerate(inputs):
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError(
                f"inputs[{index}] must be a non-empty 1-D array of token ids, got shape {ids.shape}."
            )
        if not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"inputs[{index}] must hold integer token ids, got dtype {ids.dtype}.")
        if ids.min() < 0 or (vocab is not None and ids.max() >= vocab):
            raise ValueError(
                f"inputs[{index}] holds token id {int(ids.max() if ids.min() >= 0 else ids.min())}, "
                f"outside the model's vocabulary [0, {vocab})."
            )
    return [ids.astype(np.int64, copy=False) for ids in inputs]


def _check_token_ids(model, inputs):
    """Token ids as one int64 array (n, seq_len) when they come as a 2-D array, else a list.

    A 2-D array is checked without a loop over its rows; ragged inputs go through
    :func:`_check_inputs`.
    """
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.cpu().numpy()
    if not (isinstance(inputs, np.ndarray) and inputs.ndim == 2):
        return _check_inputs(model, inputs)
    if inputs.size == 0:
        raise ValueError(f"inputs must hold at least one non-empty sequence, got shape {inputs.shape}.")
    if not np.issubdtype(inputs.dtype, np.integer):
        raise ValueError(f"inputs must hold integer token ids, got dtype {inputs.dtype}.")
    vocab = _vocab_size(model)
    low, high = int(inputs.min()), int(inputs.max())
    if low < 0 or (vocab is not None and high >= vocab):
        raise ValueError(
            f"inputs holds token id {low if low < 0 else high}, outside the model's "
            f"vocabulary [0, {vocab})."
        )
    return inputs.astype(np.int64, copy=False)


def _pad_id(model, pad_token_id):
    if pad_token_id is not None:
        return int(pad_token_id)
    config = getattr(model, "config", None)
    value = getattr(config, "pad_token_id", None) if config is not None else None
    return int(value) if value is not None else 0


def _keep_masks(inputs, drop_token_ids):
    drop = np.asarray(sorted(drop_token_ids or ()), dtype=np.int64)
    return [~np.isin(ids, drop) for ids in inputs]


def _forward_kwargs(model):
    """Whether the model's forward takes ``input_ids``/``attention_mask`` keywords."""
    try:
        parameters = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
    return "attention_mask" in parameters and "input_ids" in parameters


def _hidden_state_count(model):
    """``L + 1`` hidden states of a HuggingFace model (embeddings + blocks), else None."""
    config = getattr(model, "config", None)
    n_layers = getattr(config, "num_hidden_layers", None) if config is not None else None
    return int(n_layers) + 1 if isinstance(n_layers, Integral) else None


def _input_embedding_name(model):
    """Name of the module that turns token ids into vectors, or None."""
    get_embeddings = getattr(model, "get_input_embeddings", None)
    if callable(get_embeddings):
        try:
            embeddings = get_embeddings()
        except NotImplementedError:
            embeddings = None
        if embeddings is not None:
            return _module_name(model, embeddings)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Embedding):
            return name
    return None


def _expects_token_ids(model):
    """Whether the model reads token ids (a vocabulary or an embedding as first leaf)."""
    if _vocab_size(model) is not None:
        return True
    leaves = (module for _, module in model.named_modules() if next(module.children(), None) is None)
    return isinstance(next(leaves, None), torch.nn.Embedding)


def _explicit_pad_id(model, pad_token_id):
    """``pad_token_id``, else the model's configured one, else None (no padding in X)."""
    if pad_token_id is not None:
        return int(pad_token_id)
    config = getattr(model, "config", None)
    value = getattr(config, "pad_token_id", None) if config is not None else None
    return int(value) if value is not None else None


def _token_batches(inputs, batch_size, pad, *, explicit_pad=None, length=None):
    """Yield ``(ids, mask)`` int64/bool arrays of shape (batch, tokens), right-padded.

    ``inputs`` is a list of 1-D arrays or a 2-D array (rows already of equal length).
    A position is real when it lies within its sequence and, with ``explicit_pad``,
    its id differs from it. ``length`` pads every batch to that many tokens.
    """
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start : start + batch_size]
        if isinstance(batch, np.ndarray) and (length is None or length == batch.shape[1]):
            mask = np.ones(batch.shape, dtype=bool) if explicit_pad is None else batch != explicit_pad
            yield batch, mask
            continue
        lengths = np.array([ids.size for ids in batch])
        width = lengths.max() if length is None else length
        ids = np.full((len(batch), width), pad, dtype=np.int64)
        mask = np.arange(width)[None, :] < lengths[:, None]
        ids[mask] = np.concatenate(batch)
        if explicit_pad is not None:
            mask &= ids != explicit_pad
        yield ids, mask


def _select(value, output_index, name, hook):
    """The tensor of a module output or input; tuples give element ``output_index``."""
    if hasattr(value, "to_tuple") and not isinstance(value, torch.Tensor):
        value = value.to_tuple()
    if isinstance(value, (tuple, list)):
        if not value:
            raise ValueError(
                f"module {name!r} received no positional input; use hook='output' for it."
            )
        if output_index >= len(value):
            raise ValueError(
                f"output_index={output_index} is out of range: the {hook} of module "
                f"{name!r} is a tuple of length {len(value)}."
            )
        value = value[output_index]
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"the {hook} of module {name!r} is a {type(value).__name__}, not a tensor.")
    return value


def _iter_captured(
    model,
    batches,
    targets,
    *,
    device,
    output_index=0,
    hidden_states=(),
    stop_early=True,
    input_shape=None,
    input_dtype=None,
    model_kwargs=None,
):
    """Run the model on each batch and yield ``(batch, {key: tensor})``.

    ``batches`` yields ``(array, mask)``: integer token ids (fed with
    ``attention_mask`` to models whose forward takes it) or float features (reshaped
    to ``input_shape`` and cast to ``input_dtype``). ``targets`` maps each key to
    ``(module_name, "output" | "input")``: what that module returns or receives, taken
    through one set of hooks for the whole loop; ``hidden_states`` are indices into a
    HuggingFace ``output_hidden_states``. With ``stop_early`` (and no hidden states)
    each forward pass stops once every target has been captured. A module called
    twice in one pass gives its first call.
    """
    stop_early = stop_early and not hidden_states
    by_module = {}
    for key, (name, hook) in targets.items():
        by_module.setdefault(name, []).append((key, hook))
    captured = {}

    def make_hook(name):
        def capture(module, args, output):
            for key, hook in by_module[name]:
                if key not in captured:
                    captured[key] = _select(args if hook == "input" else output, output_index, name, hook)
            if stop_early and len(captured) == len(targets):
                raise _StopForward

        return capture

    use_kwargs = _forward_kwargs(model)
    extra = dict(model_kwargs or {})
    if hidden_states:
        extra["output_hidden_states"] = True
    with forward_hooks(model, {name: make_hook(name) for name in by_module}, training=False), \
            torch.inference_mode():
        for batch in batches:
            array, mask = batch
            captured.clear()
            output = None
            try:
                if np.issubdtype(array.dtype, np.integer):
                    ids = torch.as_tensor(array, device=device)
                    if use_kwargs:
                        attention = torch.as_tensor(mask, device=device).long()
                        output = model(input_ids=ids, attention_mask=attention, **extra)
                    else:
                        output = model(ids, **extra)
                else:
                    x = torch.as_tensor(array, device=device, dtype=input_dtype)
                    if input_shape is not None:
                        x = x.reshape(x.shape[0], *input_shape)
                    output = model(x, **extra)
            except _StopForward:
                pass
            missing = [targets[key][0] for key in targets if key not in captured]
            if missing:
                raise RuntimeError(f"module {missing[0]!r} was not called during the forward pass.")
            result = dict(captured)
            if hidden_states:
                states = getattr(output, "hidden_states", None)
                if states is None:
                    raise ValueError(
                        "the model returned no hidden_states; int layers need a HuggingFace "
                        "model that accepts output_hidden_states=True."
                    )
                for index in hidden_states:
                    result[index] = states[index]
            yield batch, result


POOLINGS = ("mean", "last", "first", "all", "flatten", "spatial_mean")


def _pool(hidden, mask, pooling, name):
    """Pool one captured tensor to ``(batch, d)`` (``pooling="all"``: ``(n_real_tokens, d)``).

    3-D outputs are ``(batch, tokens, d)`` and pooled over the real tokens of ``mask``
    (bool tensor ``(batch, tokens)``, ``None`` = all real); 2-D outputs pass as they
    are; 4-D and more are flattened, or averaged over the axes after the channel axis
    with ``"spatial_mean"`` (which does the same to 3-D outputs ``(batch, C, L)``).
    """
    if hidden.ndim < 2:
        raise ValueError(f"module {name!r} returned shape {tuple(hidden.shape)}; need a batch axis.")
    if pooling == "spatial_mean" and hidden.ndim >= 3:
        return hidden.flatten(2).mean(dim=2)
    if hidden.ndim == 2:
        if pooling == "all":
            raise ValueError(
                f"pooling='all' needs token outputs (batch, tokens, d); module {name!r} "
                f"returned shape {tuple(hidden.shape)}."
            )
        return hidden
    if hidden.ndim > 3 or pooling == "flatten":
        return hidden.flatten(1)
    if mask is None:
        mask = torch.ones(hidden.shape[:2], dtype=torch.bool, device=hidden.device)
    elif tuple(mask.shape) != tuple(hidden.shape[:2]):
        raise ValueError(
            f"module {name!r} returned shape {tuple(hidden.shape)}, whose first two axes do "
            f"not match the (batch, tokens) = {tuple(mask.shape)} of the input."
        )
    if callable(pooling):
        return torch.as_tensor(pooling(hidden, mask), device=hidden.device)
    if pooling == "all":
        return hidden[mask]
    counts = mask.sum(dim=1)
    if bool((counts == 0).any()):
        row = int(torch.nonzero(counts == 0)[0, 0])
        raise ValueError(
            f"row {row} of the batch is all padding: pooling={pooling!r} needs at least one "
            "real (non-padding) token per row."
        )
    if pooling == "mean":
        weights = mask.to(hidden.dtype).unsqueeze(-1)
        return (hidden * weights).sum(dim=1) / counts.to(hidden.dtype).unsqueeze(-1)
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    as_int = mask.to(torch.int8)
    if pooling == "first":
        return hidden[rows, as_int.argmax(dim=1)]
    return hidden[rows, mask.shape[1] - 1 - as_int.flip(1).argmax(dim=1)]


class _NpyWriter:
    """Write a ``.npy`` file of known shape block by block, through plain file writes.

    The rows go to the page cache, not into a mapping of this process, so they do not
    count in its resident memory (rows written into an ``np.memmap`` do, until the
    kernel evicts them). :meth:`close` returns the file as a read-only ``np.memmap``.
    """

    def __init__(self, path, shape, dtype):
        self.path = os.fspath(path)
        self._rows = shape[0]
        self._written = 0
        self._dtype = np.dtype(dtype)
        self._file = open(self.path, "wb")
        header = {"descr": np.lib.format.dtype_to_descr(self._dtype), "fortran_order": False,
                  "shape": tuple(int(size) for size in shape)}
        np.lib.format.write_array_header_2_0(self._file, header)

    def write(self, block):
        np.ascontiguousarray(block, dtype=self._dtype).tofile(self._file)
        self._written += block.shape[0]

    def close(self):
        self._file.close()
        if self._written != self._rows:
            raise RuntimeError(f"{self.path}: wrote {self._written} rows of {self._rows}.")
        return np.load(self.path, mmap_mode="r")


def iter_activations(
    model,
    inputs,
    layer,
    *,
    batch_size=64,
    drop_token_ids=None,
    pad_token_id=None,
    device="cpu",
    dtype="float32",
    stop_at_layer=True,
):
    """Yield the token activations of module ``layer``, one batch of sequences at a time.

    Parameters
    ----------
    model : torch.nn.Module
        The model, already on ``device``; it is run in eval mode under
        ``torch.inference_mode()`` and never modified (its training flags are
        restored). HuggingFace models get ``input_ids`` and ``attention_mask``;
        other modules are called with the padded id tensor.
    inputs : list of array-like of int
        Token-id sequences (1-D, any lengths), or a 2-D array of equal-length rows.
    layer : str or torch.nn.Module
        Module whose output is captured, by name (as in ``model.named_modules()``,
        e.g. ``"esm.encoder.layer.3"``) or as the submodule itself. A tuple output
        (HuggingFace layers) gives its first element.
    batch_size : int, default=64
        Sequences per forward pass.
    drop_token_ids : iterable of int, default=None
        Token ids whose positions are left out (e.g. ``(0, 2)`` for ESM's ``<cls>``
        and ``<eos>``); padding is always left out.
    pad_token_id : int, default=None
        Id used to pad short sequences; ``None`` takes ``model.config.pad_token_id``
        when there is one, else 0. Padding is masked through ``attention_mask``.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where the inputs are sent (the model's device).
    dtype : {"float32", "float64"}, default="float32"
        Dtype of the returned arrays.
    stop_at_layer : bool, default=True
        Stop each forward pass right after ``layer`` (the later layers are not run).

    Yields
    ------
    activations : ndarray of shape (n_chunk_tokens, d)
        The kept tokens of one batch, sequence after sequence, in input order.

    See Also
    --------
    collect_activations : All tokens in one array (or a memory map).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skrepgeom.representations import iter_activations
    >>> model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 3))
    >>> chunks = list(iter_activations(model, [np.array([1, 2, 3]), np.array([4])], "1"))
    >>> [chunk.shape for chunk in chunks]
    [(4, 3)]
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got batch_size={batch_size!r}.")
    name = _module_name(model, layer)
    inputs = _check_inputs(model, inputs)
    keep = _keep_masks(inputs, drop_token_ids)
    device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype)
    np_dtype = np.dtype(str(torch_dtype).replace("torch.", ""))
    batches = _token_batches(inputs, batch_size, _pad_id(model, pad_token_id))
    captures = _iter_captured(model, batches, {name: (name, "output")}, device=device,
                              stop_early=stop_at_layer)
    for start, ((ids, mask), captured) in zip(range(0, len(inputs), batch_size), captures):
        hidden = captured[name]
        if hidden.ndim != 3 or hidden.shape[:2] != ids.shape:
            raise ValueError(
                f"module {name!r} returned shape {tuple(hidden.shape)}; token activations "
                f"need (batch, tokens, d) = ({ids.shape[0]}, {ids.shape[1]}, d)."
            )
        token_mask = mask.copy()
        token_mask[mask] = np.concatenate([keep[start + i] for i in range(ids.shape[0])])
        selected = hidden[torch.as_tensor(token_mask, device=hidden.device)]
        yield selected.to(dtype=torch_dtype).cpu().numpy().astype(np_dtype, copy=False)


def collect_activations(
    model,
    inputs,
    layer,
    *,
    batch_size=64,
    drop_token_ids=None,
    pad_token_id=None,
    device="cpu",
    dtype="float32",
    stop_at_layer=True,
    memmap_dir=None,
):
    """All token activations of module ``layer``, in input order.

    Parameters
    ----------
    model, inputs, layer, batch_size, drop_token_ids, pad_token_id, device, dtype, stop_at_layer
        As in :func:`iter_activations`.
    memmap_dir : str or path-like, default=None
        When given, the activations are written batch by batch to
        ``<memmap_dir>/<layer>.npy`` and returned as a read-only ``np.memmap``, so the
        memory used is one batch whatever the number of tokens.

    Returns
    -------
    activations : ndarray or np.memmap of shape (n_tokens, d)
        One row per kept token, sequence after sequence.

    See Also
    --------
    iter_activations : The same rows, one batch at a time.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skrepgeom.representations import collect_activations
    >>> model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 3))
    >>> collect_activations(model, [np.array([1, 2, 3]), np.array([4, 5])], "1").shape
    (5, 3)
    """
    kwargs = dict(batch_size=batch_size, drop_token_ids=drop_token_ids, pad_token_id=pad_token_id,
                  device=device, dtype=dtype, stop_at_layer=stop_at_layer)
    if memmap_dir is None:
        return np.concatenate(list(iter_activations(model, inputs, layer, **kwargs)), axis=0)
    name = _module_name(model, layer)
    checked = _check_inputs(model, inputs)
    n_tokens = int(sum(mask.sum() for mask in _keep_masks(checked, drop_token_ids)))
    os.makedirs(memmap_dir, exist_ok=True)
    path = os.path.join(os.fspath(memmap_dir), f"{name or 'model'}.npy")
    writer = None
    for chunk in iter_activations(model, checked, name, **kwargs):
        if writer is None:
            writer = _NpyWriter(path, (n_tokens, chunk.shape[1]), chunk.dtype)
        writer.write(chunk)
    return writer.close()
