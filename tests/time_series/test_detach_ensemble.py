"""DetachEnsembleClassifier: votes, channel relevance, BasicMotions."""

import warnings

import numpy as np
import pytest

from skrepgeom.time_series import DetachEnsembleClassifier, DetachRocketClassifier
from skrepgeom.time_series._ensemble import minirocket_feature_channels

warnings.filterwarnings("ignore", category=FutureWarning)


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
    ens = DetachEnsembleClassifier(n_estimators=5, random_state=0).fit(X_train, y_train)
    assert ens.score(X_test, y_test) >= 0.95
    assert ens.channel_relevance_.shape == (6,)
    np.testing.assert_allclose(ens.channel_relevance_.sum(), 1.0)


def test_displays():
    import matplotlib

    matplotlib.use("Agg")
    from skrepgeom.time_series import SFDCurveDisplay, plot_channel_relevance

    X, y = _channel_data(0, channels=2)
    clf = DetachRocketClassifier(n_kernels=200, random_state=0).fit(X, y)
    display = SFDCurveDisplay.from_estimator(clf)
    sfd = clf.sfd_
    np.testing.assert_allclose(display.lines_[0].get_xdata(), 1 - sfd.sizes_ / sfd.sizes_[0])
    np.testing.assert_allclose(display.lines_[1].get_ydata(), sfd.objective_)
    ens = DetachEnsembleClassifier(n_estimators=2, n_kernels=84, random_state=0).fit(X, y)
    ax = plot_channel_relevance(ens, channel_names=["a", "b"])
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, ens.channel_relevance_)


def test_shares_normalise_and_fall_back_to_uniform():
    from skrepgeom.time_series._ensemble import _shares

    np.testing.assert_allclose(_shares(np.array([1.0, 3.0])), [0.25, 0.75])
    np.testing.assert_allclose(_shares(np.zeros(4)), np.full(4, 0.25))
