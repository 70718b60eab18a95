import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import false_discovery_control, fisher_exact

from skrepgeom.decomposition import latent_annotation_enrichment
from skrepgeom.decomposition._enrichment import COLUMNS


def _brute_force(codes, A, thresholds, relative=False):
    rows = []
    for t in thresholds:
        block = []
        for j in range(codes.shape[1]):
            cut = t * codes[:, j].max() if relative else t
            fires = codes[:, j] > cut
            for a in range(A.shape[1]):
                pos = A[:, a].astype(bool)
                tp, fp = int((fires & pos).sum()), int((fires & ~pos).sum())
                fn, tn = int((~fires & pos).sum()), int((~fires & ~pos).sum())
                res = fisher_exact([[tp, fp], [fn, tn]], alternative="greater")
                precision = tp / (tp + fp) if tp + fp else 0.0
                recall = tp / (tp + fn) if tp + fn else 0.0
                f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
                block.append([j, a, t, tp, fp, fn, tn, precision, recall, f1, res.statistic, res.pvalue])
        block = np.array(block, dtype=float)
        q = false_discovery_control(block[:, -1], method="bh")
        rows.append(np.column_stack([block, q]))
    return np.vstack(rows)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 400
    A = rng.random((n, 3)) < [0.1, 0.3, 0.05]
    codes = rng.exponential(0.3, size=(n, 12)) * (rng.random((n, 12)) < 0.4)
    codes[:, 0] = np.where(A[:, 0], 2.0, 0.0)  # a latent that is exactly annotation 0
    codes[:, 1] = np.where(A[:, 1], rng.random(n), 0.0) + 0.05 * (rng.random(n) < 0.1)
    codes[:, 2] = 0.0  # never fires
    return codes, A


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("relative", [False, True])
def test_equals_scipy_brute_force(data, sparse, relative):
    codes, A = data
    thresholds = (0.01, 0.1, 1.0) if not relative else (0.1, 0.5)
    table = latent_annotation_enrichment(sp.csr_matrix(codes) if sparse else codes, A.astype(int),
                                         thresholds=thresholds, relative=relative)
    assert list(table.columns) == COLUMNS
    expected = _brute_force(codes, A, thresholds, relative=relative)
    got = table.to_numpy(dtype=float)
    np.testing.assert_array_equal(got[:, :7], expected[:, :7])
    np.testing.assert_allclose(got[:, 7:], expected[:, 7:], rtol=1e-6, atol=1e-300, equal_nan=True)


def test_planted_latent_is_found(data):
    codes, A = data
    table = latent_annotation_enrichment(codes, A, annotation_names=["a", "b", "c"])
    row = table[(table.latent == 0) & (table.annotation == "a") & (table.threshold == 0.1)].iloc[0]
    assert row.f1 == 1.0 and row.precision == 1.0
    assert row.q_value < 1e-10
    never = table[table.latent == 2]
    assert (never.precision == 0).all() and (never.tp == 0).all()


def test_null_latents_keep_bh_rate():
    rng = np.random.default_rng(1)
    n = 300
    A = rng.random((n, 1)) < 0.2
    codes = rng.exponential(1.0, size=(n, 50)) * (rng.random((n, 50)) < 0.3)
    rates = []
    for _ in range(200):
        table = latent_annotation_enrichment(codes, A[rng.permutation(n)], thresholds=(0.1,))
        rates.append((table.q_value < 0.05).mean())
    assert np.mean(rates) <= 0.07


def test_bad_input():
    codes = np.ones((5, 2))
    with pytest.raises(ValueError, match="same number of rows"):
        latent_annotation_enrichment(codes, np.ones((4, 1)))
    with pytest.raises(ValueError, match="binary"):
        latent_annotation_enrichment(codes, np.full((5, 1), 2))
    with pytest.raises(ValueError, match=">= 0"):
        latent_annotation_enrichment(codes, np.ones((5, 1)), thresholds=(-0.1,))
    with pytest.warns(UserWarning, match="'empty'"):
        latent_annotation_enrichment(codes, np.zeros((5, 2)) + [1, 0], annotation_names=["full", "empty"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        latent_annotation_enrichment(codes, np.eye(5)[:, :1])
