"""Displays of the topology area."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skrepgeom.topology import (  # noqa: E402
    PersistenceSimilarityDisplay,
    ZigzagBarcodeDisplay,
    ZigzagPersistenceSimilarity,
)


@pytest.fixture(scope="module")
def fitted(pinched):
    return ZigzagPersistenceSimilarity().fit(pinched)


def test_similarity_display_from_estimator(fitted):
    display = PersistenceSimilarityDisplay.from_estimator(fitted, dim=1)
    assert np.array_equal(display.image_.get_array(), fitted.similarity_[1])
    assert display.figure_ is display.ax_.figure
    assert display.pruned_layers.tolist() == [3, 4]
    normalized = PersistenceSimilarityDisplay.from_estimator(fitted, dim=1, normalize=True)
    assert np.allclose(normalized.image_.get_array(), fitted.normalized_similarity_[1])
    plt.close("all")


def test_similarity_display_on_given_axes():
    _, ax = plt.subplots()
    display = PersistenceSimilarityDisplay.from_matrix(np.eye(3), ax=ax)
    assert display.ax_ is ax
    with pytest.raises(ValueError, match="square"):
        PersistenceSimilarityDisplay.from_matrix(np.ones((2, 3)))
    plt.close("all")


def test_barcode_display(fitted):
    display = ZigzagBarcodeDisplay.from_estimator(fitted, dim=1)
    segments = display.bars_.get_segments()
    # Layer bars [0, 6) and [3, 6), sorted by first layer.
    assert [(s[0][0] + 0.4, s[1][0] + 0.6) for s in segments] == [(0, 6), (3, 6)]
    curve = display.betti_ax_.lines[0].get_ydata()
    assert curve.tolist() == fitted.betti_[1].tolist()
    shown = ZigzagBarcodeDisplay.from_estimator(fitted, dim=1, n_layers=3)
    assert len(shown.bars_.get_segments()) == 1
    with pytest.raises(ValueError, match="dim=3"):
        ZigzagBarcodeDisplay.from_estimator(fitted, dim=3)
    plt.close("all")
