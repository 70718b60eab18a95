import numpy as np
import pytest

from skrepgeom.robustness import ReconstructionDisplay, RobustnessCurveDisplay, robust_accuracy


def test_robustness_curve_from_estimator(digits, tiny_at):
    _, X_test, _, y_test = digits
    X, y = X_test[:60], y_test[:60]
    display = RobustnessCurveDisplay.from_estimator(tiny_at, X, y, [0.0, 0.1], steps=5,
                                                    random_state=0)
    expected = [tiny_at.score(X, y), robust_accuracy(tiny_at, X, y, eps=0.1, steps=5,
                                                     random_state=0)]
    np.testing.assert_allclose(display.line_.get_ydata(), expected)
    assert display.ax_.get_xlabel() == "eps"
    second = RobustnessCurveDisplay(eps_values=[0, 0.1], accuracies=[1, 0], estimator_name="x")
    second.plot(ax=display.ax_)
    assert len(display.ax_.lines) == 2 and display.figure_ is second.figure_


def test_reconstruction_display(digits, tiny_carso):
    _, X_test, _, _ = digits
    display = ReconstructionDisplay.from_estimator(tiny_carso, X_test[:3], n_reconstructions=2)
    assert display.axes_.shape == (3, 3)
    np.testing.assert_allclose(display.axes_[1, 0].images[0].get_array(),
                               X_test[1].reshape(8, 8))
    np.testing.assert_allclose(
        display.reconstructions[:, :, 0, 0],
        tiny_carso.sample_reconstructions(X_test[:3], n_reconstructions=2)[:, :, 0],
    )
    with pytest.raises(ValueError, match="image_shape"):
        ReconstructionDisplay.from_estimator(tiny_carso, X_test[:3], image_shape=(4, 4))
