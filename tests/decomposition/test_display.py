import matplotlib.pyplot as plt
import numpy as np
import pytest

from skrepgeom.datasets import make_sparse_dictionary_data
from skrepgeom.decomposition import (
    LatentAnnotationDisplay,
    SparseAutoencoder,
    TrainingHistoryDisplay,
    latent_annotation_enrichment,
)


def test_training_history_display():
    X, _, _ = make_sparse_dictionary_data(1000, 8, 16, 2, random_state=0)
    sae = SparseAutoencoder(n_components=32, batch_size=50, max_steps=120, n_jobs=1,
                            random_state=0).fit(X)
    _, ax = plt.subplots()
    display = TrainingHistoryDisplay.from_estimator(sae, ax=ax)
    assert display.ax_ is ax and display.figure_ is ax.figure
    np.testing.assert_array_equal(display.line_.get_ydata(), sae.loss_curve_)
    l0_line = display.ax_l0_.get_lines()[0]
    np.testing.assert_array_equal(l0_line.get_xdata(), [50, 100])
    np.testing.assert_array_equal(l0_line.get_ydata(), [h["l0"] for h in sae.history_])


def test_latent_annotation_display():
    A = np.array([1, 1, 0, 0, 0, 0, 1, 0])[:, None]
    codes = np.array([[2.0, 0, 1], [1.5, 0, 0], [0, 1, 1], [0, 0, 0], [0, 1, 0], [0, 0, 0],
                      [1, 0, 0], [0, 0, 1]])
    table = latent_annotation_enrichment(codes, A, thresholds=(0.5, 1.2), annotation_names=["m"])
    display = LatentAnnotationDisplay.from_table(table, "m", 0.5, alpha=1.0)
    rows = table[(table.annotation == "m") & (table.threshold == 0.5)]
    np.testing.assert_array_equal(display.scatter_.get_offsets(), rows[["recall", "precision"]].to_numpy())
    assert display.ax_.texts[0].get_text() == "0"  # the best latent by F1 is labelled first
    with pytest.raises(ValueError, match="no row"):
        LatentAnnotationDisplay.from_table(table, "m", 0.7)
