"""Association of every latent with every token annotation: 2x2 tables and Fisher tests."""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from scipy.stats import false_discovery_control, hypergeom

__all__ = ["latent_annotation_enrichment"]

COLUMNS = [
    "latent", "annotation", "threshold", "tp", "fp", "fn", "tn",
    "precision", "recall", "f1", "odds_ratio", "p_value", "q_value",
]  # fmt: skip


def _check_codes(codes):
    if sp.issparse(codes):
        codes = sp.csc_matrix(codes)
        data = codes.data
    else:
        codes = np.asarray(codes)
        data = codes
    if codes.ndim != 2:
        raise ValueError(f"codes must be 2-D (n_tokens, n_latents), got shape {codes.shape}.")
    if not np.issubdtype(data.dtype, np.number) or not np.all(np.isfinite(data)):
        raise ValueError("codes must be finite numbers (found NaN, inf or a non-numeric dtype).")
    return codes


def _check_annotations(annotations, n_tokens):
    A = annotations.toarray() if sp.issparse(annotations) else np.asarray(annotations)
    if A.ndim == 1:
        A = A[:, None]
    if A.ndim != 2:
        raise ValueError(f"annotations must be 2-D (n_tokens, n_annotations), got shape {A.shape}.")
    if A.shape[0] != n_tokens:
        raise ValueError(
            f"codes and annotations must have the same number of rows (tokens), got "
            f"{n_tokens} and {A.shape[0]}."
        )
    if A.dtype != bool:
        values = np.unique(A)
        if not np.isin(values, (0, 1)).all():
            raise ValueError(
                "annotations must be binary (bool or 0/1), found values "
                f"{values[~np.isin(values, (0, 1))][:5].tolist()}."
            )
    return A.astype(bool)


def _fires(codes, cutoffs):
    """Sparse (n_tokens, n_latents) indicator of ``codes > cutoffs`` (one cutoff per latent)."""
    if sp.issparse(codes):
        coo = codes.tocoo()
        keep = coo.data > cutoffs[coo.col]
        return sp.csr_matrix(
            (np.ones(keep.sum()), (coo.row[keep], coo.col[keep])), shape=codes.shape
        )
    return sp.csr_matrix(codes > cutoffs[None, :], dtype=np.float64)


def _odds_ratio(tp, fp, fn, tn):
    """Sample odds ratio as :func:`scipy.stats.fisher_exact` gives it (inf, NaN included)."""
    num = tp * tn
    den = fp * fn
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    ratio = np.where((den == 0) & (num > 0), np.inf, ratio)
    return np.where((den == 0) & (num == 0), np.nan, ratio)


def _fisher_greater(tp, n_fire, n_positive, n_tokens):
    """One-sided Fisher p-values ``P(X >= tp)``, ``X ~ Hypergeom(n_tokens, n_fire, n_positive)``.

    ``tp = 0`` gives exactly 1; the survival function is evaluated once per distinct
    ``(tp, n_fire, n_positive)`` (counts repeat a lot across latents), since each
    evaluation sums up to ``min(n_fire, n_positive)`` terms.
    """
    p_value = np.ones(tp.shape)
    some = tp > 0
    if some.any():
        keys = np.stack([tp[some], n_fire[some], n_positive[some]], axis=1)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        sf = hypergeom.sf(unique[:, 0] - 1, n_tokens, unique[:, 1], unique[:, 2])
        p_value[some] = np.clip(sf, 0.0, 1.0)[inverse.ravel()]
    return p_value


def latent_annotation_enrichment(
    codes,
    annotations,
    thresholds=(0.01, 0.1, 1.0),
    annotation_names=None,
    relative=False,
    correction="fdr_bh",
):
    """Precision, recall and a one-sided Fisher test of every latent against every annotation.

    A latent *fires* on a token when its code exceeds the threshold. For each
    (latent, annotation, threshold) the 2x2 table ``[[tp, fp], [fn, tn]]`` counts
    tokens by firing (rows) and annotation (columns); the p-value is that of
    Fisher's exact test with the alternative "greater" (the latent fires more often
    on annotated tokens), computed for all pairs at once from the hypergeometric
    survival function.

    Parameters
    ----------
    codes : {array-like, sparse matrix} of shape (n_tokens, n_latents)
        Latent codes, e.g. ``SparseAutoencoder.transform`` of token activations.
    annotations : array-like of shape (n_tokens, n_annotations)
        Binary (bool or 0/1) token annotations.
    thresholds : sequence of float, default=(0.01, 0.1, 1.0)
        Firing thresholds (``>= 0``), the values of the protein-SAE paper.
    annotation_names : sequence of str, default=None
        Names for the ``annotation`` column; ``None`` uses the column indices.
    relative : bool, default=False
        Thresholds are fractions of each latent's largest code (as in InterPLM).
    correction : {"fdr_bh", None}, default="fdr_bh"
        Benjamini-Hochberg q-values within each threshold over all latent x
        annotation pairs; ``None`` copies the p-values.

    Returns
    -------
    table : pandas.DataFrame
        One row per (threshold, latent, annotation), in that order, with columns
        ``latent, annotation, threshold, tp, fp, fn, tn, precision, recall, f1,
        odds_ratio, p_value, q_value``. Precision is 0 when the latent never fires;
        the odds ratio is ``tp * tn / (fp * fn)`` (inf or NaN as scipy gives them).

    Examples
    --------
    >>> import numpy as np
    >>> from skrepgeom.decomposition import latent_annotation_enrichment
    >>> annotations = np.array([1, 1, 0, 0, 0, 0])[:, None]
    >>> codes = np.array([[2.0, 0], [1.5, 0], [0, 1], [0, 0], [0, 1], [0, 0]])
    >>> table = latent_annotation_enrichment(codes, annotations, thresholds=(0.5,))
    >>> table[["latent", "tp", "fp", "precision", "recall"]].to_numpy().tolist()
    [[0.0, 2.0, 0.0, 1.0, 1.0], [1.0, 0.0, 2.0, 0.0, 0.0]]
    """
    import pandas as pd

    codes = _check_codes(codes)
    n_tokens, n_latents = codes.shape
    A = _check_annotations(annotations, n_tokens)
    n_annotations = A.shape[1]
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if thresholds.ndim != 1 or thresholds.size == 0 or not np.all(np.isfinite(thresholds)):
        raise ValueError(f"thresholds must be a non-empty sequence of finite numbers, got {thresholds!r}.")
    if np.any(thresholds < 0):
        raise ValueError(f"thresholds must be >= 0, got {thresholds.tolist()}.")
    if correction not in ("fdr_bh", None):
        raise ValueError(f"correction must be 'fdr_bh' or None, got correction={correction!r}.")
    if annotation_names is None:
        names = np.arange(n_annotations)
    else:
        names = np.asarray(list(annotation_names), dtype=object)
        if names.shape[0] != n_annotations:
            raise ValueError(
                f"annotation_names has {names.shape[0]} names for {n_annotations} annotation columns."
            )
    n_positive = A.sum(axis=0).astype(np.float64)
    for j in np.flatnonzero(n_positive == 0):
        warnings.warn(
            f"annotation {names[j]!r} has no positive token: its recall and p-values are not informative.",
            UserWarning,
            stacklevel=2,
        )
    if relative:
        col_max = (codes.max(axis=0).toarray().ravel() if sp.issparse(codes)
                   else codes.max(axis=0, initial=0.0))
    A_sparse = sp.csc_matrix(A, dtype=np.float64)
    frames = []
    for threshold in thresholds:
        cutoffs = (threshold * col_max if relative else np.full(n_latents, threshold)).astype(np.float64)
        fires = _fires(codes, cutoffs)
        tp = np.asarray((fires.T @ A_sparse).todense(), dtype=np.float64)
        n_fire = np.asarray(fires.sum(axis=0), dtype=np.float64).reshape(-1, 1)
        fp = n_fire - tp
        fn = n_positive[None, :] - tp
        tn = n_tokens - tp - fp - fn
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(n_fire > 0, tp / n_fire, 0.0)
            recall = np.where(n_positive[None, :] > 0, tp / n_positive[None, :], 0.0)
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        p_value = _fisher_greater(tp, np.broadcast_to(n_fire, tp.shape),
                                  np.broadcast_to(n_positive[None, :], tp.shape), n_tokens)
        q_value = (false_discovery_control(p_value.ravel(), method="bh").reshape(p_value.shape)
                   if correction == "fdr_bh" else p_value.copy())
        frames.append({
            "latent": np.repeat(np.arange(n_latents), n_annotations),
            "annotation": np.tile(names, n_latents),
            "threshold": np.full(n_latents * n_annotations, threshold),
            "tp": tp.ravel().astype(np.int64), "fp": fp.ravel().astype(np.int64),
            "fn": fn.ravel().astype(np.int64), "tn": tn.ravel().astype(np.int64),
            "precision": precision.ravel(), "recall": recall.ravel(), "f1": f1.ravel(),
            "odds_ratio": _odds_ratio(tp, fp, fn, tn).ravel(),
            "p_value": p_value.ravel(), "q_value": q_value.ravel(),
        })  # fmt: skip
    table = {name: np.concatenate([frame[name] for frame in frames]) for name in COLUMNS}
    return pd.DataFrame(table, columns=COLUMNS)
