"""Fits shared by the time-series tests: each data set and model is fitted once per session."""

import functools

import pytest


@functools.cache
def _load(name):
    """``(X_train, y_train, X_test, y_test)`` of a data set bundled with sktime."""
    from sktime import datasets

    loader = getattr(datasets, f"load_{name}")
    X_train, y_train = loader(split="train", return_type="numpy3D")
    X_test, y_test = loader(split="test", return_type="numpy3D")
    return X_train, y_train, X_test, y_test


@functools.cache
def _fitted(name, transformer, random_state, official_compat):
    from skrepgeom.time_series import DetachRocketClassifier

    X_train, y_train, _, _ = _load(name)
    return DetachRocketClassifier(
        transformer=transformer, random_state=random_state, official_compat=official_compat
    ).fit(X_train, y_train)


@pytest.fixture(scope="session")
def load_ucr():
    """``load_ucr(name)``: ``(X_train, y_train, X_test, y_test)`` of a bundled data set."""
    return _load


@pytest.fixture(scope="session")
def detach_fit():
    """``detach_fit(name, transformer, random_state=0, official_compat=False)``.

    A ``DetachRocketClassifier`` with its default 10,000 kernels fitted on the
    training split of a bundled data set, shared by every test that asks for it
    (callers must not modify it).
    """

    def fit(name, transformer, random_state=0, official_compat=False):
        return _fitted(name, transformer, random_state, official_compat)

    return fit
