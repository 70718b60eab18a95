"""ZigzagPersistenceSimilarity: reference figures of the paper's setting, input forms, API."""

import pickle
import re
from pathlib import Path

import gudhi
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skrepgeom.topology import (
    ZigzagPersistenceSimilarity,
    layers_to_prune,
    persistence_similarity,
    pruning_score,
)
from skrepgeom.topology import _complexes
from tests.topology.conftest import drifting_cloud, pinched_circle

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def pinched_fit(pinched):
    return ZigzagPersistenceSimilarity().fit(pinched)


@pytest.fixture(scope="module")
def noisy_fit():
    return ZigzagPersistenceSimilarity().fit(pinched_circle(noise=0.04, jitter=0.01))


# Pinched circle: dionysus 2.0.10 bars, gudhi 3.13 Betti numbers at all 11 positions.
def test_pinched_circle_barcode(pinched_fit):
    assert pinched_fit.barcode_.tolist() == [[0, 0, 11], [1, 0, 11], [1, 6, 11]]
    assert pinched_fit.layer_barcode_.tolist() == [[0, 0, 6], [1, 0, 6], [1, 3, 6]]
    assert pinched_fit.betti_.tolist() == [[1] * 6, [1, 1, 1, 2, 2, 2]]


def test_pinched_circle_similarity_ilp_and_cut(pinched_fit):
    ps = pinched_fit.similarity_[1]
    assert ps.dtype == np.int64
    assert ps[:3].tolist() == [[1] * 6] * 3
    assert ps[3:].tolist() == [[1, 1, 1, 2, 2, 2]] * 3
    assert np.allclose(pinched_fit.ilp_profile(2.0), [1, 1, 1, 0.632, 0.532, 0.545], atol=1e-3)
    assert np.allclose(pinched_fit.ilp_profile(-1.0), [1, 1, 1, 0.725, 0.824, 0.829], atol=1e-3)
    # Closed form of row 3 at alpha=2: weights 9, 4, 1, 0, 1, 4 on A = .5, .5, .5, 1, 1, 1.
    assert pinched_fit.ilp_profile(2.0)[3] == pytest.approx(12 / 19)
    assert np.allclose(pinched_fit.pruning_score_, [0.75, 0.75, 0.75, 1, 1, 1])
    assert pinched_fit.pruned_layers_.tolist() == [3, 4]
    assert pinched_fit.layers_to_prune(0.8).tolist() == [3, 4]
    normalized = pinched_fit.normalized_similarity_[1]
    assert np.allclose(normalized[3], [0.5, 0.5, 0.5, 1, 1, 1])


def test_pinched_circle_noisy(noisy_fit):
    assert noisy_fit.betti_[1].tolist() == [3, 4, 1, 2, 2, 6]
    assert np.allclose(
        noisy_fit.pruning_score_, [1 / 6, 1 / 6, 1 / 6, 5 / 18, 5 / 18, 1 / 3], atol=1e-3
    )
    # The maximum is at the last layer, which is never cut.
    assert noisy_fit.pruned_layers_.tolist() == []
    assert noisy_fit.layers_to_prune(0.8).tolist() == [3, 4]


def test_truncation_dimension_does_not_change_lower_bars(pinched, pinched_fit):
    deep = ZigzagPersistenceSimilarity(homology_dims=(0, 1, 2, 3), max_simplex_dim=4).fit(pinched)
    low = deep.barcode_[deep.barcode_[:, 0] <= 1]
    assert np.array_equal(low, pinched_fit.barcode_)
    assert not np.any(deep.barcode_[:, 0] >= 2)


def test_betti_numbers_equal_gudhi_on_each_layer(pinched, pinched_fit):
    for layer in range(pinched.shape[1]):
        indptr, indices = _complexes.knn_graph(pinched[:, layer], 5)
        tree = gudhi.SimplexTree()
        for v in range(pinched.shape[0]):
            tree.insert([v])
        for u in range(pinched.shape[0]):
            for v in indices[indptr[u] : indptr[u + 1]]:
                tree.insert([u, int(v)])
        tree.expansion(2)
        assert tree.num_simplices() == pinched_fit.n_simplices_[layer]
        tree.compute_persistence(persistence_dim_max=True)
        betti = tree.betti_numbers() + [0, 0]
        assert pinched_fit.betti_[:, layer].tolist() == betti[:2]


# The authors' released barcodes (time units = position + 1) and their cuts.
PAPER_CUTS = {
    "llama_2_7b": (33, (20, 29), (18, 31)),
    "llama_3_8b": (33, (19, 28), (17, 30)),
    "mistral_7b": (33, (21, 28), (19, 30)),
    "pythia_6_9b": (33, (19, 29), (17, 31)),
    "llama_2_13b": (41, (24, 36), (22, 38)),
    "llama_2_70b": (81, (49, 71), (46, 75)),
}


@pytest.mark.parametrize("model", sorted(PAPER_CUTS))
def test_paper_barcode_cuts(model):
    n_layers, cut_09, cut_08 = PAPER_CUTS[model]
    rows = np.loadtxt(DATA / f"zigzag_{model}_sst.csv", delimiter=",", skiprows=1, dtype=np.int64)
    bars = np.repeat(rows[:, :3], rows[:, 3], axis=0)
    bars[:, 1:] -= 1
    assert bars[:, 2].max() == 2 * n_layers - 1
    score = pruning_score(persistence_similarity(bars, n_layers, dim=1))
    assert layers_to_prune(score, 0.9).tolist() == list(range(cut_09[0], cut_09[1] + 1))
    assert layers_to_prune(score, 0.8).tolist() == list(range(cut_08[0], cut_08[1] + 1))


def test_input_forms_agree(pinched):
    n, n_layers, d = pinched.shape
    from_3d = ZigzagPersistenceSimilarity().fit(pinched)
    from_list = ZigzagPersistenceSimilarity().fit([pinched[:, l] for l in range(n_layers)])
    flat = pinched.reshape(n, n_layers * d)
    from_2d = ZigzagPersistenceSimilarity(n_layers=n_layers).fit(flat)
    for other in (from_list, from_2d):
        assert np.array_equal(other.barcode_, from_3d.barcode_)
        assert np.array_equal(other.similarity_, from_3d.similarity_)
    assert from_2d.n_features_in_ == from_3d.n_features_in_ == n_layers * d
    assert from_3d.layer_widths_.tolist() == [d] * n_layers
    kept = [l for l in range(n_layers) if l not in (3, 4)]
    assert np.array_equal(from_3d.transform(pinched), pinched[:, kept])
    assert np.array_equal(from_2d.transform(flat), pinched[:, kept].reshape(n, -1))
    listed = from_list.transform([pinched[:, l] for l in range(n_layers)])
    assert len(listed) == len(kept) and np.array_equal(listed[-1], pinched[:, 5])
    support = from_2d.get_support()
    assert support.tolist() == [l not in (3, 4) for l in range(n_layers) for _ in range(d)]
    assert from_2d.get_feature_names_out().tolist() == [
        f"x{i}" for i in np.flatnonzero(support)
    ]


def test_unequal_layer_widths(pinched):
    layers = [pinched[:, 0], np.c_[pinched[:, 1], pinched[:, 1, :1]], pinched[:, 2]]
    zz = ZigzagPersistenceSimilarity().fit(layers)
    assert zz.layer_widths_.tolist() == [2, 3, 2]
    assert zz.get_support().shape == (7,)


def test_permutation_and_float32_keep_the_barcode(pinched, pinched_fit):
    permutation = np.random.default_rng(1).permutation(pinched.shape[0])
    permuted = ZigzagPersistenceSimilarity().fit(pinched[permutation])
    assert np.array_equal(permuted.barcode_, pinched_fit.barcode_)
    single = ZigzagPersistenceSimilarity().fit(pinched.astype(np.float32))
    assert np.array_equal(single.barcode_, pinched_fit.barcode_)
    assert single.transform(pinched.astype(np.float32)).dtype == np.float32


def test_n_jobs_gives_the_same_result(pinched, pinched_fit):
    two = ZigzagPersistenceSimilarity(n_jobs=2).fit(pinched)
    assert np.array_equal(two.barcode_, pinched_fit.barcode_)
    assert np.array_equal(two.n_simplices_, pinched_fit.n_simplices_)


@pytest.mark.filterwarnings("ignore:.*no cycle")
def test_verbose_prints_stages(pinched, capsys):
    ZigzagPersistenceSimilarity(verbose=1).fit(pinched[:60, :2])
    err = capsys.readouterr().err
    for stage in ("kNN and complexes", "operations", "reduction", "summaries"):
        assert stage in err


def test_one_layer_2d_input():
    X = np.random.default_rng(0).standard_normal((30, 3))
    zz = ZigzagPersistenceSimilarity().fit(X)
    assert zz.n_layers_ == 1 and zz.similarity_.shape == (2, 1, 1)
    assert zz.betti_[0, 0] >= 1
    assert np.array_equal(zz.transform(X), X)


def test_no_cycle_warns_nan_and_empty_cut():
    # Points on a line: no 1-cycle at any layer.
    x = np.linspace(0, 1, 30)[:, None]
    X = np.stack([np.c_[x, 0 * x], np.c_[x, 0 * x + 1]], axis=1)
    with pytest.warns(UserWarning, match="no cycle"):
        zz = ZigzagPersistenceSimilarity().fit(X)
    assert np.all(np.isnan(zz.pruning_score_)) and zz.pruned_layers_.size == 0


def test_duplicate_rows_are_neighbours():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2))
    X = np.concatenate([X, X[:1]])
    indptr, indices = _complexes.knn_graph(X, 1)
    # Row 20 copies row 0: the two are each other's first neighbour.
    assert 20 in indices[indptr[0] : indptr[1]]


def test_knn_graph_is_the_union_of_neighbourhoods():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 3))
    k = 4
    distances = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]
    expected = {(min(u, v), max(u, v)) for u in range(40) for v in nearest[u]}
    indptr, indices = _complexes.knn_graph(X, k)
    got = {(u, int(v)) for u in range(40) for v in indices[indptr[u] : indptr[u + 1]]}
    assert got == expected


def test_pipeline_grid_search_clone_and_pickle(pinched):
    rng = np.random.default_rng(0)
    n, n_layers, d = pinched.shape
    X = pinched.reshape(n, n_layers * d)
    y = (pinched[:, 0, 0] > 0).astype(int)
    pipe = make_pipeline(ZigzagPersistenceSimilarity(n_layers=n_layers), LogisticRegression())
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9
    search = GridSearchCV(
        pipe,
        {
            "zigzagpersistencesimilarity__n_neighbors": [4, 5],
            "zigzagpersistencesimilarity__prune_threshold": [0.8, 1.0],
        },
        cv=2,
    )
    search.fit(X[rng.permutation(n)], y)
    assert set(search.best_params_) == {
        "zigzagpersistencesimilarity__n_neighbors",
        "zigzagpersistencesimilarity__prune_threshold",
    }
    fitted = pipe[0]
    restored = pickle.loads(pickle.dumps(fitted))
    for name in ("barcode_", "similarity_", "pruning_score_", "pruned_layers_", "betti_"):
        assert np.array_equal(getattr(restored, name), getattr(fitted, name), equal_nan=True)
    assert clone(fitted).get_params() == fitted.get_params()


BAD_X = [
    (np.full((20, 2, 2), np.nan), ValueError, "NaN"),
    (np.full((20, 2, 2), np.inf), ValueError, "infinity"),
    (np.zeros(5), ValueError, "Expected 2D array, got 1D array"),
    (np.zeros((5, 2, 2, 2)), ValueError, "ndim=4"),
    ([np.zeros((10, 2)), np.zeros((11, 2))], ValueError, "same number of samples"),
]


@pytest.mark.parametrize("X, error, match", BAD_X)
def test_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        ZigzagPersistenceSimilarity().fit(X)


def test_sparse_input_is_refused():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="[Ss]parse"):
        ZigzagPersistenceSimilarity().fit(sparse.random(20, 4, density=0.5, format="csr"))


def test_layer_count_errors(pinched):
    with pytest.raises(ValueError, match="cannot be cut into n_layers=5"):
        ZigzagPersistenceSimilarity(n_layers=5).fit(pinched.reshape(200, -1))
    with pytest.raises(ValueError, match="n_layers=3 conflicts with the 6 layers"):
        ZigzagPersistenceSimilarity(n_layers=3).fit(pinched)
    with pytest.raises(ValueError, match="n_samples=4"):
        ZigzagPersistenceSimilarity().fit(pinched[:4])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(homology_dims=()), "non-empty"),
        (dict(homology_dims=(-1, 1)), "non-negative"),
        (dict(homology_dims=(0, 2), max_simplex_dim=2, prune_dim=2), "max_simplex_dim > 2"),
        (dict(homology_dims=(0, 1), max_simplex_dim=1), "truncation artefacts"),
        (dict(prune_dim=2), "prune_dim=2 must be one of"),
        (dict(prune_threshold=0.0), "prune_threshold"),
        (dict(prune_threshold=1.5), "prune_threshold"),
    ],
)
def test_bad_parameters(pinched, params, match):
    with pytest.raises(ValueError, match=match):
        ZigzagPersistenceSimilarity(**params).fit(pinched[:, :2])


def test_transform_layout_must_match(pinched, pinched_fit):
    with pytest.raises(ValueError, match="layer layout must match"):
        pinched_fit.transform(pinched[:, :4])
    with pytest.raises(ValueError, match="layer layout must match"):
        pinched_fit.transform([pinched[:, l] for l in range(5)] + [pinched[:, 5, :1]])


def test_too_many_cliques_is_an_error(pinched, monkeypatch):
    monkeypatch.setattr(_complexes, "MAX_CLIQUES", 500)
    with pytest.raises(ValueError, match=re.escape("more than 500 simplices")):
        ZigzagPersistenceSimilarity().fit(pinched)


def test_ilp_profile_rejects_unfitted_dimension(pinched_fit):
    with pytest.raises(ValueError, match="dim=2"):
        pinched_fit.ilp_profile(dim=2)


@pytest.mark.slow
def test_drifting_cloud_counts_at_scale():
    # Counts of dionysus 2.0.10 and FastZigzag on the same operations.
    layers = drifting_cloud(10_000, 6)
    complexes = [
        _complexes.clique_complex(*_complexes.knn_graph(layer, 5), 4) for layer in layers
    ]
    zigzag = _complexes.layer_zigzag(complexes)
    assert zigzag["simplex_dim"].shape[0] == 195_666
    assert zigzag["op_simplex"].shape[0] + zigzag["n_simplices"][-1] == 419_350
    zz = ZigzagPersistenceSimilarity(homology_dims=(0, 1, 2, 3)).fit(layers)
    dims = zz.barcode_[:, 0]
    assert np.count_nonzero(dims == 0) == 1_086
    assert np.count_nonzero(dims == 1) == 122_319
