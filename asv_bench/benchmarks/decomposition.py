"""Benchmarks of :mod:`skrepgeom.decomposition` and the activation collectors."""

import numpy as np

from skrepgeom.datasets import make_sparse_dictionary_data
from skrepgeom.decomposition import SparseAutoencoder, latent_annotation_enrichment


class SparseAutoencoderSteps:
    """Ten training steps, 320 -> 10,240 latents, batch 4096, ReLU + L1 and TopK k=32."""

    params = (["relu", "topk"], [1, 2])
    param_names = ["activation", "n_jobs"]
    timeout = 600

    def setup(self, activation, n_jobs):
        self.X, _, _ = make_sparse_dictionary_data(4096 * 10, 320, 2048, 32, random_state=0)
        self.X = self.X.astype(np.float32)

    def time_fit_10_steps(self, activation, n_jobs):
        SparseAutoencoder(n_components=10_240, activation=activation, k=32, batch_size=4096,
                          max_steps=10, n_jobs=n_jobs, random_state=0).fit(self.X)

    def peakmem_fit_10_steps(self, activation, n_jobs):
        SparseAutoencoder(n_components=10_240, activation=activation, k=32, batch_size=4096,
                          max_steps=10, n_jobs=n_jobs, random_state=0).fit(self.X)


class SparseAutoencoderStream:
    """partial_fit over a float32 memory map in 16,384-token chunks, 320 -> 2,560 TopK.

    Peak memory should not depend on the number of chunks (4 vs 16).
    """

    params = ([4, 16],)
    param_names = ["n_chunks"]
    timeout = 600
    chunk = 16_384

    def setup(self, n_chunks):
        import tempfile
        from pathlib import Path

        self.directory = tempfile.TemporaryDirectory()
        self.path = Path(self.directory.name) / "x.npy"
        rng = np.random.default_rng(0)
        out = np.lib.format.open_memmap(self.path, mode="w+", dtype=np.float32,
                                        shape=(n_chunks * self.chunk, 320))
        for start in range(0, out.shape[0], self.chunk):
            out[start : start + self.chunk] = rng.standard_normal((self.chunk, 320))
        out.flush()
        del out

    def teardown(self, n_chunks):
        self.directory.cleanup()

    def peakmem_partial_fit(self, n_chunks):
        sae = SparseAutoencoder(n_components=2560, activation="topk", k=32, batch_size=4096,
                                random_state=0)
        for start in range(0, n_chunks * self.chunk, self.chunk):
            X = np.load(self.path, mmap_mode="r")
            sae.partial_fit(X[start : start + self.chunk])
            del X


class SparseAutoencoderTransform:
    """Encoding 20k rows into 2,560 latents, dense and sparse output."""

    params = ([False, True],)
    param_names = ["sparse_output"]

    def setup(self, sparse_output):
        X, _, _ = make_sparse_dictionary_data(20_000, 320, 1024, 16, random_state=0)
        self.X = X.astype(np.float32)
        self.sae = SparseAutoencoder(n_components=2560, activation="topk", k=32, batch_size=4096,
                                     max_steps=2, sparse_output=sparse_output,
                                     random_state=0).fit(self.X)

    def time_transform(self, sparse_output):
        self.sae.transform(self.X)


class Enrichment:
    """Fisher/BH table of 1,024 latents x 20 annotations x 3 thresholds on 20k tokens."""

    timeout = 300

    def setup(self):
        rng = np.random.default_rng(0)
        codes = rng.exponential(0.5, size=(20_000, 1024)) * (rng.random((20_000, 1024)) < 0.01)
        import scipy.sparse as sp

        self.codes = sp.csr_matrix(codes)
        self.annotations = rng.random((20_000, 20)) < 0.05

    def time_enrichment(self):
        latent_annotation_enrichment(self.codes, self.annotations)


class CollectActivations:
    """Layer-3 activations of a random ESM-2 8M on 64 motif proteins, stop early or not."""

    params = ([True, False],)
    param_names = ["stop_at_layer"]
    timeout = 300

    def setup(self, stop_at_layer):
        from skrepgeom.datasets import esm_tokenize, make_motif_proteins, make_random_esm_model

        self.model = make_random_esm_model(random_state=0)
        seqs, _, _ = make_motif_proteins(64, random_state=0)
        self.tokens = esm_tokenize(seqs)

    def time_collect(self, stop_at_layer):
        from skrepgeom.representations import collect_activations

        collect_activations(self.model, self.tokens, "esm.encoder.layer.3", batch_size=32,
                            stop_at_layer=stop_at_layer)
