import pytest
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

from skrepgeom.utils._plotting import check_display_estimator


def test_wrong_type_is_named_with_the_expected_ones():
    with pytest.raises(TypeError, match=r"D.from_estimator needs a fitted PCA or Ridge, got str; x\."):
        check_display_estimator("D", "nope", (PCA, Ridge), hint="; x")


def test_unfitted_estimator_of_the_right_type():
    with pytest.raises(NotFittedError):
        check_display_estimator("D", PCA(), PCA, "components_")


def test_fitted_estimator_passes():
    check_display_estimator("D", PCA(1).fit([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]]), PCA, "components_")


@pytest.mark.parametrize(
    "display, wrong",
    [
        ("skrepgeom.cluster:PeakDendrogramDisplay", PCA()),
        ("skrepgeom.topology:PersistenceSimilarityDisplay", PCA()),
        ("skrepgeom.topology:ZigzagBarcodeDisplay", PCA()),
        ("skrepgeom.decomposition:TrainingHistoryDisplay", PCA()),
    ],
)
def test_every_display_names_the_estimator_it_needs(display, wrong):
    from importlib import import_module

    module, name = display.split(":")
    cls = getattr(import_module(module), name)
    with pytest.raises(TypeError, match=f"{name}.from_estimator needs a fitted .*, got PCA"):
        cls.from_estimator(wrong)
