"""DetachEnsembleClassifier: votes, channel relevance, BasicMotions."""

import numpy as np
import pytest

from skrepgeom.time_series import DetachEnsembleClassifier, DetachRocketClassifier
from skrepgeom.time_series._sktime import minirocket_feature_channels

# sktime's transforms emit pandas/numba FutureWarnings unrelated to these tests
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _channel_data(seed, n=60, channels=4, length=40, signal_channel=1):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.linspace(0, 1, length)
    X = rng.standard_normal((n, channels, length))
    X[:, signal_channel] += 1.5 * np.sin(2 * np.pi * (2 + 3 * y[:, None]) * t)
    return X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_channel_relevance_finds_signal_channel(seed):
    X, y = _channel_data(seed)
    ens = DetachEnsembleClassifier(n_estimators=5, n_kernels=840, random_state=seed).fit(X, y)
    rel = ens.channel_relevance_
    assert rel.shape == (4,)
    np.testing.assert_allclose(rel.sum(), 1.0)
    assert np.argmax(rel) == 1
    assert rel[1] >= 1.5 * np.max(np.delete(rel, 1))
    assert ens.channel_relevance_members_.shape == (5, 4)
    np.testing.assert_allclose(ens.channel_relevance_members_.sum(axis=1), 1.0)


def test_member_relevance_against_direct_computation():
    X, y = _channel_data(0, channels=3)
    ens = DetachEnsembleClassifier(n_estimators=2, n_kernels=168, random_state=0).fit(X, y)
    member = ens.estimators_[0]
    # independent: channel combinations straight from sktime's MiniRocket parameters
    n_ch, idx, _, n_feat, _ = member.transformer_.parameters
    starts = np.r_[0, np.cumsum(n_ch)]
    feature_comb = np.concatenate(
        [np.full(n_feat[d], d * 84 + k) for d in range(len(n_feat)) for k in range(84)]
    )
    coef = np.abs(np.atleast_2d(member.sfd_.estimator_.coef_)).max(axis=0)
    expected = np.zeros(3)
    for c, f in zip(coef, np.flatnonzero(member.sfd_.support_)):
        chans = idx[starts[feature_comb[f]] : starts[feature_comb[f] + 1]]
        expected[chans] += c / len(chans)
    np.testing.assert_allclose(ens.channel_relevance_members_[0], expected / expected.sum())
    comb, _ = minirocket_feature_channels(member.transformer_)
    assert comb.shape[0] == member.sfd_.n_features_in_


def test_votes_soft_and_hard():
    X, y = _channel_data(3, n=45, channels=2)
    y = np.arange(45) % 3
    soft = DetachEnsembleClassifier(n_estimators=3, n_kernels=168, random_state=0).fit(X, y)
    proba = soft.predict_proba(X)
    assert proba.shape == (45, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # independent vote count with the members' training accuracies as weights
    weights = np.array([m.score(X, y) for m in soft.estimators_])
    votes = np.zeros((45, 3))
    for m, w in zip(soft.estimators_, weights):
        votes[np.arange(45), m.predict(X)] += w
    np.testing.assert_allclose(proba, votes / votes.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(soft.predict(X), np.argmax(votes, axis=1))
    hard = DetachEnsembleClassifier(
        n_estimators=3, n_kernels=168, random_state=0, voting="hard"
    ).fit(X, y)
    np.testing.assert_allclose(hard.estimator_weights_, 1.0)
    # distinct member seeds
    seeds = {m.random_state for m in soft.estimators_}
    assert len(seeds) == 3


def test_basic_motions_ensemble():
    from sktime.datasets import load_basic_motions

    X_train, y_train = load_basic_motions(split="train", return_type="numpy3D")
    X_test, y_test = load_basic_motions(split="test", return_type="numpy3D")
    ens = DetachEnsembleClassifier(n_estimators=3, n_kernels=2_000, random_state=0)
    ens.fit(X_train, y_train)
    # measured 1.000 (40 test series); the floor allows one error
    assert ens.score(X_test, y_test) >= 0.97
    assert ens.channel_relevance_.shape == (6,)
    np.testing.assert_allclose(ens.channel_relevance_.sum(), 1.0)


def test_sfd_curve_display():
    from skrepgeom.time_series import SFDCurveDisplay

    X, y = _channel_data(0, channels=2)
    clf = DetachRocketClassifier(n_kernels=200, random_state=0).fit(X, y)
    display = SFDCurveDisplay.from_estimator(clf)
    sfd = clf.sfd_
    # x: number of features kept, on a log axis
    np.testing.assert_array_equal(display.lines_[0].get_xdata(), sfd.sizes_)
    np.testing.assert_allclose(display.lines_[0].get_ydata(), sfd.val_scores_ / sfd.val_scores_[0])
    np.testing.assert_allclose(display.lines_[1].get_ydata(), sfd.objective_)
    assert display.ax_.get_xscale() == "log"
    assert display.ax_.get_xlabel() == "Number of features kept"
    k = sfd.best_step_
    np.testing.assert_allclose(
        display.markers_["chosen"].get_offsets(),
        [[sfd.sizes_[k], sfd.val_scores_[k] / sfd.val_scores_[0]], [sfd.sizes_[k], sfd.objective_[k]]],
    )
    np.testing.assert_allclose(display.markers_["full"].get_offsets(), [[sfd.sizes_[0], 1.0]])
    assert display.figure_ is display.ax_.figure


@pytest.fixture(scope="module")
def small_ensemble():
    X, y = _channel_data(0, channels=2)
    return DetachEnsembleClassifier(n_estimators=2, n_kernels=84, random_state=0).fit(X, y)


def test_channel_relevance_display(small_ensemble):
    from skrepgeom.time_series import ChannelRelevanceDisplay, plot_channel_relevance

    ens = small_ensemble
    display = ChannelRelevanceDisplay.from_estimator(ens, channel_names=["a", "b"])
    np.testing.assert_allclose([p.get_height() for p in display.bars_], ens.channel_relevance_)
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["a", "b"]
    assert display.figure_ is display.ax_.figure
    with pytest.warns(FutureWarning, match="ChannelRelevanceDisplay"):
        ax = plot_channel_relevance(ens)
    np.testing.assert_allclose([p.get_height() for p in ax.patches], ens.channel_relevance_)


def test_displays_name_the_estimator_they_need(small_ensemble):
    from sklearn.exceptions import NotFittedError

    from skrepgeom.time_series import ChannelRelevanceDisplay, SFDCurveDisplay

    with pytest.raises(TypeError, match=r"DetachRocketClassifier.*estimators_\[0\]"):
        SFDCurveDisplay.from_estimator(small_ensemble)
    member = small_ensemble.estimators_[0]
    with pytest.raises(TypeError, match="needs a fitted DetachEnsembleClassifier.*got Detach"):
        ChannelRelevanceDisplay.from_estimator(member)
    with pytest.raises(ValueError, match="channel_names has 3 names.*2 channel"):
        ChannelRelevanceDisplay.from_estimator(small_ensemble, channel_names=["a", "b", "c"])
    with pytest.raises(NotFittedError):
        SFDCurveDisplay.from_estimator(DetachRocketClassifier())


def test_ensemble_input_options_and_messages():
    rng = np.random.default_rng(0)
    series = [rng.standard_normal((2, 20 + i % 5)) for i in range(24)]
    y = np.arange(24) % 2
    with pytest.raises(ValueError, match=r"DetachEnsembleClassifier pass unequal_length=\"pad\""):
        DetachEnsembleClassifier(n_estimators=2, n_kernels=84).fit(series, y)
    ens = DetachEnsembleClassifier(
        n_estimators=2, n_kernels=84, unequal_length="pad", random_state=0
    ).fit(series, y)
    assert ens.series_length_ == 24 and ens.n_channels_ == 2
    assert ens.predict(series).shape == (24,)
    X = rng.standard_normal((24, 2, 20))
    X[0, 1, 3] = np.nan
    with pytest.raises(ValueError, match=r"(?s)NaN.*DetachEnsembleClassifier"):
        DetachEnsembleClassifier(n_estimators=2, n_kernels=84).fit(X, y)
    with pytest.raises(ValueError, match="alphas"):
        DetachEnsembleClassifier(n_estimators=2, n_kernels=84, alphas=[-1.0]).fit(X, y)


def test_ensemble_n_jobs_rule():
    """k workers: members on one thread each; None: one worker, members keep None;
    None inside joblib.parallel_config(n_jobs=2): as n_jobs=2."""
    from joblib import parallel_config

    X, y = _channel_data(1, n=24, channels=2)
    params = dict(n_estimators=2, n_kernels=84, random_state=0)
    default = DetachEnsembleClassifier(**params).fit(X, y)
    assert [m.n_jobs for m in default.estimators_] == [None, None]
    with parallel_config(backend="threading", n_jobs=2):
        configured = DetachEnsembleClassifier(**params).fit(X, y)
    assert [m.n_jobs for m in configured.estimators_] == [1, 1]
    np.testing.assert_array_equal(configured.predict_proba(X), default.predict_proba(X))
    with pytest.raises(ValueError, match="n_jobs=0"):
        DetachEnsembleClassifier(**params, n_jobs=0).fit(X, y)


def test_shares_normalise_and_fall_back_to_uniform():
    from skrepgeom.time_series._ensemble import _shares

    np.testing.assert_allclose(_shares(np.array([1.0, 3.0])), [0.25, 0.75])
    np.testing.assert_allclose(_shares(np.zeros(4)), np.full(4, 0.25))
