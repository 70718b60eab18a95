"""Benchmarks of :mod:`skrepgeom.time_series` (Detach-ROCKET)."""

import warnings

import numpy as np

from skrepgeom.time_series import DetachRocketClassifier, SequentialFeatureDetachment


class SFDFit:
    """``SequentialFeatureDetachment`` on standard-normal n x 20,000 float32 (146 steps).

    ``n_splits=1`` times one detachment path, ``n_splits=5`` (the default) five.
    """

    params = ([250, 1000], [1, 5])
    param_names = ["n_samples", "n_splits"]
    timeout = 300
    number = 1
    repeat = (1, 3, 30.0)
    warmup_time = 0

    def setup(self, n_samples, n_splits):
        rng = np.random.default_rng(0)
        self.X = rng.standard_normal((n_samples, 20_000), dtype=np.float32)
        self.y = (self.X[:, 0] + self.X[:, 1] > 0).astype(int)

    def time_fit(self, n_samples, n_splits):
        SequentialFeatureDetachment(alphas=[1.0], n_splits=n_splits, random_state=0).fit(
            self.X, self.y
        )

    def peakmem_fit(self, n_samples, n_splits):
        SequentialFeatureDetachment(alphas=[1.0], n_splits=n_splits, random_state=0).fit(
            self.X, self.y
        )


class DetachRocketGunPoint:
    """``DetachRocketClassifier`` (ROCKET, 10,000 kernels, n_jobs=1) on GunPoint."""

    timeout = 300
    number = 1
    repeat = (1, 3, 30.0)
    warmup_time = 0

    def setup(self):
        warnings.filterwarnings("ignore")
        from sktime.datasets import load_gunpoint

        self.X_train, self.y_train = load_gunpoint(split="train", return_type="numpy3D")
        self.X_test, _ = load_gunpoint(split="test", return_type="numpy3D")
        self.fitted = DetachRocketClassifier(random_state=0, n_jobs=1).fit(
            self.X_train, self.y_train
        )
        self.fitted.predict(self.X_test)  # warm the Numba kernel

    def time_fit(self):
        DetachRocketClassifier(random_state=0, n_jobs=1).fit(self.X_train, self.y_train)

    def time_predict_pruned(self):
        self.fitted.predict(self.X_test)

    def track_pickle_bytes(self):
        import pickle

        return len(pickle.dumps(self.fitted))

    track_pickle_bytes.unit = "bytes"
