import io
import pickle
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skrepgeom.datasets import make_sparse_dictionary_data
from skrepgeom.decomposition import SparseAutoencoder, sae_metrics
from skrepgeom.decomposition._sae import _project_off_rows, _State

PLANTED = dict(n_components=128, batch_size=256, learning_rate=1e-3, normalize_input=None)


@pytest.fixture(scope="module")
def planted():
    return make_sparse_dictionary_data(20_000, 32, 64, 3, random_state=7)


@pytest.fixture(scope="module")
def topk_sae(planted):
    X, _, _ = planted
    return SparseAutoencoder(activation="topk", k=3, max_steps=3000, random_state=0, **PLANTED).fit(X)


@pytest.fixture(scope="module")
def relu_sae(planted):
    X, _, _ = planted
    return SparseAutoencoder(activation="relu", l1_coef=0.3, max_steps=3000, random_state=0, **PLANTED).fit(X)


def _recovery(atoms, components):
    """Fraction of planted atoms with a decoder row at cosine >= 0.9."""
    unit = atoms / np.linalg.norm(atoms, axis=1, keepdims=True)
    return float((np.max(unit @ components.T, axis=1) >= 0.9).mean())


def test_topk_recovers_planted_dictionary(planted, topk_sae):
    X, _, atoms = planted
    metrics = sae_metrics(topk_sae, X)
    assert _recovery(atoms, topk_sae.components_) >= 0.95
    assert metrics["l0"] == pytest.approx(3.0, abs=1e-9)
    assert metrics["explained_variance"] >= 0.93
    assert topk_sae.n_steps_ == 3000
    assert len(topk_sae.loss_curve_) == 3000
    assert [h["step"] for h in topk_sae.history_] == list(range(50, 3001, 50))
    # 79 steps per epoch (the last one has 20,000 - 78 * 256 = 32 rows)
    epochs, rest = divmod(3000, 79)
    assert topk_sae.n_tokens_seen_ == epochs * 20_000 + rest * 256
    assert topk_sae.n_iter_ == epochs + 1


def test_relu_recovers_planted_dictionary(planted, relu_sae):
    X, _, atoms = planted
    assert _recovery(atoms, relu_sae.components_) >= 0.90
    assert sae_metrics(relu_sae, X)["explained_variance"] >= 0.88


# ----------------------------------------------------------------- references
def _numpy_forward(sae, X):
    """Codes and reconstruction written from the documented formulas."""
    X = X.astype(np.float64)
    pre = (X - sae.decoder_bias_) @ sae.encoder_weight_ + sae.encoder_bias_
    if sae.activation == "relu":
        codes = np.maximum(pre, 0)
    else:
        codes = np.zeros_like(pre)
        top = np.argsort(-pre, axis=1, kind="stable")[:, : sae.k]
        np.put_along_axis(codes, top, np.maximum(np.take_along_axis(pre, top, 1), 0), axis=1)
    decoder = sae.components_ * (sae.decoder_norms_ * sae.input_scale_)[:, None]
    return codes, codes @ decoder + sae.decoder_bias_


@pytest.mark.parametrize("activation", ["relu", "topk"])
@pytest.mark.parametrize("normalize_input", [None, "expected_norm"])
def test_forward_and_metrics_equal_numpy(activation, normalize_input):
    X, _, _ = make_sparse_dictionary_data(600, 12, 24, 3, random_state=1)
    X = 7.0 * X + 2.0  # a scale and offset for the input normalisation to see
    sae = SparseAutoencoder(n_components=40, activation=activation, k=4, batch_size=64,
                            max_steps=60, learning_rate=1e-2, dtype="float64",
                            normalize_input=normalize_input, random_state=0).fit(X)
    codes, X_hat = _numpy_forward(sae, X)
    np.testing.assert_allclose(sae.transform(X), codes, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(sae.inverse_transform(codes), X_hat, rtol=1e-5, atol=1e-8)
    residual = ((X - X_hat) ** 2).sum()
    metrics = sae_metrics(sae, X)
    assert metrics["explained_variance"] == pytest.approx(
        1 - residual / ((X - X.mean(0)) ** 2).sum(), rel=1e-5
    )
    assert metrics["mse"] == pytest.approx(residual / X.shape[0], rel=1e-5)
    assert metrics["l0"] == pytest.approx((codes > 0).sum(1).mean(), rel=1e-12)
    assert metrics["l1"] == pytest.approx(codes.sum(1).mean(), rel=1e-5)
    assert metrics["dead_fraction"] == pytest.approx(1 - (codes > 0).any(0).mean(), abs=1e-12)
    assert sae.score(X) == pytest.approx(metrics["explained_variance"])
    if normalize_input is None:
        assert sae.input_scale_ == 1.0
    else:
        assert sae.input_scale_ > 1.0
    # the training loss in the scaled space, from the same formulas
    scale = sae.input_scale_
    xs = X[:64] / scale
    state = _State(sae._scaled_params(), torch.device("cpu"), torch.float64)
    _, stats, _ = sae._loss_and_grads(torch.as_tensor(xs), state, want_stats=True)
    c, xh = _numpy_forward(sae, X[:64])
    mse = (((X[:64] - xh) / scale) ** 2).sum(1).mean()
    l1 = (c * sae.decoder_norms_).sum(1).mean() if activation == "relu" else c.sum(1).mean()
    expected = mse + (sae.l1_coef * l1 if activation == "relu" else 0.0)
    assert float(stats["loss"]) == pytest.approx(expected, rel=1e-5)
    assert float(stats["l0"]) == pytest.approx((c > 0).sum(1).mean(), rel=1e-12)


def _dense_codes(sae, params, x):
    """Dense (batch, n_components) codes of ``x`` under the scaled-space ``params``."""
    pre = (x - params["b_dec"]) @ params["enc"].T + params["b_enc"]
    if sae.activation == "relu":
        return torch.relu(pre).numpy()
    values, idx = pre.topk(sae.k, dim=1)
    return torch.zeros_like(pre).scatter(1, idx, torch.relu(values)).numpy()


def _dense_reference_grads(sae, params, x, dead=None):
    """Autograd of the loss written densely (full (batch, n_components) codes)."""
    p = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    xc = x - p["b_dec"] if sae.center_input else x
    pre = xc @ p["enc"].T + p["b_enc"]
    if sae.activation == "relu":
        f = torch.relu(pre)
    else:
        values, idx = pre.topk(sae.k, dim=1)
        f = torch.zeros_like(pre).scatter(1, idx, torch.relu(values))
    x_hat = f @ p["dec"] + p["b_dec"]
    loss = ((x_hat - x) ** 2).sum(1).mean()
    if sae.activation == "relu":
        norms = torch.linalg.vector_norm(p["dec"], dim=1)
        loss = loss + sae.l1_coef * (f * norms).sum(1).mean()
    if dead is not None:
        k_aux = x.shape[1] // 2
        masked = pre.masked_fill(~dead, -torch.inf)
        values, idx = masked.topk(min(k_aux, int(dead.sum())), dim=1)
        f_aux = torch.zeros_like(pre).scatter(1, idx, torch.relu(values))
        residual = (x - x_hat).detach()
        scale = min(int(dead.sum()) / k_aux, 1.0) / 32
        loss = loss + scale * ((f_aux @ p["dec"] - residual) ** 2).sum(1).mean()
    loss.backward()
    return loss.item(), {k: v.grad for k, v in p.items()}


@pytest.mark.parametrize(
    "activation, strategy", [("relu", "resample"), ("topk", "resample"), ("topk", "auxk")]
)
def test_hand_written_backward_equals_dense_autograd(activation, strategy):
    rng = np.random.default_rng(0)
    d, m, batch = 10, 30, 50
    sae = SparseAutoencoder(n_components=m, activation=activation, k=5, l1_coef=0.2,
                            dead_latent_strategy=strategy, dead_latent_window=3)
    params = {
        "enc": torch.as_tensor(rng.normal(size=(m, d))),
        "b_enc": torch.as_tensor(rng.normal(size=m) * 0.1),
        "dec": torch.as_tensor(rng.normal(size=(m, d))),
        "b_dec": torch.as_tensor(rng.normal(size=d) * 0.1),
    }
    x = torch.as_tensor(rng.normal(size=(batch, d)))
    dead = None
    sae._steps_since_fired = np.zeros(m, dtype=np.int64)
    if strategy == "auxk":
        sae._steps_since_fired[::3] = 10
        dead = torch.as_tensor(sae._steps_since_fired >= 3)
    state = _State(params, torch.device("cpu"), torch.float64)
    grads, stats, counts = sae._loss_and_grads(x.clone(), state, want_stats=True)
    loss, reference = _dense_reference_grads(sae, params, x, dead)
    np.testing.assert_array_equal(counts.numpy(), (_dense_codes(sae, params, x) > 0).sum(0))
    if strategy != "auxk":
        assert float(stats["loss"]) == pytest.approx(loss, rel=1e-10)
    for name in params:
        scale = reference[name].abs().max()
        np.testing.assert_allclose(grads[name], reference[name], rtol=1e-5, atol=1e-5 * float(scale))


@pytest.mark.parametrize("activation", ["relu", "topk"])
def test_training_steps_equal_reference(activation):
    # three steps of the estimator's update against autograd + the textbook Adam update
    # (Kingma & Ba, Algorithm 1), the tangent projection and the renormalisation
    rng = np.random.default_rng(3)
    d, m, batch = 8, 20, 40
    sae = SparseAutoencoder(n_components=m, activation=activation, k=4, l1_coef=0.3,
                            learning_rate=1e-2, beta_1=0.8, beta_2=0.95)
    dec = rng.normal(size=(m, d))
    dec /= np.linalg.norm(dec, axis=1, keepdims=True)
    # a transposed encoder, as _scaled_params gives it: the state must not keep its strides
    params = {"enc": torch.as_tensor(rng.normal(size=(d, m))).T,
              "b_enc": torch.as_tensor(rng.normal(size=m) * 0.1),
              "dec": torch.as_tensor(dec), "b_dec": torch.as_tensor(rng.normal(size=d) * 0.1)}
    batches = [torch.as_tensor(rng.normal(size=(batch, d))) for _ in range(3)]
    state = _State(params, torch.device("cpu"), torch.float64)
    for x in batches:
        sae._step(state, x.clone(), want_stats=False)
    ref = {name: value.clone() for name, value in params.items()}
    m1 = {name: torch.zeros_like(v) for name, v in ref.items()}
    m2 = {name: torch.zeros_like(v) for name, v in ref.items()}
    for t, x in enumerate(batches, start=1):
        _, grads = _dense_reference_grads(sae, ref, x)
        w = ref["dec"]
        grads["dec"] = grads["dec"] - (grads["dec"] * w).sum(1, keepdim=True) * w
        for name in ref:
            m1[name] = 0.8 * m1[name] + 0.2 * grads[name]
            m2[name] = 0.95 * m2[name] + 0.05 * grads[name] ** 2
            m_hat, v_hat = m1[name] / (1 - 0.8**t), m2[name] / (1 - 0.95**t)
            ref[name] = ref[name] - 1e-2 * m_hat / (v_hat.sqrt() + 1e-8)
        ref["dec"] = ref["dec"] / torch.linalg.vector_norm(ref["dec"], dim=1, keepdim=True)
    assert state.t == 3
    for name in ref:
        np.testing.assert_allclose(state.p[name], ref[name], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(state.m[name], m1[name], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(state.v[name], m2[name], rtol=1e-9, atol=1e-15)
    # the optimiser updates the very moment tensors that resampling resets
    assert state.optimizer.state[state.p["dec"]]["exp_avg"] is state.m["dec"]


def test_decoder_gradient_projection_keeps_unit_rows(planted):
    X, _, _ = planted
    sae = SparseAutoencoder(n_components=64, activation="relu", batch_size=128, max_steps=5,
                            learning_rate=1e-2, random_state=0)
    sae.fit(X[:2000])
    rows = sae.components_ * sae.decoder_norms_[:, None]
    state = _State(sae._scaled_params(), torch.device("cpu"), torch.float32)
    grads, _, _ = sae._loss_and_grads(torch.as_tensor(X[:128], dtype=torch.float32), state, False)
    g = grads["dec"].numpy().astype(np.float64)
    w = rows.astype(np.float64)
    projected = _project_off_rows(grads["dec"].double(), torch.as_tensor(w)).numpy()
    np.testing.assert_allclose(projected, g - np.einsum("ij,ij->i", g, w)[:, None] * w, atol=1e-12)
    # rows are unit to float32 precision, so the radial remainder is (1 - |w|^2) g.w ~ 1e-7
    assert np.abs((projected * w).sum(1)).max() < 1e-6 * np.abs(g).max()
    assert np.abs(g - projected).max() > 1e-3 * np.abs(g).max()  # the raw gradient had a radial part
    np.testing.assert_allclose(sae.decoder_norms_, 1.0, atol=1e-5)
    unconstrained = clone(sae).set_params(normalize_decoder=False).fit(X[:2000])
    assert np.abs(unconstrained.decoder_norms_ - 1.0).max() > 1e-4


def test_partial_fit_over_chunks_recovers(planted):
    X, _, atoms = planted
    sae = SparseAutoencoder(activation="topk", k=3, random_state=0, **PLANTED)
    chunks = np.array_split(X, 10)
    rounds = 0
    while sae.__dict__.get("n_steps_", 0) < 3000:
        for chunk in chunks:
            sae.partial_fit(chunk)
        rounds += 1
    assert _recovery(atoms, sae.components_) >= 0.90
    assert sae.n_tokens_seen_ == rounds * X.shape[0]
    assert sae.n_iter_ == rounds * len(chunks)


def test_partial_fit_counts_and_memmap(tmp_path, planted):
    X, _, _ = planted
    path = tmp_path / "x.npy"
    np.save(path, X[:3000].astype(np.float32))
    mm = np.load(path, mmap_mode="r")
    sae = SparseAutoencoder(n_components=64, batch_size=500, random_state=0)
    for start in range(0, 3000, 1000):
        sae.partial_fit(mm[start : start + 1000])
    assert sae.n_steps_ == 6
    assert sae.n_tokens_seen_ == 3000
    assert sae.n_iter_ == 3
    assert sae.components_.dtype == np.float32


def test_warm_start_continues(planted):
    X, _, _ = planted
    sae = SparseAutoencoder(activation="topk", k=3, max_steps=100, random_state=0, **PLANTED).fit(X)
    first_curve = list(sae.loss_curve_)
    sae.set_params(warm_start=True).fit(X)
    assert sae.n_steps_ == 200
    assert sae.loss_curve_[:100] == first_curve
    # continued, not restarted: the second call starts near where the first ended
    assert np.mean(sae.loss_curve_[100:110]) < 1.1 * np.mean(first_curve[-10:])
    assert np.mean(first_curve[-10:]) < 0.9 * np.mean(first_curve[:10])
    cold = clone(sae).set_params(warm_start=False).fit(X)
    assert cold.n_steps_ == 100


@pytest.mark.parametrize("strategy, revived", [("resample", True), ("reinit", True), ("none", False)])
def test_dead_latents_are_revived(planted, strategy, revived):
    X, _, _ = planted
    X = X[:5000]
    window = 20
    sae = SparseAutoencoder(n_components=64, activation="relu", l1_coef=0.1, batch_size=256,
                            learning_rate=1e-3, dead_latent_strategy=strategy,
                            dead_latent_window=window, random_state=0)
    sae.partial_fit(X[:256])
    forced = np.arange(0, 64, 4)  # 25 % of the latents
    sae.encoder_bias_[forced] = -1e3
    before = sae.n_resampled_
    while sae.n_steps_ < 1 + 2 * window:
        sae.partial_fit(X[:256 * 5])
    fires = (sae.transform(X) > 0).any(axis=0)
    if revived:
        assert sae.n_resampled_ - before >= forced.size
        assert fires[forced].all()
    else:
        assert sae.n_resampled_ == 0
        assert not fires[forced].any()
        assert sae.dead_latents_[forced].all()


def test_auxk_runs_and_needs_topk(planted):
    X, _, _ = planted
    sae = SparseAutoencoder(n_components=64, activation="topk", k=3, batch_size=256,
                            dead_latent_strategy="auxk", dead_latent_window=10,
                            max_steps=60, random_state=0).fit(X[:5000])
    assert np.isfinite(sae.loss_curve_).all()
    with pytest.raises(ValueError, match="auxk"):
        SparseAutoencoder(dead_latent_strategy="auxk", activation="relu").fit(X[:100])


def test_sparse_output_matches_dense(topk_sae, planted):
    X, _, _ = planted
    dense = topk_sae.transform(X[:500])
    sparse = clone(topk_sae).set_params(sparse_output=True)
    sparse.__dict__.update({k: v for k, v in topk_sae.__dict__.items() if k.endswith("_")})
    codes = sparse.transform(X[:500])
    assert sp.issparse(codes) and codes.format == "csr"
    np.testing.assert_array_equal(codes.toarray(), dense)
    np.testing.assert_allclose(topk_sae.inverse_transform(codes), topk_sae.inverse_transform(dense),
                               rtol=1e-5, atol=1e-6)
    assert sae_metrics(sparse, X[:500]) == pytest.approx(sae_metrics(topk_sae, X[:500]))


def test_to_torch_matches_transform(topk_sae, planted):
    X, _, _ = planted
    module = topk_sae.to_torch()
    with torch.no_grad():
        codes = module.encode(torch.as_tensor(X[:200], dtype=torch.float32)).numpy()
        recon = module.decode(torch.as_tensor(codes)).numpy()
    np.testing.assert_allclose(codes, topk_sae.transform(X[:200]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(recon, topk_sae.inverse_transform(codes), rtol=1e-5, atol=1e-5)


def test_module_shares_the_fitted_arrays(planted):
    X, _, _ = planted
    sae = SparseAutoencoder(n_components=64, activation="relu", batch_size=256,
                            normalize_input="expected_norm", random_state=0)
    sae.partial_fit(X[:1024])
    module, components = sae.module_, sae.components_
    sae.partial_fit(X[1024:2048])
    # continued in place: the same arrays (and module_) hold the new weights
    assert sae.module_ is module and sae.components_ is components
    assert np.shares_memory(module.components.detach().numpy(), sae.components_)
    assert np.shares_memory(module.encoder_weight.detach().numpy(), sae.encoder_weight_)
    x = torch.as_tensor(X[:100], dtype=torch.float32)
    with torch.no_grad():
        codes = sae.module_.encode(x).numpy()
        recon = sae.module_(x).numpy()
    np.testing.assert_allclose(codes, sae.transform(X[:100]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(recon, sae.inverse_transform(codes), rtol=1e-5, atol=1e-5)
    # to_torch is a copy; a fresh fit binds new arrays and a new module_
    copy = sae.to_torch()
    with torch.no_grad():
        copy.encoder_bias.add_(1.0)
    np.testing.assert_array_equal(sae.module_.encoder_bias.detach().numpy(), sae.encoder_bias_)
    assert not np.shares_memory(copy.encoder_bias.detach().numpy(), sae.encoder_bias_)
    sae.fit(X[:1024])
    assert sae.module_ is not module and sae.components_ is not components
    loaded = pickle.loads(pickle.dumps(sae))
    assert np.shares_memory(loaded.module_.components.detach().numpy(), loaded.components_)
    assert loaded.module_.components.device.type == "cpu"


def test_result_does_not_depend_on_threads(planted):
    X, _, _ = planted
    params = dict(n_components=64, activation="topk", k=3, batch_size=256, max_steps=20, random_state=0)
    one = SparseAutoencoder(n_jobs=1, **params).fit(X[:4000])
    two = SparseAutoencoder(n_jobs=2, **params).fit(X[:4000])
    np.testing.assert_allclose(one.components_, two.components_, rtol=1e-5, atol=1e-6)
    assert torch.get_num_threads() >= 1


def test_float64_and_pandas_output(planted):
    X, _, _ = planted
    sae = SparseAutoencoder(n_components=16, dtype="float64", batch_size=256, max_steps=3,
                            random_state=0).set_output(transform="pandas").fit(X[:1000])
    frame = sae.transform(X[:5])
    assert list(frame.columns) == [f"sparseautoencoder{i}" for i in range(16)]
    assert frame.to_numpy().dtype == np.float64


def test_pickle_clone_pipeline_gridsearch(planted):
    X, codes, _ = planted
    X, y = X[:2000], (codes[:2000, 0] > 0).astype(int)
    sae = SparseAutoencoder(n_components=64, activation="topk", k=3, batch_size=256,
                            max_steps=40, random_state=0).fit(X)
    loaded = pickle.loads(pickle.dumps(sae))
    np.testing.assert_array_equal(loaded.transform(X[:50]), sae.transform(X[:50]))
    loaded.partial_fit(X[:512])  # the optimiser state travelled too
    assert loaded.n_steps_ == 42
    assert clone(sae).get_params() == sae.get_params()
    pipe = make_pipeline(SparseAutoencoder(n_components=64, activation="topk", k=3,
                                           batch_size=256, max_steps=40, random_state=0),
                         LogisticRegression(max_iter=500))
    assert pipe.fit(X, y).score(X, y) > 0.8
    search = GridSearchCV(SparseAutoencoder(n_components=32, activation="topk", batch_size=256,
                                            max_steps=10, random_state=0),
                          {"k": [1, 3]}, cv=2).fit(X)
    assert search.best_params_["k"] == 3  # more active latents reconstruct better


def test_verbose_prints_every_50_steps(planted, capsys):
    X, _, _ = planted
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        SparseAutoencoder(n_components=16, batch_size=64, max_steps=100, verbose=1,
                          random_state=0).fit(X[:2000])
    lines = [line for line in buffer.getvalue().splitlines() if "SparseAutoencoder" in line]
    assert len(lines) == 2
    assert all(key in lines[0] for key in ("loss=", "L0=", "EV=", "dead="))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_pickles_to_cpu(planted):
    X, _, _ = planted
    sae = SparseAutoencoder(n_components=64, activation="topk", k=3, batch_size=256, max_steps=50,
                            device="cuda", random_state=0).fit(X[:4000])
    cpu = SparseAutoencoder(n_components=64, activation="topk", k=3, batch_size=256, max_steps=50,
                            random_state=0)
    loaded = pickle.loads(pickle.dumps(sae))
    assert isinstance(loaded.components_, np.ndarray)
    on_cpu = loaded.set_params(device="cpu")
    np.testing.assert_allclose(on_cpu.transform(X[:100]), sae.transform(X[:100]), rtol=1e-4, atol=1e-5)
    cpu.fit(X[:4000])
    assert _recovery(cpu.components_, sae.components_) > 0.0


# ------------------------------------------------------------------ bad input
def test_bad_input_errors(planted):
    X, _, _ = planted
    X = X[:300]
    sae = SparseAutoencoder(n_components=16, batch_size=64, max_steps=2, random_state=0)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clone(sae).fit(bad)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        clone(sae).fit(bad)
    with pytest.raises(ValueError, match="Reshape your data to \\(n_tokens, d\\)"):
        clone(sae).fit(X[:, 0])
    with pytest.raises(ValueError, match="Reshape your data to \\(n_tokens, d\\)"):
        clone(sae).fit(X.reshape(30, 10, -1))
    with pytest.raises(ValueError, match="k=20"):
        SparseAutoencoder(n_components=16, activation="topk", k=20).fit(X)
    fitted = clone(sae).fit(X)
    for method in (fitted.partial_fit, fitted.transform):
        with pytest.raises(ValueError, match="5 features.*expecting 32"):
            method(X[:, :5])
    with pytest.raises(ValueError, match="5 features.*16"):
        fitted.inverse_transform(np.zeros((3, 5)))
    with pytest.raises(InvalidParameterError, match="l1_coef"):
        SparseAutoencoder(l1_coef=-1.0).fit(X)
    with pytest.raises(InvalidParameterError, match="n_components"):
        SparseAutoencoder(n_components=0).fit(X)
    with pytest.raises(InvalidParameterError, match="activation"):
        SparseAutoencoder(activation="gelu").fit(X)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            SparseAutoencoder(device="cuda").fit(X)
