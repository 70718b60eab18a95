import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_blobs
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrepgeom.neural_network import ForwardForwardClassifier, hoyer_sparsity
from skrepgeom.neural_network import _ff_net as ffnet

SMALL = dict(hidden_layer_sizes=(16, 16), max_epochs=5, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ----------------------------------------------------------- local training


def test_one_layer_step_matches_hand_written_loss_and_gradient():
    torch.manual_seed(0)
    d, h, n, theta, lr = 7, 5, 12, 3.0, 0.01
    generator = torch.Generator().manual_seed(0)
    net = ffnet.FFNet(
        d,
        [h],
        n_classes=2,
        label_embedding="overwrite",
        label_value=1.0,
        activation="relu",
        goodness="l2",
        generator=generator,
        dtype=torch.float64,
    )
    W0 = net.layers[0].weight.detach().clone()
    b0 = net.layers[0].bias.detach().clone()
    x_pos = torch.randn(n, d, dtype=torch.float64, generator=generator)
    x_neg = torch.randn(n, d, dtype=torch.float64, generator=generator)

    # Hand-written: normalise, Linear, ReLU, L2 norm, softplus loss, gradient by the chain rule.
    x = torch.cat([x_pos, x_neg])
    x_hat = x / (torch.sqrt((x * x).sum(1, keepdim=True)) + 1e-4)
    z = x_hat @ W0.T + b0
    a = torch.clamp(z, min=0)
    g = torch.sqrt((a * a).sum(1))
    assert torch.all(g > 0)
    margin = torch.cat([theta - g[:n], g[n:] - theta])
    loss = torch.log1p(torch.exp(margin)).mean()
    dloss_dg = torch.sigmoid(margin) / (2 * n) * torch.cat([-torch.ones(n), torch.ones(n)]).double()
    delta = dloss_dg[:, None] * a / g[:, None] * (z > 0)
    grad_W, grad_b = delta.T @ x_hat, delta.sum(0)

    # The library's step.
    out = net.layer(0, x)
    ours = ffnet.ff_loss(ffnet.goodness_of(out[:n], "l2"), ffnet.goodness_of(out[n:], "l2"), theta)
    ours.backward()
    np.testing.assert_allclose(ours.item(), loss.item(), atol=1e-6)
    np.testing.assert_allclose(net.layers[0].weight.grad, grad_W, atol=1e-6)
    np.testing.assert_allclose(net.layers[0].bias.grad, grad_b, atol=1e-6)

    # One full-batch epoch = one Adam step: the first Adam step is lr * g / (|g| + eps).
    net.layers[0].weight.grad = net.layers[0].bias.grad = None
    losses, _, _ = ffnet.train_layer(
        net, 0, x_pos, x_neg, max_epochs=1, batch_size=n, learning_rate=lr,
        threshold=theta, generator=torch.Generator().manual_seed(1),
    )
    np.testing.assert_allclose(losses[0], loss.item(), atol=1e-6)
    np.testing.assert_allclose(
        net.layers[0].weight.detach(), W0 - lr * grad_W / (grad_W.abs() + 1e-8), atol=1e-6
    )
    np.testing.assert_allclose(
        net.layers[0].bias.detach(), b0 - lr * grad_b / (grad_b.abs() + 1e-8), atol=1e-6
    )


@pytest.mark.parametrize("goodness", ["l2", "sumsq", "l1"])
def test_fused_relu_goodness_gradient_matches_autograd(goodness):
    generator = torch.Generator().manual_seed(3)
    x_hat = torch.randn(40, 6, dtype=torch.float64, generator=generator)
    x_hat[0] = -10.0  # a row with no active unit: goodness 0, gradient 0
    W = torch.randn(5, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    b = torch.randn(5, dtype=torch.float64, generator=generator, requires_grad=True)
    weights = torch.randn(40, dtype=torch.float64, generator=generator)
    W.data[:, :] = W.data.abs()
    fused = ffnet.ReluGoodness.apply(x_hat, W, b, goodness)
    (fused * weights).sum().backward()
    grad_fused = W.grad.clone(), b.grad.clone()
    W.grad = b.grad = None
    reference = ffnet.goodness_of(torch.relu(x_hat @ W.T + b), goodness)
    (reference * weights).sum().backward()
    assert fused[0] == 0 and reference[0] == 0
    np.testing.assert_allclose(fused.detach(), reference.detach(), rtol=1e-12)
    np.testing.assert_allclose(grad_fused[0], W.grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_fused[1], b.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "params",
    [
        dict(label_embedding="overwrite"),
        dict(label_embedding="overwrite", goodness="l1", label_value=-2.5),
        dict(label_embedding="overwrite", goodness="linf", activation="sigmoid"),
        dict(label_embedding="concat", goodness="l1", label_value=-1.5),
        dict(label_embedding="concat", goodness="linf", activation="sigmoid"),
        dict(training="backprop_ff", goodness="sumsq"),
    ],
)
def test_goodness_scores_equal_a_forward_per_class(iris, params):
    """The shared first-layer pass equals embedding each class and running every layer."""
    X, y = iris
    # 750 samples x 3 classes: several prediction chunks on the CPU
    rng = np.random.default_rng(0)
    X = np.vstack([X + 0.05 * rng.standard_normal(X.shape) for _ in range(5)])
    y = np.tile(y, 5)
    assert X.shape[0] * 3 > 2 * ffnet.chunk_rows(torch.device("cpu"))
    clf = ForwardForwardClassifier(**{**SMALL, "dtype": "float64"}, **params).fit(X, y)
    # Half of layer 0 silent on every row: inference then leaves those units out.
    with torch.no_grad():
        clf.module_.layers[0].bias[:8] = -1e3
    G = clf.goodness_scores(X)
    X_t = torch.as_tensor(X)
    for c in range(3):
        # Embedding and layers written out here, not taken from the network's methods.
        if clf.label_embedding == "overwrite":
            h = X_t.clone()
            h[:, :3] = 0
            h[:, c] = clf.label_value_
        else:
            onehot = torch.zeros(X.shape[0], 3, dtype=X_t.dtype)
            onehot[:, c] = clf.label_value_
            h = torch.cat([X_t, onehot], dim=1)
        p = {"l1": 1, "linf": float("inf")}.get(clf.goodness, 2)
        for index, linear in enumerate(clf.module_.layers):
            h = h / (torch.linalg.vector_norm(h, ord=p, dim=1, keepdim=True) + 1e-4)
            z = h @ linear.weight.T + linear.bias
            h = torch.relu(z) if clf.activation == "relu" else torch.sigmoid(z)
            np.testing.assert_allclose(
                G[:, c, index], ffnet.goodness_of(h, clf.goodness).numpy(), rtol=1e-10, atol=1e-12
            )


def _numpy_goodness_per_class(clf, X):
    """(n, n_classes, n_layers) L2 goodness in float64 NumPy, one forward pass per class."""
    weights = [(lin.weight.double().numpy(), lin.bias.double().numpy()) for lin in clf.module_.layers]
    n_classes = clf.classes_.shape[0]
    G = np.empty((X.shape[0], n_classes, len(weights)))
    for c in range(n_classes):
        h = np.array(X, dtype=np.float64)
        h[:, :n_classes] = 0.0  # overwrite embedding
        h[:, c] = clf.label_value_
        for index, (W, b) in enumerate(weights):
            h = h / (np.sqrt((h * h).sum(axis=1, keepdims=True)) + 1e-4)
            h = np.maximum(h @ W.T + b, 0.0)
            G[:, c, index] = np.sqrt((h * h).sum(axis=1))
    return G


@pytest.fixture(scope="module")
def float32_net():
    """A float32 3-layer network on blobs; enough rows for several inference chunks."""
    X, y = make_blobs(n_samples=900, centers=4, n_features=24, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = ForwardForwardClassifier(
        hidden_layer_sizes=(64, 64, 48), max_epochs=3, batch_size=128,
        label_embedding="overwrite", random_state=0,
    ).fit(X, y)
    assert X.shape[0] * 4 > 2 * ffnet.chunk_rows(torch.device("cpu"))
    return clf, X


@pytest.mark.parametrize("kernel", ["default", "torch.mm"])
@pytest.mark.parametrize("units", ["trained", "all_active", "first_silent", "half_silent"])
def test_float32_goodness_equals_a_numpy_forward_per_class(float32_net, monkeypatch, kernel, units):
    """Batched float32 inference (oneDNN or torch.mm products) against float64 NumPy.

    ``all_active``: every unit of the first two layers fires on every row, nothing
    is left out of a product; ``first_silent``: the first layer is silent on every
    row, so the second layer's product has no input unit at all; ``half_silent``:
    half of the first layer is silent (those units are left out of the product).
    """
    clf, X = float32_net
    clf = pickle.loads(pickle.dumps(clf))  # the module fixture stays untouched
    with torch.no_grad():
        if units == "all_active":
            for layer in clf.module_.layers[:2]:
                layer.bias.fill_(10.0)
        elif units == "first_silent":
            clf.module_.layers[0].bias.fill_(-1e3)
        elif units == "half_silent":
            clf.module_.layers[0].bias[::2] = -1e3
    if kernel == "torch.mm":
        monkeypatch.setattr(ffnet, "_onednn_runs", lambda: False)
    G = clf.goodness_scores(X)
    assert G.dtype == np.float32
    expected = _numpy_goodness_per_class(clf, X)
    np.testing.assert_allclose(G, expected, rtol=2e-5, atol=2e-5)
    if units == "first_silent":
        # No label reaches past the first layer: every class scores the same.
        np.testing.assert_array_equal(G, np.broadcast_to(G[:, :1], G.shape))
        return
    # Same predictions wherever the reference has a margin above float32 rounding.
    scores = _softmax(expected, axis=1).sum(axis=2)
    top2 = np.sort(scores, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4
    assert clear.mean() > 0.5
    np.testing.assert_array_equal(
        clf.predict(X)[clear], clf.classes_[scores.argmax(axis=1)][clear]
    )


def test_float32_goodness_does_not_depend_on_threads(float32_net):
    clf, X = float32_net
    clf = pickle.loads(pickle.dumps(clf))
    one = clf.set_params(n_jobs=1).goodness_scores(X)
    np.testing.assert_array_equal(clf.set_params(n_jobs=2).goodness_scores(X), one)


@pytest.mark.parametrize("onednn", [True, False])
def test_product_kernels_equal_numpy(monkeypatch, onednn):
    """oneDNN (where torch runs it) and torch.mm give x @ W.T, also without input units."""
    if not onednn:
        monkeypatch.setattr(ffnet, "_onednn_runs", lambda: False)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 29)).astype(np.float32)
    weight = rng.standard_normal((11, 29)).astype(np.float32)
    expected = x.astype(np.float64) @ weight.T.astype(np.float64)
    x_t, w_t = torch.from_numpy(x), torch.from_numpy(weight)
    out = torch.empty(37, 11)
    np.testing.assert_allclose(ffnet._product(x_t, w_t, out).numpy(), expected, rtol=1e-5, atol=1e-5)
    # a gathered (strided) weight, as when silent units are left out
    columns = torch.arange(0, 29, 2)
    np.testing.assert_allclose(
        ffnet._product(x_t[:, columns].contiguous(), w_t[:, columns], out).numpy(),
        x[:, ::2].astype(np.float64) @ weight[:, ::2].T.astype(np.float64),
        rtol=1e-5, atol=1e-5,
    )
    np.testing.assert_allclose(
        ffnet._product(x_t, ffnet._prepared(w_t, 37), out).numpy(), expected, rtol=1e-5, atol=1e-5
    )
    empty = ffnet._product(x_t[:, :0], w_t[:, :0], out)
    assert empty.shape == (37, 11) and not empty.any()
    x64 = torch.from_numpy(x.astype(np.float64))
    np.testing.assert_allclose(
        ffnet._product(x64, w_t.double(), out.double()).numpy(), expected, rtol=1e-12
    )


def test_greedy_training_never_touches_earlier_layers(iris, monkeypatch):
    X, y = iris
    original = ffnet.train_layer
    checked = []

    def spy(net, index, *args, **kwargs):
        before = [[p.detach().clone() for p in net.layers[i].parameters()] for i in range(index)]
        trained = net.layers[index].weight.detach().clone()
        result = original(net, index, *args, **kwargs)
        for i in range(index):
            for p, p0 in zip(net.layers[i].parameters(), before[i]):
                assert p.grad is None and not p.requires_grad
                assert torch.equal(p.detach(), p0)
        # The layer being trained did change.
        assert not torch.equal(net.layers[index].weight.detach(), trained)
        checked.append(index)
        return result

    monkeypatch.setattr(ffnet, "train_layer", spy)
    ForwardForwardClassifier(**{**SMALL, "hidden_layer_sizes": (8, 8, 8)}).fit(X, y)
    assert checked == [0, 1, 2]


# ----------------------------------------------------------- consistency


@pytest.mark.parametrize("skip_first_layer", [False, True])
@pytest.mark.parametrize("aggregation", ["softmax_sum", "sum"])
def test_predict_is_argmax_of_aggregated_goodness(iris, aggregation, skip_first_layer):
    X, y = iris
    clf = ForwardForwardClassifier(
        **SMALL, aggregation=aggregation, skip_first_layer=skip_first_layer
    ).fit(X, y)
    G = clf.goodness_scores(X).astype(np.float64)
    assert G.shape == (X.shape[0], 3, 2)
    if skip_first_layer:
        G = G[:, :, 1:]
    if aggregation == "softmax_sum":
        scores = _softmax(G, axis=1).sum(axis=2)
    else:
        scores = G.sum(axis=2)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[scores.argmax(axis=1)])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(proba.argmax(axis=1), scores.argmax(axis=1))


@pytest.mark.parametrize(
    "params",
    [
        dict(training="greedy", label_embedding="overwrite"),
        dict(training="greedy", negatives="hard", goodness="sumsq", threshold=1.0),
        dict(training="backprop_ff", negatives="hard"),
        dict(training="backprop", learning_rate=1e-2),
        dict(activation="sigmoid", goodness="l1"),
        dict(goodness="linf", dtype="float64"),
    ],
)
def test_modes_fit_and_are_deterministic(iris, params):
    X, y = iris
    a = ForwardForwardClassifier(**SMALL, **params).fit(X, y)
    b = ForwardForwardClassifier(**SMALL, **params).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.loss_curve_ == b.loss_curve_
    n_curves = 2 if params.get("training", "greedy") == "greedy" else 1
    assert len(a.loss_curve_) == n_curves
    assert all(len(curve) == 5 for curve in a.loss_curve_)
    assert np.all(np.isfinite(a.loss_curve_))
    np.testing.assert_allclose(a.predict_proba(X).sum(axis=1), 1.0, rtol=1e-5)
    assert a.n_layers_ == 2 and a.n_iter_ == 5
    assert a.transform(X).dtype == np.dtype(params.get("dtype", "float32"))


def test_different_seeds_differ(iris):
    X, y = iris
    a = ForwardForwardClassifier(**{**SMALL, "random_state": 0}).fit(X, y)
    b = ForwardForwardClassifier(**{**SMALL, "random_state": 1}).fit(X, y)
    assert a.loss_curve_ != b.loss_curve_


def test_greedy_learns_iris(iris):
    X, y = iris
    # Four features: a label at the data's maximum (3.1) is learnt faster than at its RMS.
    clf = ForwardForwardClassifier(**{**SMALL, "max_epochs": 40}, label_value="max").fit(X, y)
    assert clf.score(X, y) > 0.85
    # The goodness separates positives from negatives at the end of training.
    assert clf.goodness_pos_curve_[0][-1] > clf.goodness_neg_curve_[0][-1]


def test_transform_and_transform_layers(iris):
    X, y = iris
    clf = ForwardForwardClassifier(**{**SMALL, "hidden_layer_sizes": (6, 4)}).fit(X, y)
    layers = clf.transform_layers(X, y)
    assert [H.shape for H in layers] == [(150, 6), (150, 4)]
    predicted = clf.transform_layers(X)
    np.testing.assert_array_equal(clf.transform(X), predicted[-1])
    np.testing.assert_array_equal(
        clf.set_params(feature_layer="all").transform(X), np.hstack(predicted)
    )
    np.testing.assert_array_equal(clf.set_params(feature_layer=0).transform(X), predicted[0])
    # Activations with true labels embedded equal those with predictions where they agree.
    agree = clf.predict(X) == y
    np.testing.assert_array_equal(layers[0][agree], predicted[0][agree])


def test_string_labels_and_label_value(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = ForwardForwardClassifier(**SMALL, label_value=2.5).fit(X, names)
    assert clf.label_value_ == 2.5
    assert set(clf.predict(X)) <= set(names)
    clf = ForwardForwardClassifier(**SMALL, label_value="max").fit(X, names)
    assert clf.label_value_ == pytest.approx(X.max())
    clf = ForwardForwardClassifier(**SMALL).fit(3.0 * X, names)
    assert clf.label_value_ == pytest.approx(3.0 * np.sqrt(np.mean(X**2)), rel=1e-12)
    assert ForwardForwardClassifier(**SMALL).fit(np.zeros_like(X), names).label_value_ == 1.0


def test_auto_label_value_is_scale_free_and_barely_moved_by_an_outlier(iris):
    """With the label at the inputs' RMS, multiplying X by c changes no normalised input."""
    X, y = iris
    params = {**SMALL, "dtype": "float64", "max_epochs": 10}
    a = ForwardForwardClassifier(**params).fit(X, y)
    b = ForwardForwardClassifier(**params).fit(1000.0 * X, y)
    # The only scale-dependent term is the 1e-4 added to every input norm.
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-3)
    np.testing.assert_array_equal(a.predict(X), b.predict(1000.0 * X))
    # Standard-normal data of the size of digits with one pixel as far out as there.
    Z = np.random.default_rng(0).standard_normal((1000, 64))
    Z[0, 0] = 40.0
    labels = np.arange(1000) % 2
    tiny = dict(hidden_layer_sizes=(4,), max_epochs=1, random_state=0)
    assert ForwardForwardClassifier(**tiny, label_value="max").fit(Z, labels).label_value_ == 40.0
    auto = ForwardForwardClassifier(**tiny).fit(Z, labels).label_value_
    assert auto == pytest.approx(np.sqrt(np.mean(Z**2)), rel=1e-12)
    assert 0.95 < auto < 1.05


# ----------------------------------------------------------- digits


def _fit_and_measure(split, **params):
    X_train, X_test, y_train, y_test = split
    clf = ForwardForwardClassifier(random_state=0, **params).fit(X_train, y_train)
    correct = clf.predict(X_test) == y_test
    layers = clf.transform_layers(X_test[correct], y_test[correct])
    return correct.mean(), [float(np.nanmean(hoyer_sparsity(H))) for H in layers]


@pytest.fixture(scope="module")
def digits_reference(digits_split):
    """The paper's recipe on digits, 3 x 500, full-batch: FF and its BP baseline.

    FF's label is the training maximum, as in the paper's code. 200 FF epochs per
    layer (300 give acc 0.91, first-layer Hoyer 0.75; 200 give 0.91, 0.73) and 100
    BP epochs (the same 0.97, 0.45 as 300) keep the numbers in the bands below.
    """
    common = dict(hidden_layer_sizes=(500, 500, 500), batch_size=4096)
    ff_result = _fit_and_measure(
        digits_split, **common, training="greedy", label_embedding="overwrite",
        label_value="max", max_epochs=200, learning_rate=0.01,
    )
    bp_result = _fit_and_measure(
        digits_split, **common, training="backprop", max_epochs=100, learning_rate=1e-3
    )
    return ff_result, bp_result


@pytest.mark.slow
def test_digits_reference_numbers(digits_reference):
    """FF's first layer is far sparser than BP's at a slightly lower accuracy.

    The bands are the values of this recipe (Tosato et al. report the same ordering
    on MNIST: FF sparse category-specific ensembles, BP dense shared activity).
    """
    (acc_ff, hoyer_ff), (acc_bp, hoyer_bp) = digits_reference
    print(f"FF acc={acc_ff:.3f} hoyer={hoyer_ff}; BP acc={acc_bp:.3f} hoyer={hoyer_bp}")
    assert acc_ff == pytest.approx(0.90, abs=0.03)
    assert hoyer_ff[0] == pytest.approx(0.75, abs=0.05)
    assert acc_bp == pytest.approx(0.97, abs=0.02)
    assert hoyer_bp[0] == pytest.approx(0.45, abs=0.06)
    assert hoyer_ff[0] >= hoyer_bp[0] + 0.2


def test_auto_label_value_after_standard_scaler_keeps_accuracy(digits_split):
    """On standard-scaled digits the training max is one outlying pixel (~35).

    The default (the inputs' RMS, 0.97 here) must match a label of 1.0 and beat the
    max; one seed and a short budget here, three seeds in the compare script.
    """
    X_train, X_test, y_train, y_test = digits_split
    assert X_train.max() > 30
    params = dict(hidden_layer_sizes=(64, 64), max_epochs=40, batch_size=128, random_state=0)
    accuracy = {
        value: ForwardForwardClassifier(**params, label_value=value)
        .fit(X_train, y_train)
        .score(X_test, y_test)
        for value in ("auto", 1.0, "max")
    }
    print(accuracy)
    # 0.01 is 5 of 540 test digits: what a label of 0.97 instead of 1.0 may move.
    assert accuracy["auto"] >= accuracy[1.0] - 0.01
    assert accuracy["auto"] >= accuracy["max"] + 0.02


# ----------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_rejects_non_finite(iris, bad):
    X, y = iris
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        ForwardForwardClassifier(**SMALL).fit(X, y)


def test_rejects_wrong_ndim(iris):
    X, y = iris
    with pytest.raises(ValueError, match="2D"):
        ForwardForwardClassifier(**SMALL).fit(X[:, 0], y)
    with pytest.raises(ValueError, match="dim"):
        ForwardForwardClassifier(**SMALL).fit(X[:, :, None], y)


def test_rejects_single_class(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="at least 2 classes"):
        ForwardForwardClassifier(**SMALL).fit(X, np.zeros(X.shape[0]))


def test_rejects_overwrite_with_too_few_features(iris):
    X, y = iris
    with pytest.raises(ValueError, match="concat"):
        ForwardForwardClassifier(**SMALL, label_embedding="overwrite").fit(X[:, :2], y)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(threshold=0.0), "threshold"),
        (dict(threshold=-1.0), "threshold"),
        (dict(hidden_layer_sizes=()), "at least one layer"),
        (dict(hidden_layer_sizes=(8, 0)), "positive integers"),
        (dict(hidden_layer_sizes=(8, -2)), "positive integers"),
        (dict(max_epochs=0), "max_epochs"),
        (dict(batch_size=0), "batch_size"),
        (dict(goodness="l3"), "goodness"),
        (dict(training="hebbian"), "training"),
        (dict(aggregation="mean"), "aggregation"),
        (dict(feature_layer=2), "feature_layer=2"),
        (dict(feature_layer=-3), "feature_layer=-3"),
        (dict(feature_layer=0, transform_layer=1), "Set only feature_layer"),
        (dict(n_jobs=0), "n_jobs=0 is not valid"),
        (dict(skip_first_layer=True, hidden_layer_sizes=(8,)), "skip_first_layer"),
    ],
)
def test_rejects_bad_parameters(iris, params, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        ForwardForwardClassifier(**{**SMALL, **params}).fit(X, y)


def test_transform_layers_rejects_unseen_labels(iris):
    X, y = iris
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="not seen during fit"):
        clf.transform_layers(X, y + 5)


def test_predict_before_fit_and_wrong_features(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        ForwardForwardClassifier(**SMALL).predict(X)
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


def test_goodness_scores_undefined_for_backprop(iris):
    X, y = iris
    clf = ForwardForwardClassifier(**SMALL, training="backprop").fit(X, y)
    with pytest.raises(ValueError, match="backprop"):
        clf.goodness_scores(X)


# ----------------------------------------------------------- ecosystem


def test_clone_pickle_and_cpu_state(iris):
    X, y = iris
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    assert clone(clf).get_params() == clf.get_params()
    module = clf.module_
    restored = pickle.loads(pickle.dumps(clf))
    assert clf.module_ is module and restored.module_ is not module
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert isinstance(restored.module_, torch.nn.Module)
    assert all(p.device.type == "cpu" for p in restored.module_.parameters())
    # The fitted object itself is unchanged by pickling.
    np.testing.assert_array_equal(clf.predict(X), restored.predict(X))


def test_pipeline_and_grid_search():
    X, y = make_blobs(n_samples=120, centers=3, n_features=5, random_state=0)
    pipe = make_pipeline(StandardScaler(), ForwardForwardClassifier(**{**SMALL, "max_epochs": 30}))
    assert pipe.fit(X, y).score(X, y) > 0.8
    search = GridSearchCV(
        ForwardForwardClassifier(**SMALL),
        {"threshold": [1.0, 3.0], "hidden_layer_sizes": [(8,), (8, 8)]},
        cv=2,
    ).fit(StandardScaler().fit_transform(X), y)
    assert search.best_params_["threshold"] in (1.0, 3.0)


def test_threads_set_and_restored(iris, monkeypatch):
    X, y = iris
    before = torch.get_num_threads()
    seen = []
    original = ffnet.train_layer

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(ffnet, "train_layer", spy)
    ForwardForwardClassifier(**SMALL).fit(X, y)  # small layers: one thread
    ForwardForwardClassifier(**SMALL, n_jobs=2).fit(X, y)
    # None honours an enclosing joblib configuration, small layers or not.
    with joblib.parallel_config(n_jobs=3):
        ForwardForwardClassifier(**SMALL).fit(X, y)
    # Wide layers under None: torch's own setting is left alone.
    torch.set_num_threads(2)
    try:
        ForwardForwardClassifier(**{**SMALL, "hidden_layer_sizes": (257,)}).fit(X, y)
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 1, 2, 2, 3, 3, 2]
    assert torch.get_num_threads() == before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_pickles_to_cpu(iris):
    X, y = iris
    clf = ForwardForwardClassifier(**SMALL, device="cuda", dtype="float64").fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert next(clf.module_.parameters()).device.type == "cuda"
    assert all(p.device.type == "cpu" for p in restored.module_.parameters())
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X), rtol=1e-9)


def test_set_output_pandas_in_a_pipeline(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    pipe = make_pipeline(StandardScaler(), ForwardForwardClassifier(**SMALL))
    pipe.set_output(transform="pandas")
    out = pipe.fit(frame, y).transform(frame)
    assert isinstance(out, pd.DataFrame) and out.shape == (150, 16)
    expected = [f"forwardforwardclassifier_layer1_unit{j}" for j in range(16)]
    assert list(out.columns) == expected
    clf = pipe[-1]
    np.testing.assert_array_equal(out.to_numpy(), clf.transform(pipe[0].transform(frame)))
    clf.set_params(feature_layer="all")
    names = clf.get_feature_names_out()
    assert names.shape == (32,) and names[0] == "forwardforwardclassifier_layer0_unit0"
    assert names[16] == "forwardforwardclassifier_layer1_unit0"
    assert clf.transform(pipe[0].transform(frame)).shape == (150, 32)
    with pytest.raises(ValueError, match="input_features"):
        clf.get_feature_names_out(["a", "b", "c", "d"])


def test_transform_layer_is_a_deprecated_alias(iris):
    X, y = iris
    old = ForwardForwardClassifier(**SMALL, transform_layer=0)
    with pytest.warns(FutureWarning, match="renamed feature_layer"):
        old.fit(X, y)
    new = ForwardForwardClassifier(**SMALL, feature_layer=0).fit(X, y)
    with pytest.warns(FutureWarning, match="renamed feature_layer"):
        old_out = old.transform(X)
    np.testing.assert_array_equal(old_out, new.transform(X))
    assert old_out.shape == (150, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new.transform(X)
    assert "transform_layer" in ForwardForwardClassifier().get_params()


@pytest.mark.parametrize("training", ["greedy", "backprop_ff", "backprop"])
def test_non_finite_loss_stops_fit(iris, training):
    X, y = iris
    with pytest.raises(ValueError, match=r"became (nan|inf) at epoch 1.*learning_rate=1e\+30"):
        ForwardForwardClassifier(**SMALL, training=training, learning_rate=1e30).fit(X, y)


@pytest.mark.parametrize(
    "learning_rate, match",
    [
        (1e3, "layer 0 is silent on every training row"),  # every unit dies
        (1e-9, "loss of layer 0 did not move over its last 3 epochs"),
    ],
)
def test_absurd_learning_rate_warns(iris, learning_rate, match):
    X, y = iris
    clf = ForwardForwardClassifier(**SMALL, learning_rate=learning_rate)
    with pytest.warns(ConvergenceWarning, match=match):
        clf.fit(X, y)
    # A sensible step size trains without the warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.set_params(learning_rate=0.01).fit(X, y)
    assert clf.loss_curve_[0][-1] < clf.loss_curve_[0][0]


def test_verbose_progress(iris, capsys):
    X, y = iris
    ForwardForwardClassifier(**SMALL, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "FF layer 0" in err and "FF layer 1" in err and "loss" in err


def test_device_auto(iris):
    X, y = iris
    clf = ForwardForwardClassifier(**SMALL, device="auto").fit(X, y)
    assert clf.predict(X).shape == (150,)
    assert isinstance(clf.predict_proba(X), np.ndarray)


def test_display(iris):
    from skrepgeom.neural_network import ActivationWallDisplay

    X, y = iris
    clf = ForwardForwardClassifier(**SMALL).fit(X, y)
    display = ActivationWallDisplay.from_estimator(clf, X, y, layer=1)
    assert display.activations.shape == (150, 16)
    assert np.all(np.diff(np.searchsorted(clf.classes_, display.sample_labels)) >= 0)
    assert display.figure_ is display.ax_.figure
    with pytest.raises(ValueError, match="layer=5"):
        ActivationWallDisplay.from_estimator(clf, X, y, layer=5)
    with pytest.raises(TypeError, match="needs a fitted ForwardForwardClassifier, got PCA"):
        ActivationWallDisplay.from_estimator(PCA(2).fit(X), X, y)
    with pytest.raises(NotFittedError):
        ActivationWallDisplay.from_estimator(ForwardForwardClassifier(), X, y)
    active = ActivationWallDisplay.from_activations(
        np.c_[X.clip(0), np.zeros(150)], y, only_active=True
    )
    assert active.activations.shape[1] <= 4


def test_fit_leaves_global_torch_rng_alone():
    import torch

    from skrepgeom.neural_network import ForwardForwardClassifier

    X = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    y = np.arange(40) % 2
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ForwardForwardClassifier(hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)
