"""Shared benchmark data: Gaussian blobs on a 5-dimensional subspace of R^D."""

import numpy as np
from sklearn.datasets import make_blobs


def blobs(n_samples, n_features, *, intrinsic=5, dtype=np.float32):
    """``make_blobs`` in ``intrinsic`` dimensions, linearly embedded in ``n_features``.

    The same recipe as ``asv_bench/compare/dimension.py``, so numbers line up.
    """
    X = make_blobs(n_samples, n_features=intrinsic, centers=10, random_state=0)[0]
    projection = np.random.default_rng(0).normal(size=(intrinsic, n_features))
    return (X @ (projection / np.sqrt(intrinsic))).astype(dtype)
