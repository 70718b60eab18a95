"""Benchmarks of the robustness area: AT and CARSO fits, CARSO predict, PGD-EOT evaluation."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator

from skrepgeom.robustness import AdversarialTrainingClassifier, CARSOClassifier, robust_accuracy


def _digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


class AdversarialTrainingFit:
    """PGD-10 adversarial training, 5 epochs, on digits (1797 x 64)."""

    params = ([1, 2],)
    param_names = ["n_jobs"]
    timeout = 300

    def setup(self, n_jobs):
        self.X, self.y = _digits()

    def time_fit(self, n_jobs):
        AdversarialTrainingClassifier(max_epochs=5, n_jobs=n_jobs, random_state=0).fit(
            self.X, self.y
        )


class CARSO:
    """Purifier fit (5 epochs), predict of 360 samples (K=8) and PGD-10 EOT-8 evaluation."""

    params = ([1, 2],)
    param_names = ["n_jobs"]
    timeout = 600

    def setup(self, n_jobs):
        self.X, self.y = _digits()
        at = AdversarialTrainingClassifier(max_epochs=2, n_jobs=n_jobs, random_state=0).fit(
            self.X, self.y
        )
        self.frozen = FrozenEstimator(at)
        self.carso = CARSOClassifier(classifier=self.frozen, max_epochs=2, purifier_pgd_steps=5,
                                     n_jobs=n_jobs, random_state=0).fit(self.X, self.y)
        self.n_jobs = n_jobs

    def time_purifier_fit(self, n_jobs):
        CARSOClassifier(classifier=self.frozen, max_epochs=5, purifier_pgd_steps=10,
                        n_jobs=n_jobs, random_state=0).fit(self.X, self.y)

    def time_predict(self, n_jobs):
        self.carso.predict(self.X[:360])

    def time_robust_accuracy(self, n_jobs):
        robust_accuracy(self.carso, self.X[:180], self.y[:180], eps=0.2, steps=10,
                        eot_samples=8, surrogates=["mean_logit"], losses=("ce",),
                        random_state=0)
