"""Numba kernels of the time-series area: the pruned ROCKET transform."""

import numpy as np
from numba import njit, prange

__all__ = ["kernel_offsets", "rocket_transform_subset"]


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


@njit(cache=True)
def centered_coef(F, n_rows, mu, c, columns):
    """``(F[:n_rows, columns] - mu[columns]).T @ c`` in float64, transposed.

    ``F`` is a float32 Fortran-ordered (n, P) matrix (each column contiguous), ``c``
    float64 (n_rows, n_targets); returns (n_targets, len(columns)) without gathering
    or converting the columns.
    """
    n_targets = c.shape[1]
    out = np.empty((n_targets, columns.shape[0]))
    for t in range(columns.shape[0]):
        j = columns[t]
        m = mu[j]
        for k in range(n_targets):
            acc = 0.0
            for i in range(n_rows):
                acc += (np.float64(F[i, j]) - m) * c[i, k]
            out[k, t] = acc
    return out
