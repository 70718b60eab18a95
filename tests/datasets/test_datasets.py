import sys

import numpy as np
import pytest
import torch

from skrepgeom.datasets import (
    esm2_8m_config,
    esm_tokenize,
    make_motif_proteins,
    make_random_esm_model,
    make_sparse_dictionary_data,
)
from skrepgeom.datasets._esm import ESM_ALPHABET


def test_sparse_dictionary_data_structure():
    X, codes, atoms = make_sparse_dictionary_data(500, 10, 20, 3, noise=0.0, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(atoms, axis=1), 1.0)
    assert ((codes > 0).sum(axis=1) == 3).all()
    nonzero = codes[codes > 0]
    assert nonzero.min() >= 0.5 and nonzero.max() <= 1.5
    np.testing.assert_allclose(X, codes @ atoms, atol=1e-12)
    X2, codes2, atoms2 = make_sparse_dictionary_data(500, 10, 20, 3, noise=0.0, random_state=0)
    np.testing.assert_array_equal(X, X2)
    noisy, c, a = make_sparse_dictionary_data(4000, 10, 20, 3, noise=0.1, random_state=0)
    assert np.std(noisy - c @ a) == pytest.approx(0.1, rel=0.05)


def test_sparse_dictionary_frequency_power():
    _, codes, _ = make_sparse_dictionary_data(20_000, 4, 10, 1, frequency_power=1.0, random_state=0)
    freq = (codes > 0).mean(axis=0)
    expected = 1.0 / np.arange(1, 11)
    np.testing.assert_allclose(freq, expected / expected.sum(), atol=0.01)


def test_sparse_dictionary_errors():
    with pytest.raises(ValueError, match="n_active"):
        make_sparse_dictionary_data(10, 4, 3, 5)
    with pytest.raises(ValueError, match="magnitude"):
        make_sparse_dictionary_data(10, 4, 5, 2, magnitude=(2, 1))


def test_motif_proteins():
    seqs, labels, names = make_motif_proteins(50, random_state=0)
    motifs = {"his_tag": "HHHHHH", "cys_knot": "CWCFC", "tyr_box": "YMYWY"}
    assert names == list(motifs)
    used = set("".join(motifs.values()))
    for seq, label in zip(seqs, labels):
        assert 50 <= len(seq) <= 200
        assert label.shape == (len(seq), 3) and label.dtype == bool
        assert label.sum(axis=1).max() <= 1  # no overlap
        background = [c for c, any_label in zip(seq, label.any(axis=1)) if not any_label]
        assert not used & set(background)
        for j, name in enumerate(names):
            marked = "".join(c for c, flag in zip(seq, label[:, j]) if flag)
            assert len(marked) % len(motifs[name]) == 0
            assert marked == motifs[name] * (len(marked) // len(motifs[name]))
        assert 1 <= label.any(axis=0).sum() <= 3
    with pytest.raises(ValueError, match="every amino acid"):
        make_motif_proteins(2, motifs={"all": "ACDEFGHIKLMNPQRSTVWY"}, length_range=(80, 90))


def test_esm_tokenize_and_config():
    ids = esm_tokenize(["mKvX", "A"])
    assert ids[0].tolist() == [0, ESM_ALPHABET.index("M"), ESM_ALPHABET.index("K"),
                               ESM_ALPHABET.index("V"), ESM_ALPHABET.index("X"), 2]
    assert ids[1].dtype == np.int64
    assert len(ESM_ALPHABET) == 33 and ESM_ALPHABET[32] == "<mask>" and ESM_ALPHABET[1] == "<pad>"
    with pytest.raises(ValueError, match="'J'"):
        esm_tokenize(["AJ"])
    pytest.importorskip("transformers")
    config = esm2_8m_config()
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads,
            config.intermediate_size, config.vocab_size) == (320, 6, 20, 1280, 33)
    assert config.position_embedding_type == "rotary" and config.token_dropout
    assert (config.mask_token_id, config.pad_token_id) == (32, 1)
    assert not config.emb_layer_norm_before


def test_random_esm_model_is_seeded_and_leaves_global_rng():
    pytest.importorskip("transformers")
    config = esm2_8m_config()
    config.hidden_size, config.num_hidden_layers, config.intermediate_size = 40, 1, 80
    config.num_attention_heads = 4
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = make_random_esm_model(config, random_state=0)
    assert torch.equal(torch.rand(3), expected_next)
    b = make_random_esm_model(config, random_state=0)
    c = make_random_esm_model(config, random_state=1)
    wa, wb, wc = (m.esm.encoder.layer[0].attention.self.query.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    assert not a.training


def test_missing_transformers_names_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match="'hf'"):
        esm2_8m_config()
    import skrepgeom.utils

    assert skrepgeom.utils.all_estimators()
