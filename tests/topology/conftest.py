"""Shared data of the topology tests."""

import numpy as np
import pytest


def pinched_circle(noise=0.01, jitter=0.003, n=200, n_layers=6, seed=0):
    """A circle pinched into two loops over the layers: (n, n_layers, 2)."""
    rng = np.random.default_rng(seed)
    theta = 2 * np.pi * (np.arange(n) + rng.uniform(-0.3, 0.3, n)) / n
    point_noise = noise * rng.standard_normal((n, 2))
    c = np.cos(theta)
    layers = []
    for layer in range(n_layers):
        s = layer / (n_layers - 1)
        x = c * (1 + 0.3 * s) + 0.35 * s * np.tanh(c / 0.05)
        y = np.sin(theta) * (1 - min(1.0, 1.6 * s) * np.exp(-((c / 0.3) ** 2)))
        layers.append(np.c_[x, y] + point_noise + jitter * rng.standard_normal((n, 2)))
    return np.stack(layers, axis=1)


def drifting_cloud(n, n_layers, n_features=32, step=0.3, seed=0):
    """X_0 ~ N(0, I), X_{l+1} = X_l + step * N(0, I): a list of layers."""
    rng = np.random.default_rng(seed)
    layers = [rng.standard_normal((n, n_features))]
    for _ in range(n_layers - 1):
        layers.append(layers[-1] + step * rng.standard_normal((n, n_features)))
    return layers


@pytest.fixture(scope="session")
def pinched():
    return pinched_circle()
