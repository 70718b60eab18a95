import numpy as np
import pytest
import torch

from skrepgeom.representations import ActivationPatching, TokenAblation, positions_of
from skrepgeom.utils._torch import forward_hooks, torch_threads

transformers = pytest.importorskip("transformers")

SEQ_LEN, CLASS_POS, N_CLASSES, VOCAB = 8, 2, 4, 24
LATER = list(range(CLASS_POS + 1, SEQ_LEN))


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    # Tiny models: one intra-op thread is fastest, and keeps timings stable on a shared machine.
    with torch_threads(1):
        yield


def readout(output):
    return output.logits[:, -1, :N_CLASSES]


def make_gpt2(seed=0, n_positions=16):
    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        n_layer=2, n_embd=64, n_head=2, vocab_size=VOCAB, n_positions=n_positions,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
    )
    return transformers.GPT2LMHeadModel(config)


def copy_task(n, rng):
    """Token ``CLASS_POS`` is the class (ids 0-3); every other token is noise (ids 4-19)."""
    X = rng.integers(4, 20, size=(n, SEQ_LEN))
    y = rng.integers(0, N_CLASSES, size=n)
    X[:, CLASS_POS] = y
    return X, y


def train(model, make_data, n_steps, context=None):
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(1)
    model.train()
    for _ in range(n_steps):
        X, y = make_data(64, rng)
        with context(model) if context is not None else torch.enable_grad():
            logits = readout(model(torch.as_tensor(X)))
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def trained():
    model = train(make_gpt2(), copy_task, n_steps=200)
    X, y = copy_task(1000, np.random.default_rng(2))
    return model, X, y


def accuracy(model, X, y):
    with torch.inference_mode():
        return float(np.mean(readout(model(torch.as_tensor(X))).argmax(1).numpy() == y))


def hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


# -- knockout on the trained copy task ------------------------------------------------


def test_knockout_of_the_class_token_gives_chance(trained):
    model, X, y = trained
    assert accuracy(model, X, y) >= 0.95
    ablated = TokenAblation(model, LATER, [CLASS_POS], readout=readout).score(X, y)
    assert ablated <= 0.25 + 0.08


@pytest.mark.parametrize("noise_pos", [1, 5])
def test_knockout_of_a_noise_token_changes_little(trained, noise_pos):
    model, X, y = trained
    queries = [q for q in LATER if q != noise_pos]
    ablated = TokenAblation(model, queries, [noise_pos], readout=readout).score(X, y)
    assert abs(ablated - accuracy(model, X, y)) < 0.03


def test_score_logit_diff_matches_a_direct_computation(trained):
    model, X, y = trained
    ablation = TokenAblation(model, LATER, [CLASS_POS], readout=readout)
    scores = ablation.predict_scores(X[:50])
    other = np.where(np.eye(N_CLASSES, dtype=bool)[y[:50]], -np.inf, scores).max(1)
    expected = np.mean(scores[np.arange(50), y[:50]] - other)
    assert ablation.score(X[:50], y[:50], metric="logit_diff") == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("queries, keys", [([], [CLASS_POS]), (LATER, []), (np.zeros(SEQ_LEN, bool), [0])])
def test_empty_queries_or_keys_equal_clean_bit_for_bit(trained, queries, keys):
    model, X, _ = trained
    ids = torch.as_tensor(X[:16])
    with torch.inference_mode():
        clean = model(ids).logits
        with TokenAblation(model, queries, keys):
            edited = model(ids).logits
    assert torch.equal(clean, edited)
    scores = TokenAblation(model, queries, keys, readout=readout).predict_scores(X[:16])
    np.testing.assert_array_equal(scores, clean[:, -1, :N_CLASSES].numpy())


def test_knockout_and_renormalized_mask_differ(trained):
    model, X, _ = trained
    knockout = TokenAblation(model, LATER, [CLASS_POS, 1]).predict_scores(X[:32])
    masked = TokenAblation(model, LATER, [CLASS_POS, 1], mode="knockout_renormalized").predict_scores(X[:32])
    assert np.abs(knockout - masked).max() > 1e-3


def eager_attention_reference(model, X, queries, keys, mode):
    """Per layer (batch, heads, q, k) weights, recomputed from each block's LayerNorm output."""
    inputs = {}

    def keep(name):
        def hook(module, args, output):
            inputs[name] = output.detach()
        return hook

    names = {f"transformer.h.{i}.ln_1": i for i in range(2)}
    ablation = TokenAblation(model, queries, keys, mode=mode)
    with torch.inference_mode(), forward_hooks(model, {n: keep(n) for n in names}), ablation:
        returned = model(torch.as_tensor(X), output_attentions=True).attentions
    references, removed = [], []
    n_head, d = model.config.n_head, model.config.n_embd
    edit = np.zeros((SEQ_LEN, SEQ_LEN), bool)
    edit[np.ix_(queries, keys)] = True
    edit = torch.as_tensor(edit)
    causal = torch.ones(SEQ_LEN, SEQ_LEN, dtype=torch.bool).tril()
    for name, layer in names.items():
        attn = model.transformer.h[layer].attn
        with torch.no_grad():
            qkv = inputs[name] @ attn.c_attn.weight + attn.c_attn.bias
        q, k, _ = qkv.split(d, dim=-1)
        q = q.view(len(X), SEQ_LEN, n_head, -1).transpose(1, 2)
        k = k.view(len(X), SEQ_LEN, n_head, -1).transpose(1, 2)
        scores = (q @ k.transpose(-1, -2)) / (d // n_head) ** 0.5
        scores = scores.masked_fill(~causal, -np.inf)
        clean = torch.softmax(scores, -1)
        if mode == "knockout":
            references.append(clean.masked_fill(edit, 0.0))
        else:
            references.append(torch.softmax(scores.masked_fill(edit, -np.inf), -1))
        removed.append((clean * edit).sum(-1))
    return returned, references, removed


@pytest.mark.parametrize("mode", ["knockout", "knockout_renormalized"])
def test_edited_attention_weights_match_an_eager_reference(trained, mode):
    model, X, _ = trained
    queries, keys = LATER, [CLASS_POS, 4]
    returned, references, removed = eager_attention_reference(model, X[:8], queries, keys, mode)
    assert len(returned) == 2
    for got, want, mass in zip(returned, references, removed):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
        row_sums = got.sum(-1)
        if mode == "knockout":
            torch.testing.assert_close(row_sums, 1 - mass, atol=1e-6, rtol=0)
            assert (mass[:, :, queries] > 1e-4).all()
        else:
            torch.testing.assert_close(row_sums, torch.ones_like(row_sums), atol=1e-6, rtol=0)


def test_layers_selects_blocks(trained):
    model, X, _ = trained
    with torch.inference_mode(), TokenAblation(model, LATER, [CLASS_POS], layers=[1]):
        attentions = model(torch.as_tensor(X[:4]), output_attentions=True).attentions
    # Layer 0 is handed to the model's own (sdpa) attention, which returns no weights.
    assert len(attentions) == 1 and (attentions[0][:, :, LATER, CLASS_POS] == 0).all()


def test_no_hook_left_and_implementation_restored_even_after_an_exception(trained):
    model, X, y = trained
    before_hooks, before_impl = hook_count(model), model.config._attn_implementation
    with pytest.raises(RuntimeError, match="boom"):
        with TokenAblation(model, LATER, [CLASS_POS]):
            assert model.config._attn_implementation != before_impl
            model(torch.as_tensor(X[:2]))
            raise RuntimeError("boom")

    def failing_readout(output):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        TokenAblation(model, LATER, [CLASS_POS], readout=failing_readout).predict_scores(X[:2])
    with pytest.raises(RuntimeError, match="boom"):
        ActivationPatching(model, 0, [CLASS_POS], readout=failing_readout).predict_scores(X[:2], X[2:4])
    assert hook_count(model) == before_hooks
    assert model.config._attn_implementation == before_impl
    assert not model.training
    assert accuracy(model, X, y) >= 0.95


def test_per_row_masks_and_callables_follow_the_batches(trained):
    model, X, _ = trained
    X = X[:10].copy()
    X[:, 5] = 20 + np.arange(10) % 2  # a marker token, id 20 or 21
    keys = positions_of(X, 20)
    by_mask = TokenAblation(model, LATER, keys, batch_size=3).predict_scores(X)
    by_callable = TokenAblation(model, LATER, lambda ids: positions_of(ids, 20), batch_size=3).predict_scores(X)
    one_by_one = np.concatenate([
        TokenAblation(model, LATER, [5] if X[i, 5] == 20 else []).predict_scores(X[i:i + 1]) for i in range(10)
    ])
    np.testing.assert_allclose(by_mask, one_by_one, atol=1e-5)
    np.testing.assert_array_equal(by_mask, by_callable)


# -- narrow gate --------------------------------------------------------------------

IMAGE, GATE, TEXT, GATE_ID = [0, 1, 2, 3], 4, list(range(5, 10)), 23


def gate_task(n, rng):
    """An image block holding the class, a fixed gate token, then noise text."""
    X = rng.integers(4, 20, size=(n, 10))
    y = rng.integers(0, N_CLASSES, size=n)
    X[:, :4] = y[:, None]
    X[:, GATE] = GATE_ID
    return X, y


@pytest.fixture(scope="module")
def gate_model():
    # Trained with the text knocked out from the image, so only the gate reads it.
    def text_knocked_out_from_image(model):
        return TokenAblation(model, TEXT, IMAGE)

    model = train(make_gpt2(), gate_task, n_steps=200, context=text_knocked_out_from_image)
    X, y = gate_task(1000, np.random.default_rng(3))
    return model, X, y


def image_and_gate(ids):
    return positions_of(ids, GATE_ID) | (np.arange(10) < 4)


def test_narrow_gate_knockout_keeps_the_gate_route(gate_model):
    model, X, y = gate_model
    assert TokenAblation(model, TEXT, IMAGE, readout=readout).score(X, y) >= 0.95


def test_narrow_gate_removing_text_to_gate_gives_chance(gate_model):
    # The text is kept blind to the image, as in training (removing the gate alone
    # would open the direct route); the -inf mask removes the keys from the softmax
    # normaliser as well (see the next test).
    model, X, y = gate_model
    mode = "knockout_renormalized"
    assert TokenAblation(model, TEXT, image_and_gate, mode=mode, readout=readout).score(X, y) <= 0.25 + 0.08


def test_narrow_gate_knockout_leaks_through_the_softmax_normaliser(gate_model):
    """Knocked-out keys still set each text row's softmax normaliser, and a model
    trained under knockout learns to read the class from it: knocking out text ->
    image and gate leaves it well above chance (0.77 with these seeds; chance 0.25)."""
    model, X, y = gate_model
    assert TokenAblation(model, TEXT, image_and_gate, readout=readout).score(X, y) >= 0.25 + 0.2


# -- activation patching --------------------------------------------------------------


def shifted_source(X, y):
    return np.roll(X, 1, axis=0), np.roll(y, 1)


def test_patching_the_class_token_flips_the_prediction(trained):
    model, X, y = trained
    X_source, y_source = shifted_source(X, y)
    patch = ActivationPatching(model, "transformer.wte", CLASS_POS, readout=readout, batch_size=128)
    assert patch.flip_rate(X, X_source, y_source, y) >= 0.90
    scores = patch.predict_scores(X, X_source)
    differ = y != y_source
    rows = np.flatnonzero(differ)
    expected = np.mean(scores[rows, y_source[rows]] - scores[rows, y[rows]])
    assert patch.logit_diff(X, X_source, y_source, y) == pytest.approx(expected, rel=1e-6)
    assert expected > 0


def test_patching_a_noise_token_flips_almost_nothing(trained):
    model, X, y = trained
    X_source, y_source = shifted_source(X, y)
    patch = ActivationPatching(model, "transformer.wte", 5, readout=readout, batch_size=128)
    assert patch.flip_rate(X, X_source, y_source, y) <= 0.05


def test_patching_every_embedding_equals_the_source_run(trained):
    model, X, _ = trained
    X_source = X[::-1][:20].copy()
    scores = ActivationPatching(model, "transformer.wte", slice(None), batch_size=7).predict_scores(X[:20], X_source)
    with torch.inference_mode():
        expected = model(torch.as_tensor(X_source)).logits[:, -1].numpy()
    np.testing.assert_array_equal(scores, expected)


def test_patching_a_block_output_with_other_source_positions(trained):
    model, X, _ = trained
    X_source = X[::-1][:6].copy()
    captured = {}

    def keep(module, args, output):
        captured["h"] = (output[0] if isinstance(output, tuple) else output).clone()

    def replace(module, args, output):
        hidden = (output[0] if isinstance(output, tuple) else output).clone()
        hidden[:, [6, 7]] = captured["h"][:, [1, 2]]
        return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

    with torch.inference_mode():
        with forward_hooks(model, {"transformer.h.0": keep}):
            model(torch.as_tensor(X_source))
        with forward_hooks(model, {"transformer.h.0": replace}):
            expected = model(torch.as_tensor(X[:6])).logits[:, -1].numpy()
    patch = ActivationPatching(model, 0, [6, 7], source_positions=[1, 2])
    np.testing.assert_array_equal(patch.predict_scores(X[:6], X_source), expected)


# -- other architectures and the attention_edit protocol ----------------------------


def tiny_llama():
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=32, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=32, bos_token_id=0, eos_token_id=0, pad_token_id=0,
    )
    return transformers.LlamaForCausalLM(config).eval()


def tiny_bert():
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=32, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )
    return transformers.BertForMaskedLM(config).eval()


@pytest.mark.parametrize("make_model", [tiny_llama, tiny_bert])
def test_llama_and_bert_knockout(make_model):
    model = make_model()
    ids = torch.as_tensor(np.random.default_rng(0).integers(1, 32, size=(3, 7)))
    mask = torch.ones_like(ids)
    mask[0, 5:] = 0  # right padding in row 0
    kwargs = {"attention_mask": mask}
    with torch.inference_mode():
        # transformers adds its output-recording hooks on the first pass asking for attentions.
        clean = model(ids, output_attentions=True, **kwargs).logits
        before_hooks, before_impl = hook_count(model), model.config._attn_implementation
        for queries, keys in (([], [1]), ([4, 5, 6], [])):
            with TokenAblation(model, queries, keys):
                assert torch.equal(model(ids, **kwargs).logits, clean)
        with TokenAblation(model, [4, 5, 6], [1]):
            out = model(ids, output_attentions=True, **kwargs)
    assert hook_count(model) == before_hooks and model.config._attn_implementation == before_impl
    assert (out.logits[:, 4:] - clean[:, 4:]).abs().max() > 1e-4
    for weights in out.attentions:
        assert weights.shape == (3, model.config.num_attention_heads, 7, 7)
        assert (weights[:, :, [4, 5, 6], 1] == 0).all()
        sums = weights.sum(-1)
        assert (sums[:, :, [4, 5, 6]] < 1 - 1e-4).all()
        torch.testing.assert_close(sums[:, :, :4], torch.ones_like(sums[:, :, :4]), atol=1e-6, rtol=0)
        assert (weights[0, :, :, 5:] == 0).all()  # padding keys stay masked
    if make_model is tiny_llama:
        assert (weights[:, :, 2, 3:] == 0).all()  # causal


def test_eager_model_edited_weights_are_its_own_weights_zeroed():
    model = make_gpt2(seed=3).eval()
    model.set_attn_implementation("eager")
    ids = torch.as_tensor(np.random.default_rng(0).integers(0, VOCAB, size=(4, SEQ_LEN)))
    with torch.inference_mode():
        clean = model(ids, output_attentions=True)
        with TokenAblation(model, [], [3]):
            assert torch.equal(model(ids).logits, clean.logits)
        with TokenAblation(model, [5, -1], [0, 3], layers=1):
            edited = model(ids, output_attentions=True).attentions
        with pytest.raises(RuntimeError, match="already inside a TokenAblation"):
            with TokenAblation(model, [5], [0]), TokenAblation(model, [6], [0]):
                pass
    assert model.config._attn_implementation == "eager"
    torch.testing.assert_close(edited[0], clean.attentions[0], atol=1e-6, rtol=0)
    want = clean.attentions[1].clone()
    want[:, :, [5, 7], 0] = 0
    want[:, :, [5, 7], 3] = 0
    torch.testing.assert_close(edited[1], want, atol=1e-6, rtol=0)


class ProtocolAttention(torch.nn.Module):
    """Single-head causal self-attention following the ``attention_edit`` protocol."""

    def __init__(self, d):
        super().__init__()
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.attention_edit = None

    def scores(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
        causal = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).tril()
        return scores.masked_fill(~causal, -np.inf), v

    def forward(self, x):
        scores, v = self.scores(x)
        probs = torch.softmax(scores, -1)
        if self.attention_edit is not None:
            probs = self.attention_edit(probs)
        self.last_probs = probs
        return x + probs @ v


class ProtocolModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(12, 8)
        self.blocks = torch.nn.ModuleList([ProtocolAttention(8), ProtocolAttention(8)])
        self.head = torch.nn.Linear(8, 3)

    def forward(self, ids):
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


@pytest.mark.parametrize("mode", ["knockout", "knockout_renormalized"])
def test_attention_edit_protocol(mode):
    model = ProtocolModel().eval()
    ids = torch.as_tensor(np.random.default_rng(0).integers(0, 12, size=(4, 6)))
    with torch.inference_mode():
        clean = model(ids)
        with TokenAblation(model, [], [0]):
            assert torch.equal(model(ids), clean)
        with TokenAblation(model, [3, 4, 5], [0, 2], layers=[1], mode=mode):
            model(ids)
            got = model.blocks[1].last_probs
            hidden = model.blocks[0](model.embed(ids))
            scores, _ = model.blocks[1].scores(hidden)
    assert all(block.attention_edit is None for block in model.blocks)
    edit = torch.zeros(6, 6, dtype=torch.bool)
    edit[3:, [0, 2]] = True
    if mode == "knockout":
        want = torch.softmax(scores, -1).masked_fill(edit, 0.0)
    else:
        want = torch.softmax(scores.masked_fill(edit, -np.inf), -1)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
    scores_api = TokenAblation(model, [3, 4, 5], [0, 2], mode=mode).predict_scores(ids)
    assert scores_api.shape == (4, 3)


# -- bad input ----------------------------------------------------------------------


def test_bad_input(trained):
    model, X, y = trained
    with pytest.raises(ValueError, match="out of range for sequences of length 8"):
        TokenAblation(model, [8], [0]).predict_scores(X[:2])
    with pytest.raises(ValueError, match="out of range"):
        TokenAblation(model, [3], [-9]).predict_scores(X[:2])
    with pytest.raises(ValueError, match="out of range"):
        with TokenAblation(model, [30], [0]):
            model(torch.as_tensor(X[:2]))
    assert model.config._attn_implementation == "sdpa"
    with pytest.raises(ValueError, match="shape"):
        TokenAblation(model, np.ones(5, bool), [0]).predict_scores(X[:2])
    with pytest.raises(ValueError, match="3 sequences"):
        TokenAblation(model, np.ones((3, SEQ_LEN), bool), [0]).predict_scores(X[:2])
    with pytest.raises(ValueError, match="mode"):
        TokenAblation(model, [3], [0], mode="mask").predict_scores(X[:2])
    with pytest.raises(ValueError, match="layers"):
        TokenAblation(model, [3], [0], layers=[2]).predict_scores(X[:2])
    with pytest.raises(ValueError, match="integer token ids"):
        TokenAblation(model, [3], [0]).predict_scores(X[:2].astype(float))
    with pytest.raises(ValueError, match="vocabulary"):
        TokenAblation(model, [3], [0]).predict_scores(X[:2] + VOCAB)
    with pytest.raises(ValueError, match="metric"):
        TokenAblation(model, [3], [0]).score(X[:2], y[:2], metric="f1")
    with pytest.raises(ValueError, match="length 2"):
        TokenAblation(model, [3], [0]).score(X[:2], y[:3])
    with pytest.raises(ValueError, match="X and X_source must have the same shape"):
        ActivationPatching(model, 0, [2]).predict_scores(X[:4], X[:3])
    with pytest.raises(ValueError, match="X and X_source must have the same shape"):
        ActivationPatching(model, 0, [2]).predict_scores(X[:4], X[:4, :6])
    with pytest.raises(ValueError, match="out of range for sequences of length 8"):
        ActivationPatching(model, 0, [9]).predict_scores(X[:4], X[4:8])
    with pytest.raises(ValueError, match="must match"):
        ActivationPatching(model, 0, [1, 2], source_positions=[1]).predict_scores(X[:4], X[4:8])
    with pytest.raises(ValueError, match="out of range for a model with 2 blocks"):
        ActivationPatching(model, 2, [1]).predict_scores(X[:4], X[4:8])
    with pytest.raises(ValueError, match="closest available names.*transformer.wte"):
        ActivationPatching(model, "transformer.wtee", [1]).predict_scores(X[:4], X[4:8])
    with pytest.raises(ValueError, match="no row can flip"):
        ActivationPatching(model, 0, [1]).flip_rate(X[:4], X[:4], y[:4], y[:4])


def test_model_without_hookable_attention_raises_type_error():
    model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 3))
    with pytest.raises(TypeError, match="AttentionInterface.*attention_edit"):
        TokenAblation(model, [1], [0]).predict_scores(np.array([[1, 2, 3]]))
    with pytest.raises(TypeError, match="attention_edit"):
        with TokenAblation(model, [1], [0]):
            pass
