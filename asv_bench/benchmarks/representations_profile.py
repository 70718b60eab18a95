"""Benchmarks of :class:`skrepgeom.representations.IntrinsicDimensionProfile`."""

import warnings

import numpy as np

from skrepgeom.representations import IntrinsicDimensionProfile

from ._base import LongBenchmark
from ._data import blobs

N_SAMPLES = 10_000
N_LAYERS = 12
N_FEATURES = 768


class IntrinsicDimensionProfileFit(LongBenchmark):
    """``IntrinsicDimensionProfile.fit`` on 12 layers x 10,000 x 768 float32 points.

    Layer ``l`` is ``make_blobs`` in ``5 + l`` dimensions embedded in 768 (the recipe
    of ``_data.blobs``); the labels are 10 classes taken in turn.
    ``compute_overlap=False`` times the default TwoNN protocol alone, ``True`` adds
    the overlap searches (10 neighbours; input, consecutive and labels).
    """

    params = ([False, True],)
    param_names = ["compute_overlap"]

    def setup(self, compute_overlap):
        self.layers = [blobs(N_SAMPLES, N_FEATURES, intrinsic=5 + l) for l in range(N_LAYERS)]
        self.y = np.arange(N_SAMPLES) % 10
        with warnings.catch_warnings():
            # Two layers may peak at the last one: a warning, irrelevant to a warm-up.
            warnings.simplefilter("ignore", UserWarning)
            IntrinsicDimensionProfile(subsample_factor=1, n_repeats=1).fit(
                [layer[:500] for layer in self.layers[:2]], self.y[:500]
            )

    def _fit(self, compute_overlap):
        IntrinsicDimensionProfile(compute_overlap=compute_overlap, random_state=0).fit(
            self.layers, self.y if compute_overlap else None
        )

    def time_fit(self, compute_overlap):
        self._fit(compute_overlap)

    def peakmem_fit(self, compute_overlap):
        self._fit(compute_overlap)
