"""Benchmarks of :mod:`skrepgeom.representations`."""

import tempfile
import warnings

import numpy as np

from skrepgeom.representations import IntrinsicDimensionProfile

from ._base import LongBenchmark
from ._data import blobs


class LayerActivationsTransform(LongBenchmark):
    """Mean-pooled blocks of a random-init GPT-2 (6 x 256, 4 heads), 256 x 64 tokens, batch 32.

    ``memmap`` writes each layer to disk batch by batch instead of keeping it in memory.
    """

    params = ([False, True], [1, 2])
    param_names = ["memmap", "n_jobs"]

    def setup(self, memmap, n_jobs):
        import torch
        import transformers

        from skrepgeom.representations import LayerActivations

        torch.manual_seed(0)
        config = transformers.GPT2Config(n_layer=6, n_embd=256, n_head=4)
        model = transformers.GPT2Model(config).eval()
        self.X = np.random.default_rng(0).integers(0, config.vocab_size, size=(256, 64))
        self.tmp = tempfile.TemporaryDirectory()
        self.acts = LayerActivations(
            model, [f"h.{i}" for i in range(6)], batch_size=32, n_jobs=n_jobs,
            memmap_dir=self.tmp.name if memmap else None,
        ).fit(self.X[:32])

    def teardown(self, memmap, n_jobs):
        self.tmp.cleanup()

    def time_transform_layers(self, memmap, n_jobs):
        self.acts.transform_layers(self.X)

    def peakmem_transform_layers(self, memmap, n_jobs):
        self.acts.transform_layers(self.X)


PROFILE_N_SAMPLES = 10_000
PROFILE_N_LAYERS = 12
PROFILE_N_FEATURES = 768


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
        self.layers = [blobs(PROFILE_N_SAMPLES, PROFILE_N_FEATURES, intrinsic=5 + l) for l in range(PROFILE_N_LAYERS)]
        self.y = np.arange(PROFILE_N_SAMPLES) % 10
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
