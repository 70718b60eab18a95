"""Benchmarks of :class:`skrepgeom.neural_network.ForwardForwardClassifier`."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from skrepgeom.neural_network import ForwardForwardClassifier


def _digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


class ForwardForwardFit:
    """Greedy FF fit, 5 epochs per layer, on digits (1797 x 64), at 1 and 2 threads."""

    params = ([(64, 64), (500, 500, 500)], [1, 2])
    param_names = ["hidden_layer_sizes", "n_jobs"]
    timeout = 300

    def setup(self, hidden_layer_sizes, n_jobs):
        self.X, self.y = _digits()

    def time_fit(self, hidden_layer_sizes, n_jobs):
        ForwardForwardClassifier(
            hidden_layer_sizes=hidden_layer_sizes, max_epochs=5, n_jobs=n_jobs, random_state=0
        ).fit(self.X, self.y)

    def peakmem_fit(self, hidden_layer_sizes, n_jobs):
        ForwardForwardClassifier(
            hidden_layer_sizes=hidden_layer_sizes, max_epochs=5, n_jobs=n_jobs, random_state=0
        ).fit(self.X, self.y)


class ForwardForwardPredict:
    """Batched prediction of a 3 x 500 network on 10k rows x 64 features, 10 classes."""

    params = ([1, 2],)
    param_names = ["n_jobs"]
    timeout = 300

    def setup(self, n_jobs):
        X, y = _digits()
        self.clf = ForwardForwardClassifier(max_epochs=1, n_jobs=n_jobs, random_state=0).fit(X, y)
        rng = np.random.default_rng(0)
        self.X_big = X[rng.integers(0, X.shape[0], size=10_000)]

    def time_predict(self, n_jobs):
        self.clf.predict(self.X_big)

    def peakmem_predict(self, n_jobs):
        self.clf.predict(self.X_big)
