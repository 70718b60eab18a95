"""Shared benchmark data: Gaussian blobs on a 5-dimensional subspace of R^D, and the
other regimes of the neighbour-search comparison."""

import numpy as np
from sklearn.datasets import make_blobs

# Rows generated at a time, so that large float32 sets never exist in float64.
_ROW_BLOCK = 4096


def blobs(n_samples, n_features, *, intrinsic=5, noise=0.0, dtype=np.float32):
    """``make_blobs`` in ``intrinsic`` dimensions, linearly embedded in ``n_features``.

    The same recipe as ``asv_bench/compare/dimension.py``, so numbers line up:
    ``make_blobs(n, intrinsic, centers=10, random_state=0) @ A / sqrt(intrinsic)`` with
    ``A`` standard normal of shape ``(intrinsic, n_features)`` (seed 0). ``noise`` adds
    isotropic Gaussian noise of that standard deviation in every coordinate (seed 1).
    """
    latent = make_blobs(n_samples, n_features=intrinsic, centers=10, random_state=0)[0]
    projection = np.random.default_rng(0).normal(size=(intrinsic, n_features)) / np.sqrt(intrinsic)
    return _embed(latent, projection, noise, dtype)


def rotated_cube(n_samples, n_features=64, *, intrinsic=8, dtype=np.float32):
    """A uniform ``intrinsic``-dimensional unit cube, rotated into ``n_features`` (seed 0)."""
    rng = np.random.default_rng(0)
    latent = rng.uniform(size=(n_samples, intrinsic))
    rotation = np.linalg.qr(rng.normal(size=(n_features, intrinsic)))[0].T
    return _embed(latent, rotation, 0.0, dtype)


def gaussian(n_samples, n_features=64, *, dtype=np.float32):
    """Full-rank standard normal data (seed 0): no structure for a tree to use."""
    out = np.empty((n_samples, n_features), dtype=dtype)
    rng = np.random.default_rng(0)
    for start in range(0, n_samples, _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, n_samples)
        out[start:stop] = rng.normal(size=(stop - start, n_features))
    return out


def _embed(latent, projection, noise, dtype):
    n_samples, n_features = latent.shape[0], projection.shape[1]
    out = np.empty((n_samples, n_features), dtype=dtype)
    rng = np.random.default_rng(1)
    for start in range(0, n_samples, _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, n_samples)
        block = latent[start:stop] @ projection
        if noise:
            block += noise * rng.normal(size=block.shape)
        out[start:stop] = block
    return out
