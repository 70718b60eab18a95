import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skrepgeom.robustness import AdversarialTrainingClassifier, pgd

SMALL = dict(hidden_layer_sizes=(16,), eps=0.1, attack_steps=2, max_epochs=2, random_state=0)


def test_fit_predict_shapes_and_history(digits, tiny_at):
    _, X_test, _, y_test = digits
    proba = tiny_at.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    logits = tiny_at.decision_function(X_test)
    np.testing.assert_array_equal(tiny_at.predict(X_test), tiny_at.classes_[logits.argmax(1)])
    assert len(tiny_at.history_["loss"]) == 4
    assert tiny_at.attack_surrogates_ == ("logits",)
    assert tiny_at.score(X_test, y_test) > 0.5
    assert not tiny_at.module_.training


def test_string_labels_and_same_seed_same_model(digits):
    X_train, X_test, y_train, _ = digits
    labels = np.array([f"d{i}" for i in y_train])
    a = AdversarialTrainingClassifier(**SMALL).fit(X_train[:300], labels[:300])
    state = torch.random.get_rng_state()
    b = AdversarialTrainingClassifier(**SMALL).fit(X_train[:300], labels[:300])
    # the global RNG is untouched by fit
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert set(a.predict(X_test)) <= set(labels)


def test_training_is_adversarial(digits):
    """The first minibatch loss of AT equals the loss on PGD inputs of the initial net."""
    X_train, _, y_train, _ = digits
    X, y = X_train[:64], y_train[:64]
    standard = AdversarialTrainingClassifier(**{**SMALL, "eps": 0.0, "max_epochs": 1}, batch_size=64)
    robust = AdversarialTrainingClassifier(**{**SMALL, "eps": 0.3, "max_epochs": 1}, batch_size=64)
    standard.fit(X, y)
    robust.fit(X, y)
    # same initial weights; adversarial inputs have the higher loss
    assert robust.history_["loss"][0] > standard.history_["loss"][0]


def test_cnn_and_callable_architectures(digits):
    X_train, X_test, y_train, _ = digits
    cnn = AdversarialTrainingClassifier(
        architecture="cnn", image_shape=(1, 8, 8), eps=0.0, max_epochs=1, random_state=0
    ).fit(X_train[:200], y_train[:200])
    assert cnn.predict_proba(X_test[:5]).shape == (5, 10)
    assert any(isinstance(m, torch.nn.Conv2d) for m in cnn.module_.modules())

    def build(input_shape, n_classes):
        return torch.nn.Sequential(torch.nn.Linear(input_shape[0], n_classes))

    lin = AdversarialTrainingClassifier(architecture=build, **SMALL).fit(X_train[:200],
                                                                         y_train[:200])
    assert lin.module_[0].out_features == 10


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(architecture="cnn"), "image_shape"),
        (dict(architecture="cnn", image_shape=(1, 4, 4)), "image_shape"),
        (dict(architecture=lambda shape, n: torch.nn.Linear(shape[0], 3)), "output"),
    ],
)
def test_bad_architecture(digits, params, match):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match=match):
        AdversarialTrainingClassifier(**{**SMALL, **params}).fit(X_train[:50], y_train[:50])


def test_bad_inputs(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="clip_range"):
        AdversarialTrainingClassifier(**SMALL).fit(X_train[:50] * 16, y_train[:50])
    with pytest.raises(ValueError, match="2 classes"):
        AdversarialTrainingClassifier(**SMALL).fit(X_train[:50], np.zeros(50))
    with pytest.raises(ValueError, match="inconsistent"):
        AdversarialTrainingClassifier(**SMALL).fit(X_train[:50], y_train[:40])
    X_nan = X_train[:50].copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        AdversarialTrainingClassifier(**SMALL).fit(X_nan, y_train[:50])


def test_pickle_and_clone(digits, tiny_at):
    _, X_test, _, _ = digits
    again = pickle.loads(pickle.dumps(tiny_at))
    np.testing.assert_array_equal(again.predict_proba(X_test), tiny_at.predict_proba(X_test))
    assert next(again.module_.parameters()).device.type == "cpu"
    assert not hasattr(clone(tiny_at), "module_")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_pickles_to_cpu(digits):
    X_train, X_test, y_train, _ = digits
    clf = AdversarialTrainingClassifier(**SMALL, device="cuda").fit(X_train, y_train)
    again = pickle.loads(pickle.dumps(clf))
    assert next(again.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(again.predict_proba(X_test), clf.predict_proba(X_test), atol=1e-5)


@pytest.mark.slow
def test_digits_anchors(digits):
    """Reference figures of a standard MLP and an AT-MLP on digits at the default budget."""
    X_train, X_test, y_train, y_test = digits
    standard = AdversarialTrainingClassifier(eps=0.0, random_state=0).fit(X_train, y_train)
    X_adv = pgd(standard, X_test, y_test, eps=0.1, steps=50, random_state=0)
    assert abs(standard.score(X_adv, y_test) - 0.41) <= 0.06
    at = AdversarialTrainingClassifier(eps=0.2, random_state=0).fit(X_train, y_train)
    assert abs(at.score(X_test, y_test) - 0.956) <= 0.02
    X_adv = pgd(at, X_test, y_test, eps=0.2, steps=50, random_state=0)
    ce = at.score(X_adv, y_test)
    assert abs(ce - 0.50) <= 0.06
    from skrepgeom.robustness import robust_accuracy

    worst = robust_accuracy(at, X_test, y_test, eps=0.2, steps=50, random_state=0)
    ce_only = robust_accuracy(at, X_test, y_test, eps=0.2, steps=50, losses=("ce",),
                              random_state=0)
    assert worst <= ce_only
