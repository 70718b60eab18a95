"""Benchmarks of :mod:`skrepgeom.representations`."""

import tempfile

import numpy as np

from ._base import LongBenchmark


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
