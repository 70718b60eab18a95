import numpy as np
import pytest
from sklearn.datasets import make_swiss_roll
from sklearn.exceptions import NotFittedError

from skrepgeom.dimension import (
    GrideDimension,
    IntrinsicDimensionScaleDisplay,
    TwoNNDimension,
    twonn_decimation,
)

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


@pytest.mark.parametrize("estimator", [TwoNNDimension(), TwoNNDimension().fit(X)])
def test_wrong_estimator_type_names_the_type_needed(estimator):
    with pytest.raises(TypeError, match="needs a fitted GrideDimension, got TwoNNDimension"):
        IntrinsicDimensionScaleDisplay.from_estimator(estimator)


@pytest.mark.parametrize(
    "scales", [[2.9, 3.3, 3.8, 4.2], [0.3, 0.5, 0.9, 1.6, 3.0], [0.01, 1.0, 100.0, 1000.0]]
)
def test_log_axis_labels_are_plain_numbers_that_do_not_overlap(scales):
    display = IntrinsicDimensionScaleDisplay(
        scales=scales, dimensions=np.full(len(scales), 2.0), errors=np.zeros(len(scales))
    ).plot()
    display.figure_.canvas.draw()
    low, high = display.ax_.get_xlim()
    labels = [
        label
        for label in display.ax_.xaxis.get_ticklabels(which="both")
        if label.get_text() and low <= label.get_position()[0] <= high
    ]
    assert labels
    for label in labels:
        # float() refuses "3x10^0", "$10^{0}$" and "1e-01"-style mathtext alike.
        assert float(label.get_text()) == pytest.approx(label.get_position()[0])
    boxes = sorted((label.get_window_extent() for label in labels), key=lambda box: box.x0)
    assert all(left.x1 <= right.x0 for left, right in zip(boxes, boxes[1:]))
