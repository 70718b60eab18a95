"""Numba kernels of the time-series area: the pruned ROCKET transform and the SFD path."""

import numpy as np
from numba import njit, prange

__all__ = ["centered_coef", "column_moments", "kernel_offsets", "rocket_transform_subset", "scale_rows_into"]


def kernel_offsets(lengths, num_channel_indices):
    """Start of each kernel's weights and channel indices in sktime's flat arrays."""
    lengths = np.asarray(lengths, dtype=np.int64)
    n_ch = np.asarray(num_channel_indices, dtype=np.int64)
    weight_start = np.zeros(lengths.shape[0], dtype=np.int64)
    channel_start = np.zeros(lengths.shape[0], dtype=np.int64)
    weight_start[1:] = np.cumsum(n_ch * lengths)[:-1]
    channel_start[1:] = np.cumsum(n_ch)[:-1]
    return weight_start, channel_start


@njit(fastmath=True, cache=True)
def _ppv_max(X, weights, w0, length, bias, dilation, padding, channels, c0, n_ch):
    """PPV and max of one ROCKET kernel on one series (sktime's arithmetic)."""
    n_timepoints = X.shape[1]
    output_length = (n_timepoints + 2 * padding) - (length - 1) * dilation
    ppv = 0
    mx = -np.inf
    end = (n_timepoints + padding) - (length - 1) * dilation
    for i in range(-padding, end):
        s = bias
        index = i
        for j in range(length):
            if index > -1 and index < n_timepoints:
                for k in range(n_ch):
                    s = s + weights[w0 + k * length + j] * X[channels[c0 + k], index]
            index = index + dilation
        if s > mx:
            mx = s
        if s > 0:
            ppv += 1
    return np.float32(ppv / output_length), np.float32(mx)


@njit(parallel=True, fastmath=True, cache=True)
def rocket_transform_subset(
    X,
    weights,
    lengths,
    biases,
    dilations,
    paddings,
    num_channel_indices,
    channel_indices,
    weight_start,
    channel_start,
    kernel_subset,
):
    """ROCKET features (PPV, max) of the kernels in ``kernel_subset`` only.

    ``X`` is float32 (n_instances, n_channels, n_timepoints), already normalised as
    sktime does; column ``2 i`` / ``2 i + 1`` of the result are PPV / max of kernel
    ``kernel_subset[i]``, equal to columns ``2 j`` / ``2 j + 1`` of sktime's
    ``Rocket.transform`` for ``j = kernel_subset[i]``.
    """
    n_instances = X.shape[0]
    n_used = kernel_subset.shape[0]
    out = np.zeros((n_instances, 2 * n_used), dtype=np.float32)
    for i in prange(n_instances):
        for u in range(n_used):
            j = kernel_subset[u]
            ppv, mx = _ppv_max(
                X[i],
                weights,
                weight_start[j],
                lengths[j],
                biases[j],
                dilations[j],
                paddings[j],
                channel_indices,
                channel_start[j],
                num_channel_indices[j],
            )
            out[i, 2 * u] = ppv
            out[i, 2 * u + 1] = mx
    return out


# reassoc lets LLVM split the float64 dot products into vector lanes: a single
# accumulator chain runs at one add per 4 cycles. Sums only, no NaN/inf tricks.
@njit(fastmath={"reassoc", "contract"}, cache=True)
def centered_coef(F, n_rows, mu, c, columns):
    """Ridge weights from dual coefficients, and the decisions of the later rows.

    ``F`` is a float32 Fortran-ordered (n, P) matrix (each column contiguous), ``c``
    float64 (n_rows, n_targets). Returns ``coef = ((F[:n_rows, columns] - mu[columns]).T
    @ c).T`` of shape (n_targets, len(columns)) and ``decisions = (F[n_rows:, columns]
    - mu[columns]) @ coef.T`` of shape (n - n_rows, n_targets): one pass over each
    active column, without gathering or converting the columns.
    """
    n_targets = c.shape[1]
    n_after = F.shape[0] - n_rows
    c_t = np.ascontiguousarray(c.T)
    coef = np.empty((n_targets, columns.shape[0]))
    decisions_t = np.zeros((n_targets, n_after))
    for t in range(columns.shape[0]):
        j = columns[t]
        m = mu[j]
        for k in range(n_targets):
            acc = 0.0
            for i in range(n_rows):
                acc += (np.float64(F[i, j]) - m) * c_t[k, i]
            coef[k, t] = acc
            for i in range(n_after):
                decisions_t[k, i] += (np.float64(F[n_rows + i, j]) - m) * acc
    return coef, decisions_t.T.copy()


@njit(cache=True)
def scale_rows_into(X, rows, mean, scale, F):
    """``F[r, j] = (X[rows[r], j] - mean[j]) / scale[j]`` in X's precision.

    ``X`` is C-ordered, ``F`` a float32 Fortran-ordered output; columns go in
    blocks so that the strided writes of a block stay in cache.
    """
    n_cols = X.shape[1]
    block = 256
    for start in range(0, n_cols, block):
        stop = min(start + block, n_cols)
        for r in range(rows.shape[0]):
            source = rows[r]
            for j in range(start, stop):
                F[r, j] = np.float32((X[source, j] - mean[j]) / scale[j])


@njit(cache=True)
def column_moments(X):
    """Per-column float64 mean, variance (two passes) and whether the column is constant.

    ``X`` is C-ordered (n, P); the loops run along rows so that each pass reads X once.
    """
    n, P = X.shape
    mean = np.zeros(P)
    low = X[0].astype(np.float64)
    high = X[0].astype(np.float64)
    for i in range(n):
        for j in range(P):
            value = np.float64(X[i, j])
            mean[j] += value
            low[j] = min(low[j], value)
            high[j] = max(high[j], value)
    mean /= n
    var = np.zeros(P)
    for i in range(n):
        for j in range(P):
            diff = np.float64(X[i, j]) - mean[j]
            var[j] += diff * diff
    var /= n
    return mean, var, low == high
