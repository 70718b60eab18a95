"""Random ESM-2 8M, planted motifs, layer-3 activations, SAE, enrichment."""

import numpy as np
import pytest

from skrepgeom.datasets import esm_tokenize, make_motif_proteins, make_random_esm_model
from skrepgeom.decomposition import SparseAutoencoder, latent_annotation_enrichment
from skrepgeom.representations import collect_activations

pytest.importorskip("transformers")


@pytest.mark.slow
def test_motif_latents_found_in_random_esm():
    model = make_random_esm_model(random_state=0)
    seqs, labels, names = make_motif_proteins(120, random_state=0)
    X = collect_activations(model, esm_tokenize(seqs), "esm.encoder.layer.3", drop_token_ids=(0, 2))
    A = np.concatenate(labels)
    assert X.shape == (A.shape[0], 320)
    sae = SparseAutoencoder(n_components=640, activation="topk", k=16, batch_size=1024,
                            max_epochs=4, learning_rate=1e-3, n_jobs=1, random_state=0).fit(X)
    table = latent_annotation_enrichment(sae.transform(X), A, annotation_names=names)
    at_01 = table[table.threshold == 0.1]
    best = at_01.loc[at_01.groupby("annotation").f1.idxmax()]
    assert sorted(best.annotation) == sorted(names)
    assert (best.precision >= 0.8).all()
    assert (best.q_value < 1e-10).all()
