"""Benchmarks of layer zigzag persistence (:mod:`skrepgeom.topology`)."""

import numpy as np

from skrepgeom.topology import ZigzagPersistenceSimilarity
from skrepgeom.topology._complexes import clique_complex, knn_graph, layer_zigzag
from skrepgeom.topology._zigzag import run_zigzag


def drifting_cloud(n_samples, n_layers, n_features=32, step=0.3, seed=0):
    """``X_0 ~ N(0, I)``, ``X_{l+1} = X_l + step * N(0, I)`` (the compare script's data)."""
    rng = np.random.default_rng(seed)
    layers = [rng.standard_normal((n_samples, n_features))]
    for _ in range(n_layers - 1):
        layers.append(layers[-1] + step * rng.standard_normal((n_samples, n_features)))
    return layers


class ZigzagFit:
    """``ZigzagPersistenceSimilarity().fit`` (dimension 2, default) on a drifting cloud."""

    params = ([1000, 3000], [6, 24])
    param_names = ["n_samples", "n_layers"]
    timeout = 300
    # Calls of seconds: one call per sample, at most 3 samples or 30 s per round.
    number = 1
    repeat = (1, 3, 30.0)
    warmup_time = 0

    def setup(self, n_samples, n_layers):
        self.layers = drifting_cloud(n_samples, n_layers)
        ZigzagPersistenceSimilarity().fit([x[:100] for x in self.layers[:2]])  # warm Numba

    def time_fit(self, n_samples, n_layers):
        ZigzagPersistenceSimilarity().fit(self.layers)

    def peakmem_fit(self, n_samples, n_layers):
        ZigzagPersistenceSimilarity().fit(self.layers)


class ZigzagEngine:
    """The zigzag stage alone (coned filtration and reduction), simplices up to dimension 4."""

    params = ([1000, 3000], [6, 24])
    param_names = ["n_samples", "n_layers"]
    timeout = 300
    number = 1
    repeat = (1, 3, 30.0)
    warmup_time = 0

    def setup(self, n_samples, n_layers):
        complexes = [
            clique_complex(*knn_graph(x, 5), 4) for x in drifting_cloud(n_samples, n_layers)
        ]
        zigzag = layer_zigzag(complexes)
        keys = ("op_simplex", "op_insert", "simplex_dim", "facet_ptr", "facet_idx")
        self.args = [zigzag[key] for key in keys]
        run_zigzag(self.args[0][:0], self.args[1][:0], *self.args[2:])  # warm Numba

    def time_zigzag(self, n_samples, n_layers):
        run_zigzag(*self.args)
