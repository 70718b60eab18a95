"""Benchmarks of :class:`skrepgeom.cluster.DensityPeakClusterer` and the neighbourhood overlaps."""

import numpy as np

from skrepgeom.cluster import DensityPeakClusterer
from skrepgeom.neighbors import label_overlap, neighborhood_overlap, overlap_profile

from ._data import blobs

N_SAMPLES = 20_000


class DensityPeakFit:
    """``DensityPeakClusterer().fit`` (k*, PAk, ADP) on 20k x 10 float64 blobs."""

    timeout = 300
    # Calls of seconds: one call per sample, at most 3 samples or 30 s per round.
    number = 1
    repeat = (1, 3, 30.0)
    warmup_time = 0

    def setup(self):
        self.X = blobs(N_SAMPLES, 10, dtype=np.float64)
        DensityPeakClusterer().fit(self.X[:1000])  # warm Numba

    def time_fit(self):
        DensityPeakClusterer().fit(self.X)

    def peakmem_fit(self):
        DensityPeakClusterer().fit(self.X)


class Overlaps:
    """Neighbourhood, label and 3-layer profile overlaps (k = 30) on 20k points."""

    timeout = 300
    number = 1
    repeat = (1, 3, 30.0)
    warmup_time = 0

    def setup(self):
        self.X = blobs(N_SAMPLES, 10)
        self.Y = blobs(N_SAMPLES, 20)[:, ::2] + 0.1
        self.y = np.arange(N_SAMPLES) % 10

    def time_neighborhood_overlap(self):
        neighborhood_overlap(self.X, self.Y)

    def time_label_overlap(self):
        label_overlap(self.X, self.y)

    def time_overlap_profile(self):
        overlap_profile([self.X, self.Y, 2 * self.X], labels=self.y)

    def peakmem_overlap_profile(self):
        overlap_profile([self.X, self.Y, 2 * self.X], labels=self.y)
