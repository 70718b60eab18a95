import math
import pickle
import struct

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skrepgeom.robustness import (
    AdversarialTrainingClassifier,
    CARSOClassifier,
    make_robust_scorer,
    pgd,
)
from skrepgeom.robustness._carso import row_latents, tap_outputs

from .conftest import TINY_CARSO


def _peel_reference(logits):
    s = np.exp(logits.astype(np.float64)).sum(axis=2)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return np.log(e / e.sum(axis=1, keepdims=True))


def _row_draws_reference(row, seed, k, latent_dim):
    """Prior draws of one row, from the documented scheme, in plain Python integers."""
    mask, golden = 2**64 - 1, 0x9E3779B97F4A7C15

    def mix(h):  # SplitMix64 finaliser
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & mask
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & mask
        return h ^ (h >> 31)

    key = 0
    for j, value in enumerate(np.asarray(row, dtype=np.float64)):
        bits = struct.unpack("<Q", struct.pack("<d", value))[0]
        key ^= mix((bits + (j + 1) * golden) & mask)
    key = mix(key ^ mix(seed))
    size = k * latent_dim
    u = [((mix((key + (i + 1) * golden) & mask) >> 11) + 0.5) * 2.0**-53
         for i in range(2 * size)]
    z = [math.sqrt(-2 * math.log(u[i])) * math.cos(2 * math.pi * u[size + i])
         for i in range(size)]
    return np.array(z).reshape(k, latent_dim)


def test_default_taps_are_the_hidden_pre_activations(digits, tiny_carso, tiny_at):
    _, X_test, _, _ = digits
    assert tiny_carso.representation_layers_ == ("0", "2")
    net = tiny_at.module_
    x = torch.as_tensor(X_test[:5])
    taps = tap_outputs(net, ["0", "2"], x)
    with torch.no_grad():
        pre0 = x @ net[0].weight.T + net[0].bias
        pre1 = torch.relu(pre0) @ net[2].weight.T + net[2].bias
    torch.testing.assert_close(taps[0], pre0)
    torch.testing.assert_close(taps[1], pre1)
    # every hook is gone and the mode restored
    assert all(not m._forward_hooks for m in net.modules())
    assert not net.training


def test_predictions_use_peel_over_f_on_reconstructions(digits, tiny_carso, tiny_at):
    _, X_test, _, _ = digits
    X = X_test[:20]
    k = tiny_carso.n_reconstructions
    z = np.stack([_row_draws_reference(row, tiny_carso._inference_seed, k,
                                       tiny_carso.latent_dim) for row in X], axis=1)
    z = torch.as_tensor(z, dtype=torch.float32)
    purifier = tiny_carso.purifier_module_
    with torch.no_grad():
        taps = tap_outputs(tiny_at.module_, ["0", "2"], torch.as_tensor(X))
        c = purifier.conditions(taps)
        rec = torch.stack([torch.sigmoid(purifier.decoder(torch.cat([z[i], c], 1)))
                           for i in range(k)])
        logits = torch.stack([tiny_at.module_(rec[i]) for i in range(k)], dim=2).numpy()
    expected = _peel_reference(logits)
    np.testing.assert_allclose(tiny_carso.decision_function(X), expected, atol=1e-5)
    np.testing.assert_allclose(
        tiny_carso.sample_reconstructions(X), rec.permute(1, 0, 2).numpy(), atol=1e-6
    )


def test_outputs_shapes_ranges_and_determinism(digits, tiny_carso):
    _, X_test, _, _ = digits
    proba = tiny_carso.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(proba, tiny_carso.predict_proba(X_test))
    assert np.isfinite(tiny_carso.decision_function(X_test)).all()
    rec = tiny_carso.sample_reconstructions(X_test[:10], n_reconstructions=3)
    assert rec.shape == (10, 3, 64) and rec.min() >= 0 and rec.max() <= 1
    conditions = tiny_carso.transform(X_test[:10])
    assert conditions.shape == (10, 8)
    assert list(tiny_carso.get_feature_names_out())[:2] == ["carsoclassifier0", "carsoclassifier1"]
    assert tiny_carso.attack_surrogates_ == ("peel", "mean_logit")


def test_latent_draws_depend_only_on_the_row(digits, tiny_carso):
    _, X_test, _, _ = digits
    X = X_test[:60]
    order = np.random.RandomState(0).permutation(len(X))
    proba = tiny_carso.predict_proba(X)
    np.testing.assert_array_equal(tiny_carso.predict_proba(X[order]), proba[order])
    # a smaller batch may take other float32 BLAS kernels: rounding only, no other draws
    np.testing.assert_allclose(tiny_carso.predict_proba(X[7:9]), proba[7:9], rtol=1e-5)
    rec = tiny_carso.sample_reconstructions(X)
    np.testing.assert_array_equal(tiny_carso.sample_reconstructions(X[order]), rec[order])
    # the draws of distinct rows are standard normal and unrelated
    rows = np.random.RandomState(1).rand(3000, 64)
    z = row_latents(rows, 5, 4, 8, 1.0, torch.zeros(1, dtype=torch.float64)).numpy()
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3
    assert abs(np.corrcoef(z[0, :, 0], z[0, :, 1])[0, 1]) < 0.1
    other_seed = row_latents(rows, 6, 4, 8, 1.0, torch.zeros(1, dtype=torch.float64)).numpy()
    assert abs(np.corrcoef(z.ravel(), other_seed.ravel())[0, 1]) < 0.05


def test_zero_reconstructions_is_deterministic_and_decodes_z0(digits, tiny_carso):
    _, X_test, _, _ = digits
    est = pickle.loads(pickle.dumps(tiny_carso)).set_params(n_reconstructions=0)
    a = est.sample_reconstructions(X_test[:5])
    est._inference_seed += 1
    np.testing.assert_array_equal(a, est.sample_reconstructions(X_test[:5]))
    assert a.shape == (5, 1, 64)
    with torch.no_grad():
        c = torch.as_tensor(est.transform(X_test[:5]))
        z0 = torch.zeros((5, est.latent_dim))
        expected = torch.sigmoid(est.purifier_module_.decoder(torch.cat([z0, c], 1)))
    np.testing.assert_allclose(a[:, 0], expected.numpy(), atol=1e-6)


def test_same_random_state_same_predictions(digits, tiny_at):
    X_train, X_test, y_train, _ = digits
    fits = [
        CARSOClassifier(classifier=FrozenEstimator(tiny_at), **TINY_CARSO).fit(
            X_train[:400], y_train[:400]
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0].predict_proba(X_test), fits[1].predict_proba(X_test))


def test_beta_schedule_and_history(tiny_carso):
    # E = 3: lag ceil(0.375) = 1 epoch at 0, warm-up ceil(0.1251) = 1 epoch -> beta
    assert tiny_carso.history_["beta"] == [0.0, 1.0, 1.0]
    long = CARSOClassifier(max_epochs=40)
    from skrepgeom.robustness._carso import _beta_schedule

    betas = [_beta_schedule(e, 40, 1.0, long.beta_lag, long.beta_warmup) for e in range(40)]
    lag, warm = math.ceil(0.125 * 40), math.ceil(0.0417 * 40)
    assert (lag, warm) == (5, 2)
    assert betas[:5] == [0.0] * 5 and betas[5:8] == [0.5, 1.0, 1.0]
    assert len(tiny_carso.history_["bce"]) == 3 and all(k > 0 for k in tiny_carso.history_["kl"])


def test_attack_module_is_differentiable_and_fresh(digits, tiny_carso):
    _, X_test, _, _ = digits
    for surrogate in ("peel", "mean_logit"):
        module = tiny_carso.attack_module(surrogate, random_state=0)
        assert module.stochastic
        x = torch.as_tensor(X_test[:8]).requires_grad_(True)
        out = module(x)
        assert out.shape == (8, 10)
        out[:, 0].sum().backward()
        assert torch.isfinite(x.grad).all()
    module = tiny_carso.attack_module("mean_logit", random_state=0)
    x = torch.as_tensor(X_test[:8])
    assert not torch.equal(module(x), module(x))
    x.requires_grad_(True)
    module(x)[:, 0].sum().backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="surrogate"):
        tiny_carso.attack_module("logits")


def test_classifier_options(digits, tiny_at):
    X_train, X_test, y_train, _ = digits
    X, y = X_train[:300], y_train[:300]
    small = dict(TINY_CARSO, max_epochs=1)
    unfitted = AdversarialTrainingClassifier(hidden_layer_sizes=(16,), max_epochs=1, eps=0.1)
    est = CARSOClassifier(classifier=unfitted, **small).fit(X, y)
    assert not hasattr(unfitted, "module_") and hasattr(est.classifier_, "module_")
    module = tiny_at.module_
    before = [p.detach().clone() for p in module.parameters()]
    est = CARSOClassifier(classifier=module, **small).fit(X, y)
    assert est.classifier_ is module
    assert all(torch.equal(a, b) for a, b in zip(before, module.parameters()))
    assert est.predict(X_test[:5]).shape == (5,)


def test_default_classifier_is_trained_with_the_same_eps(digits):
    X_train, _, y_train, _ = digits
    est = CARSOClassifier(**dict(TINY_CARSO, max_epochs=1, eps=0.05)).set_params(
        image_shape=(1, 8, 8)
    )
    est.classifier = None
    # shrink the default classifier's budget through a tiny dataset
    est.fit(X_train[:60], y_train[:60])
    assert isinstance(est.classifier_, AdversarialTrainingClassifier)
    assert est.classifier_.eps == 0.05 and est.classifier_.image_shape == (1, 8, 8)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(aggregation="max"), "aggregation"),
        (dict(n_reconstructions=-1), "n_reconstructions"),
        (dict(image_shape=(1, 4, 4)), "image_shape"),
        (dict(representation_layers=["nope"]), "representation_layers"),
    ],
)
def test_bad_parameters(digits, tiny_at, params, match):
    X_train, _, y_train, _ = digits
    est = CARSOClassifier(classifier=FrozenEstimator(tiny_at), **{**TINY_CARSO, **params})
    with pytest.raises(ValueError, match=match):
        est.fit(X_train[:50], y_train[:50])


def test_bad_inputs(digits, tiny_at):
    X_train, _, y_train, _ = digits
    est = CARSOClassifier(classifier=FrozenEstimator(tiny_at), **TINY_CARSO)
    with pytest.raises(ValueError, match="clip_range"):
        est.fit(X_train[:50] * 16, y_train[:50])
    with pytest.raises(ValueError, match="2 classes"):
        est.fit(X_train[:50], np.zeros(50))
    with pytest.raises(ValueError, match="output"):
        CARSOClassifier(classifier=torch.nn.Linear(64, 3), **TINY_CARSO).fit(
            X_train[:50], y_train[:50]
        )


def test_pickle_reload_identical(digits, tiny_carso):
    _, X_test, _, _ = digits
    again = pickle.loads(pickle.dumps(tiny_carso))
    np.testing.assert_array_equal(again.predict_proba(X_test), tiny_carso.predict_proba(X_test))
    assert next(again.purifier_module_.parameters()).device.type == "cpu"


def test_pipeline_and_grid_search_with_robust_scorer(digits):
    X_train, X_test, y_train, y_test = digits
    raw_train = X_train[:200] * 16  # raw 0..16 digits: the scaler maps them into the box
    f = AdversarialTrainingClassifier(hidden_layer_sizes=(16,), max_epochs=2, eps=0.1,
                                      random_state=0)
    pipe = make_pipeline(MinMaxScaler(clip=True),
                         CARSOClassifier(classifier=f, **dict(TINY_CARSO, max_epochs=1)))
    pipe.fit(raw_train, y_train[:200])
    assert pipe.predict(X_test[:5] * 16).shape == (5,)
    scorer = make_robust_scorer(eps=0.1, steps=2, eot_samples=1, losses=("ce",),
                                random_state=0)
    grid = GridSearchCV(pipe, {"carsoclassifier__n_reconstructions": [0, 2],
                               "carsoclassifier__latent_temperature": [0.5]},
                        scoring=scorer, cv=2)
    grid.fit(raw_train, y_train[:200])
    assert set(grid.cv_results_["param_carsoclassifier__n_reconstructions"]) == {0, 2}
    assert 0.0 <= grid.best_score_ <= 1.0


def test_verbose_shows_progress(digits, tiny_at, capsys):
    X_train, _, y_train, _ = digits
    CARSOClassifier(classifier=FrozenEstimator(tiny_at), verbose=1,
                    **dict(TINY_CARSO, max_epochs=1)).fit(X_train[:100], y_train[:100])
    assert "CARSO purifier" in capsys.readouterr().err


def test_attacks_accept_carso(digits, tiny_carso):
    _, X_test, _, y_test = digits
    X_adv = pgd(tiny_carso, X_test[:10], y_test[:10], eps=0.1, steps=2, eot_samples=2,
                surrogate="mean_logit", random_state=0)
    assert np.abs(X_adv - X_test[:10]).max() <= 0.1 + 1e-6
    with pytest.raises(ValueError, match="surrogate"):
        pgd(tiny_carso, X_test[:10], y_test[:10], eps=0.1, surrogate="logits")
