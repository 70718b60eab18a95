"""scikit-learn's estimator checks over every public skrepgeom estimator."""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

import skrepgeom
from skrepgeom.utils import all_displays, all_estimators
from skrepgeom.utils import estimator_checks as estimator_checks_module
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


def _check_name(check):
    return getattr(check, "func", check).__name__


def test_expected_failures_name_real_estimators_and_checks():
    # A misspelt estimator or check name in the table would silently expect nothing.
    estimators = {type(estimator).__name__: estimator for estimator in estimator_instances()}
    table = estimator_checks_module._EXPECTED_FAILURES
    assert set(table) <= set(estimators)
    assert set(fast_setting_reasons()) <= set(estimators)
    for name, failures in table.items():
        checks = {
            _check_name(check)
            for _, check in estimator_checks_generator(estimators[name], mark="skip")
        }
        assert set(failures) <= checks, name


def test_expected_failed_checks_reads_the_table(monkeypatch):
    monkeypatch.setitem(
        estimator_checks_module._EXPECTED_FAILURES,
        "TwoNNDimension",
        {"check_fit2d_1sample": "A placeholder reason that this test puts in the table."},
    )
    (twonn,) = [e for e in estimator_instances() if type(e).__name__ == "TwoNNDimension"]
    assert list(expected_failed_checks(twonn)) == ["check_fit2d_1sample"]
    assert "check_fit2d_1sample" in _all_reasons()


def test_dimension_estimators_need_no_expected_failure():
    names = [type(e).__name__ for e in estimator_instances()]
    assert {"TwoNNDimension", "GrideDimension"} <= set(names)
    for estimator in estimator_instances():
        if type(estimator).__name__ in ("TwoNNDimension", "GrideDimension"):
            assert expected_failed_checks(estimator) == {}


def _all_reasons():
    """``{where: reason}`` of every fast setting and expected failure."""
    reasons = {f"fast setting {name}": r for name, r in fast_setting_reasons().items()}
    for estimator in estimator_instances():
        for check, reason in expected_failed_checks(estimator).items():
            reasons[check] = reason
    return reasons


def _is_sentence(text):
    return (
        isinstance(text, str)
        and len(text.split()) >= 6
        and text[0].isupper()
        and text.rstrip().endswith(".")
    )


def test_every_reason_is_a_sentence():
    bad = {where: reason for where, reason in _all_reasons().items() if not _is_sentence(reason)}
    assert not bad


def test_a_placeholder_reason_is_caught(monkeypatch):
    # The table is empty for most estimators: prove that a bad entry would be found.
    monkeypatch.setitem(
        estimator_checks_module._EXPECTED_FAILURES, "GrideDimension", {"check_fit2d_1sample": "todo"}
    )
    reasons = _all_reasons()
    assert reasons["check_fit2d_1sample"] == "todo"
    assert not _is_sentence(reasons["check_fit2d_1sample"])


def test_sentence_detector_rejects_placeholders():
    assert not _is_sentence("todo")
    assert not _is_sentence("")
    assert _is_sentence("The check fits on one sample, which this method cannot use.")


_TRANSFORMERS = [e for e in estimator_instances() if hasattr(e, "transform")]


@pytest.mark.parametrize("estimator", _TRANSFORMERS, ids=lambda e: type(e).__name__)
def test_set_output_pandas_in_a_pipeline(estimator):
    """Every transformer names its output columns, so pandas output works in a Pipeline."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    # Two classes of 2-D rows: tabular data, or univariate series for the time-series
    # estimators; distinct rows, as the distance-based estimators need.
    y = np.repeat([0, 1], 30)
    X = rng.normal(size=(60, 24)) + np.linspace(0, 3, 24) * y[:, None]
    pipeline = make_pipeline(StandardScaler(), clone(estimator)).set_output(transform="pandas")
    out = pipeline.fit(X, y).transform(X)
    assert isinstance(out, pd.DataFrame)
    expected = pipeline[-1].get_feature_names_out()
    assert list(out.columns) == list(expected)
    assert out.shape[0] == X.shape[0]
