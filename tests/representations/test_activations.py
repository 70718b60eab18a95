import numpy as np
import pytest
import torch

from skrepgeom.datasets import esm2_8m_config, esm_tokenize, make_motif_proteins, make_random_esm_model
from skrepgeom.representations import collect_activations, iter_activations

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def small_esm():
    config = esm2_8m_config()
    config.hidden_size, config.num_hidden_layers = 40, 5
    config.num_attention_heads, config.intermediate_size = 4, 80
    return make_random_esm_model(config, random_state=0)


@pytest.fixture(scope="module")
def tokens():
    seqs, _, _ = make_motif_proteins(7, length_range=(18, 40), random_state=0)
    return esm_tokenize(seqs)


def _hand_hook_reference(model, tokens, module):
    """One unpadded sequence at a time, with a plain register_forward_hook."""
    rows = []
    store = {}
    handle = module.register_forward_hook(
        lambda m, a, out: store.update(h=out[0] if isinstance(out, tuple) else out)
    )
    try:
        with torch.no_grad():
            for ids in tokens:
                model(input_ids=torch.as_tensor(ids)[None])
                rows.append(store["h"][0, 1:-1].numpy())
    finally:
        handle.remove()
    return np.concatenate(rows)


def test_collect_equals_hand_hook_and_hidden_states(small_esm, tokens):
    layer = "esm.encoder.layer.3"
    got = collect_activations(small_esm, tokens, layer, batch_size=3, drop_token_ids=(0, 2))
    reference = _hand_hook_reference(small_esm, tokens, small_esm.get_submodule(layer))
    assert got.shape == (sum(t.size - 2 for t in tokens), 40)
    np.testing.assert_allclose(got, reference, atol=1e-5)
    with torch.no_grad():
        states = [
            small_esm(input_ids=torch.as_tensor(ids)[None], output_hidden_states=True).hidden_states[4][0, 1:-1]
            for ids in tokens
        ]
    np.testing.assert_allclose(got, torch.cat(states).numpy(), atol=1e-5)
    full = collect_activations(small_esm, tokens, small_esm.get_submodule(layer), batch_size=4,
                               drop_token_ids=(0, 2), stop_at_layer=False)
    np.testing.assert_allclose(full, got, atol=1e-5)


def test_iter_yields_batches_in_order_and_keeps_padding_out(small_esm, tokens):
    chunks = list(iter_activations(small_esm, tokens, "esm.encoder.layer.0", batch_size=2))
    assert len(chunks) == 4
    assert [c.shape[0] for c in chunks] == [
        sum(t.size for t in tokens[i : i + 2]) for i in range(0, 7, 2)
    ]
    assert all(c.dtype == np.float32 for c in chunks)
    doubles = np.concatenate(list(iter_activations(small_esm, tokens, "esm.encoder.layer.0",
                                                   batch_size=7, dtype="float64")))
    assert doubles.dtype == np.float64
    np.testing.assert_allclose(np.concatenate(chunks), doubles, atol=1e-5)


def test_memmap_equals_in_memory(small_esm, tokens, tmp_path):
    in_memory = collect_activations(small_esm, tokens, "esm.encoder.layer.1", batch_size=3)
    mapped = collect_activations(small_esm, tokens, "esm.encoder.layer.1", batch_size=3,
                                 memmap_dir=tmp_path)
    assert isinstance(mapped, np.memmap)
    assert not mapped.flags.writeable
    assert (tmp_path / "esm.encoder.layer.1.npy").exists()
    np.testing.assert_array_equal(np.asarray(mapped), in_memory)


def _hook_snapshot(model):
    # transformers installs its own output-capturing hooks; only ours must go
    return {name: tuple(m._forward_hooks) for name, m in model.named_modules()}


def test_hooks_removed_and_mode_restored_even_on_error(small_esm, tokens):
    before = _hook_snapshot(small_esm)
    small_esm.train()
    try:
        collect_activations(small_esm, tokens[:2], "esm.encoder.layer.2")
        assert small_esm.training
        with pytest.raises(ValueError, match="closest available names: \\['esm.encoder.layer.2'"):
            collect_activations(small_esm, tokens[:2], "esm.encoder.layers.2")
        bad = [np.array([0, 5, 40])]
        with pytest.raises(ValueError, match="outside the model's vocabulary \\[0, 33\\)"):
            collect_activations(small_esm, bad, "esm.encoder.layer.2")
    finally:
        small_esm.eval()
    assert _hook_snapshot(small_esm) == before


def test_bad_inputs(small_esm):
    with pytest.raises(ValueError, match="empty"):
        collect_activations(small_esm, [], "esm.encoder.layer.0")
    with pytest.raises(ValueError, match="1-D"):
        collect_activations(small_esm, [np.zeros((2, 2), dtype=int)], "esm.encoder.layer.0")
    with pytest.raises(ValueError, match="batch_size"):
        collect_activations(small_esm, [np.array([0, 4, 2])], "esm.encoder.layer.0", batch_size=0)


def test_plain_module_equal_to_manual():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(12, 5), torch.nn.Linear(5, 3), torch.nn.Tanh())
    seqs = [np.array([1, 2, 3]), np.array([4]), np.array([5, 6])]
    got = collect_activations(model, seqs, "1", pad_token_id=0)
    with torch.no_grad():
        expected = torch.cat([model[1](model[0](torch.as_tensor(s))) for s in seqs]).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
