"""scikit-learn's estimator checks over every public skrepgeom estimator."""

import importlib
import inspect
import pkgutil

import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import skrepgeom
from skrepgeom.utils import all_displays, all_estimators
from skrepgeom.utils.estimator_checks import (
    estimator_instances,
    expected_failed_checks,
    fast_setting_reasons,
)


@parametrize_with_checks(
    estimator_instances(), expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_all_estimators_contains_dimension_estimators():
    names = dict(all_estimators())
    assert {"TwoNNDimension", "GrideDimension"} <= set(names)
    assert dict(all_estimators("transformer")).keys() >= {"TwoNNDimension"}
    assert "GrideDimension" not in dict(all_estimators("transformer"))


def test_all_estimators_rejects_unknown_type():
    with pytest.raises(ValueError, match="type_filter"):
        all_estimators("spaceship")


def test_all_displays():
    assert "IntrinsicDimensionScaleDisplay" in dict(all_displays())


def _area_exports():
    for info in pkgutil.iter_modules(skrepgeom.__path__):
        if info.name.startswith("_") or not info.ispkg:
            continue
        module = importlib.import_module(f"skrepgeom.{info.name}")
        for name in getattr(module, "__all__", []):
            yield f"skrepgeom.{info.name}", name, getattr(module, name)


def test_every_exported_estimator_is_discovered():
    found = dict(all_estimators())
    exported = [
        (area, name)
        for area, name, obj in _area_exports()
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator)
    ]
    assert exported, "no area exports an estimator"
    missing = [(area, name) for area, name in exported if name not in found]
    assert not missing


def test_top_level_exports_only_version_and_show_versions():
    assert sorted(skrepgeom.__all__) == ["__version__", "show_versions"]


def test_dimension_estimators_need_no_expected_failure():
    for estimator in estimator_instances():
        if type(estimator).__name__ in ("TwoNNDimension", "GrideDimension"):
            assert expected_failed_checks(estimator) == {}


def _is_sentence(text):
    return (
        isinstance(text, str)
        and len(text.split()) >= 6
        and text[0].isupper()
        and text.rstrip().endswith(".")
    )


def test_every_reason_is_a_sentence():
    reasons = list(fast_setting_reasons().values())
    for estimator in estimator_instances():
        reasons.extend(expected_failed_checks(estimator).values())
    bad = [reason for reason in reasons if not _is_sentence(reason)]
    assert not bad


def test_sentence_detector_rejects_placeholders():
    assert not _is_sentence("todo")
    assert not _is_sentence("")
    assert _is_sentence("The check fits on one sample, which this method cannot use.")
