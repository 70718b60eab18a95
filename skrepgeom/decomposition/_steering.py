"""Steering a model along SAE latents, and masked-LM sampling under steering."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skrepgeom.utils._torch import closest_module_names, forward_hooks, make_generator

__all__ = ["LatentSteering", "sample_masked_lm"]


def _resolve_layer(model, layer):
    if isinstance(layer, torch.nn.Module):
        for name, module in model.named_modules():
            if module is layer:
                return name
        raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model.")
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a module name or a torch.nn.Module, got {type(layer).__name__}.")
    names = {name for name, _ in model.named_modules()}
    if layer not in names:
        raise ValueError(
            f"Unknown layer {layer!r}; closest module names: {closest_module_names(model, layer)}."
        )
    return layer


class LatentSteering:
    """Add SAE latent directions to (or clamp SAE latents in) a module's output.

    With ``mode="add"`` the output ``h`` of module ``layer`` becomes
    ``h + alpha * sum_j components_[j]`` at ``positions``. With ``mode="clamp"``
    latent ``j`` is set to ``value`` while the SAE's reconstruction error is kept:
    ``h + (value - f_j(h)) * components_[j] * ||W_dec,j|| * input_scale_``, which
    equals ``decode(f') + (h - decode(f))`` with ``f'`` the clamped codes, computed
    without a full decode.

    Use it as a context manager, or call :meth:`register` and :meth:`remove`. The
    hook goes through :func:`skrepgeom.utils._torch.forward_hooks`: it is removed
    and the model's training flags restored on exit, even when the forward raises.

    Parameters
    ----------
    model : torch.nn.Module
        The model to steer.
    sae : SparseAutoencoder
        Fitted autoencoder of the hidden states of ``layer``.
    layer : str or torch.nn.Module
        Module (name as in ``model.named_modules()``, or the module) whose output is
        changed; tuple outputs (HuggingFace layers) have their first element changed.
    latents : int or sequence of int
        Latent indices.
    alpha : float, default=1.0
        Step along each latent direction (``mode="add"``).
    mode : {"add", "clamp"}, default="add"
        See above.
    positions : int, sequence of int, bool mask or None, default=None
        Token positions changed (``None``: all).
    value : float or sequence of float, default=None
        Clamped value(s) of the latent(s) (``mode="clamp"``; ``None`` means 0).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skrepgeom.decomposition import LatentSteering, SparseAutoencoder
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Identity())
    >>> sae = SparseAutoencoder(n_components=8, max_steps=2, random_state=0)
    >>> sae = sae.fit(np.random.default_rng(0).normal(size=(64, 4)))
    >>> x = torch.zeros(1, 4)
    >>> with LatentSteering(model, sae, "0", 3, alpha=2.0):
    ...     steered = model(x)
    >>> bool(torch.allclose(steered - model(x), 2.0 * torch.as_tensor(sae.components_[3])))
    True
    """

    def __init__(self, model, sae, layer, latents, *, alpha=1.0, mode="add", positions=None, value=None):
        check_is_fitted(sae)
        self.model = model
        self.sae = sae
        self.layer = layer
        self.layer_name = _resolve_layer(model, layer)
        latents = np.atleast_1d(np.asarray(latents))
        if latents.ndim != 1 or latents.size == 0 or not np.issubdtype(latents.dtype, np.integer):
            raise ValueError(f"latents must be an int or a non-empty sequence of ints, got {latents!r}.")
        bad = latents[(latents < 0) | (latents >= sae.n_components_)]
        if bad.size:
            raise ValueError(
                f"latent(s) {bad.tolist()} out of range for an autoencoder with "
                f"{sae.n_components_} latents."
            )
        if mode not in ("add", "clamp"):
            raise ValueError(f"mode must be 'add' or 'clamp', got mode={mode!r}.")
        if not isinstance(alpha, Real):
            raise ValueError(f"alpha must be a number, got alpha={alpha!r}.")
        self.latents = latents.astype(np.int64)
        self.alpha = float(alpha)
        self.mode = mode
        self.positions = positions
        values = np.zeros(latents.size) if value is None else np.broadcast_to(
            np.asarray(value, dtype=np.float64), latents.shape
        )
        self.value = np.array(values, dtype=np.float64)
        self._context = None

    def _position_index(self, n_tokens, device):
        if self.positions is None:
            return slice(None)
        positions = np.asarray(self.positions)
        if positions.dtype == bool:
            if positions.shape != (n_tokens,):
                raise ValueError(
                    f"positions mask has shape {positions.shape}, the hidden states have {n_tokens} tokens."
                )
            return torch.as_tensor(np.flatnonzero(positions), device=device)
        positions = np.atleast_1d(positions).astype(np.int64)
        if np.any((positions < -n_tokens) | (positions >= n_tokens)):
            raise ValueError(f"positions {positions.tolist()} out of range for {n_tokens} tokens.")
        return torch.as_tensor(positions % n_tokens, device=device)

    def _delta(self, h):
        """Change to add to hidden states ``h`` (..., d) at the steered positions."""
        sae = self.sae
        dtype, device = h.dtype, h.device
        components = torch.as_tensor(sae.components_[self.latents], dtype=dtype, device=device)
        if self.mode == "add":
            return self.alpha * components.sum(dim=0)
        x = h.reshape(-1, h.shape[-1])
        b_dec = torch.as_tensor(sae.decoder_bias_, dtype=dtype, device=device)
        xc = x - b_dec if sae.center_input else x
        if sae.activation == "relu":
            enc = torch.as_tensor(sae.encoder_weight_[:, self.latents], dtype=dtype, device=device)
            b_enc = torch.as_tensor(sae.encoder_bias_[self.latents], dtype=dtype, device=device)
            codes = torch.relu(xc @ enc + b_enc)
        else:
            # TopK membership needs every pre-activation; only the chosen codes are read.
            enc = torch.as_tensor(sae.encoder_weight_, dtype=dtype, device=device)
            b_enc = torch.as_tensor(sae.encoder_bias_, dtype=dtype, device=device)
            pre = xc @ enc + b_enc
            kth = pre.topk(sae.k, dim=1).values[:, -1:]
            chosen = pre[:, torch.as_tensor(self.latents, device=device)]
            codes = torch.where(chosen >= kth, torch.relu(chosen), torch.zeros_like(chosen))
        scale = torch.as_tensor(
            sae.decoder_norms_[self.latents] * sae.input_scale_, dtype=dtype, device=device
        )
        value = torch.as_tensor(self.value, dtype=dtype, device=device)
        delta = ((value - codes) * scale) @ components
        return delta.reshape(h.shape)

    def _hook(self, module, args, output):
        hidden = output[0] if isinstance(output, tuple) else output
        if hidden.shape[-1] != self.sae.n_features_in_:
            raise ValueError(
                f"the output of {self.layer_name!r} has hidden size {hidden.shape[-1]}, but the "
                f"autoencoder was fitted on {self.sae.n_features_in_} features."
            )
        steered = hidden.clone()
        if hidden.ndim >= 3:
            index = self._position_index(hidden.shape[-2], hidden.device)
            part = steered[..., index, :]
            steered[..., index, :] = part + self._delta(part)
        else:
            if self.positions is not None:
                raise ValueError("positions need token-level outputs of shape (batch, tokens, d).")
            steered = steered + self._delta(steered)
        if isinstance(output, tuple):
            return (steered, *output[1:])
        return steered

    def register(self):
        """Register the hook (until :meth:`remove`); returns ``self``."""
        if self._context is not None:
            raise RuntimeError("the steering hook is already registered.")
        self._context = forward_hooks(self.model, {self.layer_name: self._hook})
        self._context.__enter__()
        return self

    def remove(self):
        """Remove the hook and restore the model's training flags."""
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(None, None, None)

    def __enter__(self):
        return self.register()

    def __exit__(self, *exc_info):
        self.remove()
        return False


def sample_masked_lm(
    model,
    input_ids,
    n_iter=10,
    mask_fraction=0.05,
    temperature=1.0,
    allowed_token_ids=None,
    steering=None,
    random_state=None,
):
    """Gibbs-style sampling from a masked language model, optionally under steering.

    Each round masks ``mask_fraction`` of the resampleable positions of every row
    (at least one), runs the model and replaces them by tokens drawn from the
    softmax of ``logits / temperature`` restricted to ``allowed_token_ids``.

    Parameters
    ----------
    model : torch.nn.Module
        Masked LM returning logits (``.logits`` or a tensor), with
        ``model.config.mask_token_id``.
    input_ids : array-like of int, shape (seq_len,) or (n_rows, seq_len)
        Starting sequences.
    n_iter : int, default=10
        Mask-and-sample rounds.
    mask_fraction : float in (0, 1], default=0.05
        Fraction of the resampleable positions masked per round.
    temperature : float, default=1.0
        Softmax temperature.
    allowed_token_ids : sequence of int, default=None
        Tokens that may be drawn; positions holding any other token (``<cls>``,
        ``<eos>``, padding) are never resampled. ``None``: every id except the
        model's pad, mask, bos, eos, cls and sep ids.
    steering : LatentSteering, default=None
        Active during every forward pass.
    random_state : int, RandomState instance or None, default=None
        Seeds the masked positions and the draws.

    Returns
    -------
    input_ids : ndarray of int64
        The sampled sequences, same shape as the input.

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.datasets import esm2_8m_config, make_random_esm_model, esm_tokenize
    >>> from skrepgeom.decomposition import sample_masked_lm
    >>> config = esm2_8m_config()
    >>> config.num_hidden_layers = 1
    >>> model = make_random_esm_model(config, random_state=0)
    >>> ids = esm_tokenize(["MKVLAAGV"])[0]
    >>> out = sample_masked_lm(model, ids, n_iter=2, mask_fraction=0.25,
    ...                        allowed_token_ids=range(4, 24), random_state=0)
    >>> out.shape, int(out[0]), int(out[-1])
    ((10,), 0, 2)
    """
    ids = np.asarray(input_ids)
    if ids.ndim not in (1, 2) or ids.size == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError("input_ids must be a non-empty 1-D or 2-D array of token ids.")
    squeeze = ids.ndim == 1
    ids = np.atleast_2d(ids).astype(np.int64).copy()
    if isinstance(n_iter, bool) or not isinstance(n_iter, Integral) or n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative int, got n_iter={n_iter!r}.")
    if not 0 < mask_fraction <= 1:
        raise ValueError(f"mask_fraction must be in (0, 1], got mask_fraction={mask_fraction!r}.")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got temperature={temperature!r}.")
    config = getattr(model, "config", None)
    mask_id = getattr(config, "mask_token_id", None)
    if mask_id is None:
        raise ValueError("model.config.mask_token_id is needed to mask tokens.")
    vocab = int(config.vocab_size)
    if allowed_token_ids is None:
        special = {getattr(config, name, None) for name in (
            "pad_token_id", "mask_token_id", "bos_token_id", "eos_token_id", "cls_token_id", "sep_token_id"
        )}  # fmt: skip
        allowed = np.array([i for i in range(vocab) if i not in special])
    else:
        allowed = np.unique(np.asarray(list(allowed_token_ids), dtype=np.int64))
        if allowed.size == 0 or allowed.min() < 0 or allowed.max() >= vocab:
            raise ValueError(f"allowed_token_ids must be non-empty ids in [0, {vocab}).")
    rng = check_random_state(random_state)
    device = next(model.parameters()).device
    generator = make_generator(rng, device)
    allowed_t = torch.as_tensor(allowed, device=device)
    resampleable = np.isin(ids, allowed)
    context = steering if steering is not None else _NullContext()
    was_training = model.training
    model.eval()
    try:
        with context, torch.inference_mode():
            for _ in range(n_iter):
                masked = np.zeros_like(resampleable)
                for row in range(ids.shape[0]):
                    candidates = np.flatnonzero(resampleable[row])
                    if candidates.size == 0:
                        continue
                    n_mask = max(1, int(round(mask_fraction * candidates.size)))
                    masked[row, rng.choice(candidates, size=n_mask, replace=False)] = True
                if not masked.any():
                    break
                current = ids.copy()
                current[masked] = mask_id
                out = model(input_ids=torch.as_tensor(current, device=device))
                logits = out.logits if hasattr(out, "logits") else out
                chosen = logits[torch.as_tensor(masked, device=device)][:, allowed_t]
                probs = torch.softmax(chosen.double() / temperature, dim=-1)
                draws = torch.multinomial(probs, 1, generator=generator).reshape(-1)
                ids[masked] = allowed[draws.cpu().numpy()]
    finally:
        model.train(was_training)
    return ids[0] if squeeze else ids


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False
