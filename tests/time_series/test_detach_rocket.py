"""DetachRocketClassifier: sktime features, pruned Numba transform, input handling."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skrepgeom.time_series import DetachRocketClassifier
from skrepgeom.time_series._kernels import kernel_offsets, rocket_transform_subset

# sktime's transforms emit pandas/numba FutureWarnings unrelated to these tests
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _toy(n=40, channels=1, length=50, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    t = np.linspace(0, 1, length)
    X = 0.3 * rng.standard_normal((n, channels, length))
    X[:, 0, :] += np.sin(2 * np.pi * (2 + 2 * y[:, None]) * t)
    return X, y


@pytest.mark.parametrize("channels", [1, 3])
def test_features_equal_sktime_rocket_and_pruned_kernel(channels):
    from sktime.transformations.rocket import Rocket

    X, y = _toy(channels=channels)
    clf = DetachRocketClassifier(n_kernels=300, random_state=7).fit(X, y)
    ref = Rocket(num_kernels=300, random_state=7).fit_transform(X).to_numpy(np.float32)
    np.testing.assert_array_equal(clf._full_features(np.ascontiguousarray(X)), ref)
    X_new, _ = _toy(n=12, channels=channels, seed=3)
    full = Rocket(num_kernels=300, random_state=7).fit(X).transform(X_new).to_numpy()
    pruned = clf._selected_features(np.ascontiguousarray(X_new))
    np.testing.assert_allclose(pruned, full[:, clf.sfd_.support_], rtol=1e-5, atol=1e-5)
    assert clf.n_kernels_used_ == len(np.unique(np.flatnonzero(clf.sfd_.support_) // 2))
    # the pruned and the full route give the same predictions
    unpruned = clone(clf).set_params(prune_transform=False).fit(X, y)
    assert unpruned.n_kernels_used_ == 300
    np.testing.assert_allclose(
        unpruned.decision_function(X_new), clf.decision_function(X_new), rtol=1e-5, atol=1e-6
    )


def test_transform_is_scaled_selected_sktime_features():
    """transform = sktime features, standardised on the training rows, selected columns."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.preprocessing import StandardScaler
    from sktime.transformations.rocket import Rocket

    X, y = _toy(n_classes=3)
    clf = DetachRocketClassifier(n_kernels=200, random_state=5).fit(X, y)
    rocket = Rocket(num_kernels=200, random_state=5).fit(X)
    train = rocket.transform(X).to_numpy(np.float32)
    scaler = StandardScaler().fit(train)
    X_new, _ = _toy(n=9, n_classes=3, seed=11)
    expected = scaler.transform(rocket.transform(X_new).to_numpy(np.float32).astype(np.float64))
    expected[:, np.ptp(train, axis=0) == 0] = 0.0  # constant columns carry nothing
    support = clf.sfd_.support_
    assert support.sum() == clf.n_features_selected_
    np.testing.assert_allclose(clf.transform(X_new), expected[:, support], rtol=1e-4, atol=1e-4)
    # the final ridge refitted by hand on the same columns gives the same decisions
    train_scaled = scaler.transform(train.astype(np.float64))
    train_scaled[:, np.ptp(train, axis=0) == 0] = 0.0
    ridge = RidgeClassifier(alpha=clf.sfd_.alpha_).fit(train_scaled[:, support], y)
    np.testing.assert_allclose(
        clf.decision_function(X_new), ridge.decision_function(expected[:, support]),
        rtol=1e-3, atol=1e-3,
    )


def test_numba_kernel_against_sktime_apply_kernels():
    from sktime.transformations.rocket._rocket_numba import _apply_kernels, _generate_kernels

    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 2, 40)).astype(np.float32)
    kernels = _generate_kernels(40, 200, 2, 1)
    ref = _apply_kernels(X, kernels)
    subset = np.sort(rng.choice(200, 37, replace=False)).astype(np.int64)
    offsets = kernel_offsets(kernels[1], kernels[5])
    out = rocket_transform_subset(X, *kernels, *offsets, subset)
    cols = np.ravel(np.c_[2 * subset, 2 * subset + 1])
    np.testing.assert_allclose(out, ref[:, cols], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "transformer",
    # sktime's MultiRocket Numba functions take minutes to compile in a fresh environment
    ["minirocket", pytest.param("multirocket", marks=pytest.mark.slow)],
)
def test_other_transformers_equal_sktime(transformer):
    from sktime.transformations.rocket import MiniRocketMultivariate, MultiRocketMultivariate

    X, y = _toy(channels=2, n_classes=3, n=45)
    clf = DetachRocketClassifier(transformer=transformer, n_kernels=168, random_state=1).fit(X, y)
    if transformer == "minirocket":
        ref = MiniRocketMultivariate(num_kernels=168, random_state=1)
    else:
        ref = MultiRocketMultivariate(num_kernels=168, random_state=1, normalise=True)
    expected = ref.fit_transform(X).to_numpy(np.float32)
    np.testing.assert_array_equal(clf._full_features(np.ascontiguousarray(X)), expected)
    assert clf.decision_function(X).shape == (45, 3)
    assert clf.predict(X).shape == (45,)


def test_string_labels_binary_decision_pickle_clone():
    X, y = _toy()
    labels = np.array(["a", "b"])[y]
    clf = DetachRocketClassifier(n_kernels=200, random_state=0).fit(X[:, 0, :], labels)
    assert clf.decision_function(X[:, 0, :]).shape == (40,)
    assert set(clf.predict(X[:, 0, :])) <= {"a", "b"}
    assert clf.score(X[:, 0, :], labels) > 0.9
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    cloned = clone(clf)
    assert not hasattr(cloned, "sfd_")
    assert clf.transform(X).shape == (40, clf.n_features_selected_)


def test_short_series_are_padded_to_nine():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = (X[:, 0] > 0).astype(int)
    clf = DetachRocketClassifier(transformer="minirocket", n_kernels=84, random_state=0).fit(X, y)
    assert clf.series_length_ == 9
    assert clf.predict(X).shape == (30,)


def test_unequal_lengths():
    rng = np.random.default_rng(0)
    series = [rng.standard_normal(20 + i % 7) for i in range(30)]
    y = np.arange(30) % 2
    with pytest.raises(ValueError, match=r"min 20, max 26.*unequal_length=\"pad\""):
        DetachRocketClassifier(n_kernels=100).fit(series, y)
    clf = DetachRocketClassifier(n_kernels=100, unequal_length="pad", random_state=0)
    clf.fit(series, y)
    assert clf.series_length_ == 26
    padded = np.zeros((30, 26))
    for i, s in enumerate(series):
        padded[i, : len(s)] = s
    np.testing.assert_allclose(clf.decision_function(series), clf.decision_function(padded))
    with pytest.warns(UserWarning, match="truncated"):
        clf.predict([rng.standard_normal(40), rng.standard_normal(10)])
    with pytest.warns(UserWarning, match="truncated"):
        clf.predict(rng.standard_normal((3, 40)))


def test_bad_inputs_raise():
    X, y = _toy(channels=2)
    clf = DetachRocketClassifier(n_kernels=100, random_state=0)
    with pytest.raises(ValueError, match="2-D .* or 3-D"):
        clf.fit(X[0, 0], y[:50])
    with pytest.raises(ValueError, match="2-D .* or 3-D"):
        clf.fit(X[:, :, :, None], y)
    X_nan = X.copy()
    X_nan[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity|NaN"):
        clf.fit(X_nan, y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="3 channel.*2 channel"):
        clf.predict(np.zeros((2, 3, 50)))
    with pytest.raises(ValueError, match="length 40.*length 50"):
        clf.predict(np.zeros((2, 2, 40)))
    y_bad = y.copy()
    y_bad[:] = 0
    y_bad[0] = 1
    with pytest.raises(ValueError, match="validation_fraction"):
        DetachRocketClassifier(n_kernels=100).fit(X, y_bad)


@pytest.mark.parametrize(
    "params",
    [
        dict(transformer="minirocket", n_kernels=50),
        dict(transformer="hydra"),
        dict(drop_fraction=1.5),
        dict(smoothing=4),
        dict(fixed_fraction=0.0),
        dict(trade_off=-1.0),
        dict(alphas=[-1.0, 1.0]),
        dict(alphas=[0.0]),
    ],
)
def test_invalid_parameters(params):
    X, y = _toy()
    with pytest.raises(InvalidParameterError):
        DetachRocketClassifier(**params).fit(X, y)


def test_custom_transformer_object():
    from sktime.transformations.rocket import Rocket

    X, y = _toy()
    clf = DetachRocketClassifier(transformer=Rocket(num_kernels=100, random_state=0)).fit(X, y)
    assert clf.transformer_ is not clf.transformer
    assert clf.score(X, y) > 0.9


def test_reselect_keeps_pruning_consistent():
    X, y = _toy()
    clf = DetachRocketClassifier(
        n_kernels=200, random_state=0, store_training_features=True
    ).fit(X, y)
    clf.reselect(fixed_fraction=0.2)
    assert clf.n_features_selected_ == clf.sfd_.n_features_selected_
    full = clf._full_features(np.ascontiguousarray(X))[:, clf.sfd_.support_]
    np.testing.assert_allclose(clf._selected_features(np.ascontiguousarray(X)), full, atol=1e-5)


def test_numba_threads_restored_and_verbose(capsys, monkeypatch):
    from numba import get_num_threads

    from skrepgeom.time_series import _rocket

    notices = []
    monkeypatch.setattr(
        _rocket, "compilation_notice", lambda verbose, *d: notices.append((verbose, d))
    )
    X, y = _toy()
    before = get_num_threads()
    clf = DetachRocketClassifier(n_kernels=100, random_state=0, n_jobs=1, verbose=1).fit(X, y)
    clf.predict(X)
    assert get_num_threads() == before
    err = capsys.readouterr().err
    # progress over the transformed series (the slow part) and over the SFD steps
    assert "transform (series)" in err and "SFD steps" in err
    assert err.index("transform (series)") < err.index("SFD steps")
    # one compilation notice, naming sktime's ROCKET kernel and our pruned one
    from sktime.transformations.rocket._rocket_numba import _apply_kernels

    assert len(notices) == 1 and notices[0][0] == 1
    assert _apply_kernels in notices[0][1] and rocket_transform_subset in notices[0][1]
    # the chunked transform behind the progress bar gives the same features
    quiet = DetachRocketClassifier(n_kernels=100, random_state=0, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(quiet.sfd_.support_, clf.sfd_.support_)
    np.testing.assert_array_equal(quiet.decision_function(X), clf.decision_function(X))


def test_n_jobs_rule():
    """None changes no pool (sktime gets Numba's current thread count, the selector
    BLAS's default apart from its documented small-problem rule); k drives both."""
    from numba import get_num_threads

    X, y = _toy()
    default = DetachRocketClassifier(n_kernels=100, random_state=0).fit(X, y)
    assert default.transformer_.n_jobs == get_num_threads()
    assert default.sfd_.n_jobs is None
    one = DetachRocketClassifier(n_kernels=100, random_state=0, n_jobs=1).fit(X, y)
    assert one.transformer_.n_jobs == 1 and one.sfd_.n_jobs == 1
    np.testing.assert_array_equal(one.decision_function(X), default.decision_function(X))
    with pytest.raises(ValueError, match="n_jobs=0"):
        DetachRocketClassifier(n_kernels=100, n_jobs=0).fit(X, y)


def test_selector_blas_threads_follow_n_jobs(monkeypatch):
    from skrepgeom.time_series import SequentialFeatureDetachment, _sfd

    limits = []
    original = _sfd.blas_threads
    monkeypatch.setattr(_sfd, "blas_threads", lambda n: limits.append(n) or original(n))
    rng = np.random.default_rng(0)
    for n_rows, n_jobs, expected in [(60, None, 1), (400, None, None), (60, 2, 2), (400, 1, 1)]:
        X = rng.standard_normal((n_rows, 30))
        y = (X[:, 0] > 0).astype(int)
        limits.clear()
        SequentialFeatureDetachment(n_jobs=n_jobs, random_state=0).fit(X, y)
        assert limits == [expected]


def test_pandas_output_in_a_pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _toy()
    X2 = X[:, 0, :]
    clf = DetachRocketClassifier(n_kernels=100, random_state=0)
    pipe = make_pipeline(StandardScaler(), clf).set_output(transform="pandas")
    pipe.fit(X2, y)
    assert pipe.predict(X2).shape == (40,)
    fitted = pipe[-1]
    names = fitted.get_feature_names_out()
    assert names.shape == (fitted.n_features_selected_,)
    np.testing.assert_array_equal(
        names, [f"detachrocketclassifier{j}" for j in np.flatnonzero(fitted.sfd_.support_)]
    )
    scaled = pipe[:-1].transform(X2)
    frame = fitted.transform(scaled)
    assert list(frame.columns) == list(names)
    np.testing.assert_allclose(
        frame.to_numpy(), fitted.set_output(transform="default").transform(scaled)
    )
    # and as a transformer inside a pipeline
    chained = make_pipeline(
        DetachRocketClassifier(n_kernels=100, random_state=0), LogisticRegression()
    ).set_output(transform="pandas")
    assert chained.fit(X2, y).score(X2, y) > 0.9


def test_nested_univ_frames_are_converted_by_sktime():
    from sktime.datatypes import convert_to

    X, y = _toy(channels=2)
    nested = convert_to(X, to_type="nested_univ")
    clf = DetachRocketClassifier(n_kernels=100, random_state=0).fit(nested, y)
    ref = DetachRocketClassifier(n_kernels=100, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.decision_function(nested), ref.decision_function(X))
    assert clf.n_channels_ == 2


def test_pickle_size_does_not_grow_with_training_size():
    """The default model keeps no training features: same pickle at 40 and 240 series."""
    sizes = []
    for n in (40, 240):
        X, y = _toy(n=n)
        clf = DetachRocketClassifier(n_kernels=500, random_state=0).fit(X, y)
        sizes.append(len(pickle.dumps(clf)))
    assert abs(sizes[1] - sizes[0]) < 0.05 * sizes[0]


def test_reselect_without_stored_features_says_how_to_enable():
    X, y = _toy()
    clf = DetachRocketClassifier(n_kernels=100, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="store_training_features=True"):
        clf.reselect(trade_off=0.5)


def test_random_state_is_passed_unchanged_to_sktime():
    X, y = _toy()
    a = DetachRocketClassifier(n_kernels=100, random_state=5).fit(X, y)
    b = DetachRocketClassifier(n_kernels=100, random_state=5).fit(X, y)
    assert a.transformer_.random_state == 5
    np.testing.assert_array_equal(a.sfd_.support_, b.sfd_.support_)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))


def test_bad_smoothing_and_alphas_rejected_before_the_transform(monkeypatch):
    from sklearn.utils._param_validation import InvalidParameterError

    from skrepgeom.time_series import DetachEnsembleClassifier, DetachRocketClassifier
    from skrepgeom.time_series import _rocket

    def no_transform(*args, **kwargs):
        raise AssertionError("the transform ran before the parameter check")

    monkeypatch.setattr(_rocket, "make_transformer", no_transform)
    monkeypatch.setattr(_rocket, "full_features", no_transform)
    X = np.random.default_rng(0).normal(size=(12, 1, 20))
    y = np.arange(12) % 2
    for bad, message in ((dict(smoothing=4), "odd"), (dict(alphas=[-1.0]), "positive")):
        for estimator in (
            DetachRocketClassifier(transformer="minirocket", n_kernels=84, **bad),
            DetachEnsembleClassifier(n_estimators=2, n_kernels=84, **bad),
        ):
            with pytest.raises(InvalidParameterError, match=message):
                estimator.fit(X, y)


def test_selector_parameters_have_one_source():
    """Signature defaults, constraints and docstring entries of the shared selector
    parameters all come from the one table."""
    import inspect

    from skrepgeom.time_series import DetachEnsembleClassifier, SequentialFeatureDetachment
    from skrepgeom.time_series._parameters import SELECTOR_PARAMETERS

    for cls in (SequentialFeatureDetachment, DetachRocketClassifier, DetachEnsembleClassifier):
        signature = inspect.signature(cls)
        names = [n for n in SELECTOR_PARAMETERS if n in signature.parameters]
        expected = set(SELECTOR_PARAMETERS) - (
            {"store_training_features"} if cls is DetachEnsembleClassifier else set()
        )
        assert set(names) == expected
        for name in names:
            parameter = SELECTOR_PARAMETERS[name]
            assert signature.parameters[name].default == parameter.default
            assert signature.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
            assert cls._parameter_constraints[name] is parameter.constraints
            assert f"    {name} : {parameter.kind}, default=" in cls.__doc__
        assert "{selector_parameters}" not in cls.__doc__
        estimator = cls(trade_off=0.5)
        assert estimator.get_params()["trade_off"] == 0.5
        assert clone(estimator).trade_off == 0.5
