"""Aggregation of the logits of several reconstructions into one class score.

Every method returns log-probabilities. They are computed in float64 and floored at
``LOG_FLOOR`` so that they stay finite in float32 even when the peel aggregation's
double exponential makes a probability underflow to zero.
"""

import numpy as np
import torch

__all__ = ["aggregate_logits"]

AGGREGATIONS = ("peel", "mean_logit", "mean_prob", "vote")
# A log-probability below this is a probability of exactly 0 in float64; flooring it
# keeps decision_function finite (float32 overflows to -inf near -3.4e38).
LOG_FLOOR = -1e4


def _peel(logits):
    """log softmax_c(sum_k exp(l_ck)), stable for logits of any size.

    With A_c = logsumexp_k l_ck and S_c = exp(A_c), log P_c = D_c - logsumexp(D)
    where D_c = S_c - S_max = exp(A_max) * expm1(A_c - A_max) <= 0: no exp of a
    large number is ever subtracted from another.
    """
    a = torch.logsumexp(logits, dim=2)
    a_max = a.amax(dim=1, keepdim=True)
    d = torch.exp(a_max) * torch.expm1(a - a_max)
    d = torch.nan_to_num(d, nan=0.0, neginf=LOG_FLOOR, posinf=0.0).clamp_min(LOG_FLOOR)
    return d - torch.logsumexp(d, dim=1, keepdim=True)


def aggregate_tensor(logits, method):
    """:func:`aggregate_logits` on a tensor, differentiable (float64 inside, dtype kept)."""
    dtype = logits.dtype
    logits = logits.to(torch.float64)
    if method == "peel":
        out = _peel(logits)
    elif method == "mean_logit":
        out = torch.log_softmax(logits.mean(dim=2), dim=1)
    elif method == "mean_prob":
        out = torch.log(torch.softmax(logits, dim=1).mean(dim=2))
    else:
        n_classes = logits.shape[1]
        votes = torch.nn.functional.one_hot(logits.argmax(dim=1), n_classes)
        out = torch.log(votes.to(torch.float64).mean(dim=1))
    return out.clamp_min(LOG_FLOOR).to(dtype)


def aggregate_logits(logits, method="peel"):
    """Combine the logits of K reconstructions per sample into log-probabilities.

    Parameters
    ----------
    logits : array-like of shape (n_samples, n_classes, n_reconstructions)
        Classifier logits of each reconstruction.
    method : {"peel", "mean_logit", "mean_prob", "vote"}, default="peel"
        ``"peel"``: ``P_c = softmax_c(sum_k exp(l_ck))`` (CARSO's double-exponential
        rule); ``"mean_logit"``: softmax of ``mean_k l_ck``; ``"mean_prob"``: mean of
        the per-reconstruction softmaxes; ``"vote"``: fraction of reconstructions whose
        argmax is ``c`` (ties to the lowest class index).

    Returns
    -------
    log_proba : ndarray of shape (n_samples, n_classes)
        Log-probabilities in float64, floored at -1e4 so that they are always finite
        (the peel rule gives exact zeros as soon as one class's summed exp-logit leads
        by a few hundred, e.g. eight reconstructions with logits ``(3, 0, 0)``).

    Notes
    -----
    The peel rule saturates: its gradient with respect to the logits vanishes once a
    class leads, which masks gradients from an attacker. Evaluate a peel-aggregated
    model with the ``"mean_logit"`` surrogate too (see :func:`robust_accuracy`).

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.robustness import aggregate_logits
    >>> logits = np.tile(np.array([3.0, 0.0, 0.0])[None, :, None], (1, 1, 8))
    >>> out = aggregate_logits(logits, "peel")
    >>> bool(np.isfinite(out).all()), int(out.argmax())
    (True, 0)
    """
    if method not in AGGREGATIONS:
        raise ValueError(f"method must be one of {AGGREGATIONS}, got method={method!r}.")
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 3:
        raise ValueError(
            "logits must have shape (n_samples, n_classes, n_reconstructions), got "
            f"ndim={logits.ndim}."
        )
    if not np.isfinite(logits).all():
        raise ValueError("logits contain NaN or infinity.")
    with torch.no_grad():
        return aggregate_tensor(torch.from_numpy(logits), method).numpy()
