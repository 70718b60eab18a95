"""Benchmarks of the intrinsic-dimension estimators of :mod:`skrepgeom.dimension`."""

import warnings

from skrepgeom.dimension import GrideDimension, TwoNNDimension, twonn_decimation

from ._base import SecondsBenchmark
from ._data import blobs

N_SAMPLES = 20_000


class TwoNNFit(SecondsBenchmark):
    """``TwoNNDimension().fit`` (default backend and bootstrap) on 20k float32 points."""

    params = ([10, 50],)
    param_names = ["n_features"]

    def setup(self, n_features):
        self.X = blobs(N_SAMPLES, n_features)
        TwoNNDimension(n_bootstrap=2).fit(self.X[:500])  # warm Numba

    def time_fit(self, n_features):
        TwoNNDimension(random_state=0).fit(self.X)

    def peakmem_fit(self, n_features):
        TwoNNDimension(random_state=0).fit(self.X)


class GrideFit(SecondsBenchmark):
    """``GrideDimension(range_max=64).fit`` (6 scales) on 20k x 10 float32 points."""

    def setup(self):
        self.X = blobs(N_SAMPLES, 10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GrideDimension(range_max=8).fit(self.X[:500])  # warm Numba

    def time_fit(self):
        GrideDimension(range_max=64).fit(self.X)

    def peakmem_fit(self):
        GrideDimension(range_max=64).fit(self.X)


class TwoNNDecimation(SecondsBenchmark):
    """``twonn_decimation`` down to 10-point subsets, from 20k x 10 float32 points."""

    def setup(self):
        self.X = blobs(N_SAMPLES, 10)
        twonn_decimation(self.X[:500], random_state=0)  # warm Numba

    def time_twonn_decimation(self):
        twonn_decimation(self.X, random_state=0)

    def peakmem_twonn_decimation(self):
        twonn_decimation(self.X, random_state=0)
