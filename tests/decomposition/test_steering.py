import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skrepgeom.datasets import (
    esm2_8m_config,
    esm_tokenize,
    make_motif_proteins,
    make_random_esm_model,
)
from skrepgeom.decomposition import LatentSteering, SparseAutoencoder, sample_masked_lm
from skrepgeom.representations import collect_activations

pytest.importorskip("transformers")
LAYER = "esm.encoder.layer.3"


@pytest.fixture(scope="module")
def setup():
    config = esm2_8m_config()
    config.hidden_size, config.num_hidden_layers = 40, 5
    config.num_attention_heads, config.intermediate_size = 4, 80
    model = make_random_esm_model(config, random_state=0)
    seqs, _, _ = make_motif_proteins(20, length_range=(20, 40), random_state=0)
    tokens = esm_tokenize(seqs)
    X = collect_activations(model, tokens, LAYER, drop_token_ids=(0, 2))
    saes = {
        activation: SparseAutoencoder(n_components=80, activation=activation, k=6, batch_size=128,
                                      max_steps=40, learning_rate=1e-2, n_jobs=1,
                                      normalize_input="expected_norm", random_state=0).fit(X)
        for activation in ("relu", "topk")
    }
    ids = torch.as_tensor(tokens[0])[None]
    return model, saes, ids


def _next_block_input(model, ids):
    """Hidden states entering block 4, captured by a forward pre-hook."""
    store = {}
    handle = model.get_submodule("esm.encoder.layer.4").register_forward_pre_hook(
        lambda m, args, kwargs: store.update(h=(args[0] if args else kwargs["hidden_states"]).clone()),
        with_kwargs=True,
    )
    try:
        with torch.no_grad():
            logits = model(input_ids=ids).logits
    finally:
        handle.remove()
    return store["h"][0].numpy().astype(np.float64), logits


def test_alpha_zero_is_identity_and_add_moves_by_alpha(setup):
    model, saes, ids = setup
    sae = saes["relu"]
    base, logits = _next_block_input(model, ids)
    with LatentSteering(model, sae, LAYER, 5, alpha=0.0):
        _, same_logits = _next_block_input(model, ids)
    assert torch.equal(same_logits, logits)
    with LatentSteering(model, sae, model.get_submodule(LAYER), [5], alpha=3.0):
        moved, _ = _next_block_input(model, ids)
    np.testing.assert_allclose(moved - base, np.broadcast_to(3.0 * sae.components_[5], base.shape),
                               atol=1e-5)
    steering = LatentSteering(model, sae, LAYER, [5, 7], alpha=-1.5, positions=[1, -2]).register()
    try:
        moved, _ = _next_block_input(model, ids)
    finally:
        steering.remove()
    expected = np.zeros_like(base)
    expected[[1, base.shape[0] - 2]] = -1.5 * (sae.components_[5] + sae.components_[7])
    np.testing.assert_allclose(moved - base, expected, atol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "topk"])
def test_clamp_equals_decode_plus_error(setup, activation):
    model, saes, ids = setup
    sae = saes[activation]
    base, _ = _next_block_input(model, ids)
    codes = sae.transform(base.astype(np.float32)).astype(np.float64)
    latent = int(np.argmax(codes.sum(axis=0)))
    with LatentSteering(model, sae, LAYER, latent, mode="clamp", value=2.5):
        steered, _ = _next_block_input(model, ids)
    clamped = codes.copy()
    clamped[:, latent] = 2.5
    decoder = sae.components_ * (sae.decoder_norms_ * sae.input_scale_)[:, None]
    decode = lambda f: f @ decoder + sae.decoder_bias_  # noqa: E731
    expected = decode(clamped) + (base - decode(codes))
    np.testing.assert_allclose(steered, expected, atol=1e-5 * np.abs(base).max())


def _hooks(model):
    return {name: tuple(m._forward_hooks) for name, m in model.named_modules()}


def test_hook_removed_even_on_exception(setup):
    model, saes, ids = setup
    before = _hooks(model)
    with pytest.raises(RuntimeError, match="boom"):
        with LatentSteering(model, saes["relu"], LAYER, 1):
            assert _hooks(model) != before
            raise RuntimeError("boom")
    assert _hooks(model) == before
    wrong = SparseAutoencoder(n_components=8, max_steps=2, random_state=0).fit(np.ones((20, 7)) + np.arange(7))
    with pytest.raises(ValueError, match="hidden size 40.*7 features"):
        with LatentSteering(model, wrong, LAYER, 1):
            model(input_ids=ids)
    assert _hooks(model) == before


def test_steering_errors(setup):
    model, saes, _ = setup
    with pytest.raises(ValueError, match="closest module names: \\['esm.encoder.layer.3'"):
        LatentSteering(model, saes["relu"], "esm.encoder.layers.3", 1)
    with pytest.raises(ValueError, match="out of range"):
        LatentSteering(model, saes["relu"], LAYER, 80)
    with pytest.raises(NotFittedError):
        LatentSteering(model, SparseAutoencoder(), LAYER, 1)


def test_sample_masked_lm(setup):
    model, saes, ids = setup
    start = ids[0].numpy()
    residues = range(4, 24)
    a = sample_masked_lm(model, start, n_iter=5, mask_fraction=0.2, allowed_token_ids=residues,
                         random_state=0)
    b = sample_masked_lm(model, start, n_iter=5, mask_fraction=0.2, allowed_token_ids=residues,
                         random_state=0)
    np.testing.assert_array_equal(a, b)
    assert a[0] == 0 and a[-1] == 2 and np.isin(a[1:-1], residues).all()
    assert (a != start).any()
    assert not model.training
    before = _hooks(model)
    # a huge push along one latent changes what is sampled
    steering = LatentSteering(model, saes["relu"], LAYER, 3, alpha=200.0)
    c = sample_masked_lm(model, np.stack([start, start]), n_iter=5, mask_fraction=0.2,
                         allowed_token_ids=residues, steering=steering, random_state=0)
    assert c.shape == (2, start.size)
    assert (c[0] != a).any()
    assert _hooks(model) == before
    with pytest.raises(ValueError, match="mask_fraction"):
        sample_masked_lm(model, start, mask_fraction=0)
