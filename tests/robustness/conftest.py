"""One torch thread for the robustness tests: their networks are tiny, and on a
shared 2-core machine intra-op threads cost more in synchronisation than they save."""

import pytest

from skrepgeom.utils._torch import torch_threads


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    with torch_threads(1):
        yield


import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """Digits scaled to [0, 1], stratified 70/30 split with random_state=0 (540 test)."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="session")
def tiny_at(digits):
    from skrepgeom.robustness import AdversarialTrainingClassifier

    X_train, _, y_train, _ = digits
    return AdversarialTrainingClassifier(
        hidden_layer_sizes=(32, 32), eps=0.1, attack_steps=3, max_epochs=4, learning_rate=0.01,
        random_state=0,
    ).fit(X_train, y_train)


TINY_CARSO = dict(
    cond_dim=8, latent_dim=4, purifier_hidden=32, purifier_pgd_steps=2, max_epochs=3,
    n_reconstructions=4, eps=0.1, random_state=0,
)


@pytest.fixture(scope="session")
def tiny_carso(digits, tiny_at):
    from skrepgeom.robustness import CARSOClassifier

    X_train, _, y_train, _ = digits
    return CARSOClassifier(classifier=FrozenEstimator(tiny_at), **TINY_CARSO).fit(
        X_train, y_train
    )
