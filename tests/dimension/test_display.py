import numpy as np
import pytest
from sklearn.datasets import make_swiss_roll
from sklearn.exceptions import NotFittedError

from skrepgeom.dimension import GrideDimension, IntrinsicDimensionScaleDisplay, twonn_decimation

X = make_swiss_roll(1000, random_state=0)[0]


def test_from_estimator_plots_the_estimates():
    import matplotlib.pyplot as plt

    gride = GrideDimension(range_max=32).fit(X)
    _, ax = plt.subplots()
    display = IntrinsicDimensionScaleDisplay.from_estimator(gride, ax=ax, xscale="linear")
    assert display.ax_ is ax and display.figure_ is ax.figure
    line = display.errorbar_.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), gride.scales_)
    np.testing.assert_array_equal(line.get_ydata(), gride.dimensions_)
    assert ax.get_xscale() == "linear"


def test_from_decimation_uses_twonn_decimation():
    display = IntrinsicDimensionScaleDisplay.from_decimation(X, random_state=0, n_min=50)
    expected = twonn_decimation(X, random_state=0, n_min=50)
    np.testing.assert_array_equal(display.errorbar_.lines[0].get_ydata(), expected.dimensions)
    assert display.ax_.get_xscale() == "log"


def test_unfitted_estimator():
    with pytest.raises(NotFittedError):
        IntrinsicDimensionScaleDisplay.from_estimator(GrideDimension())
