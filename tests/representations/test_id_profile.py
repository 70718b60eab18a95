"""Tests of the intrinsic-dimension profile, the layer choice and its display."""

import pickle
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.base import clone
from sklearn.datasets import load_digits, make_swiss_roll
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from skrepgeom.exceptions import DuplicateSamplesWarning
from skrepgeom.neighbors import overlap_profile
from skrepgeom.representations import (
    IntrinsicDimensionProfile,
    IntrinsicDimensionProfileDisplay,
    select_layer,
)


def brute_twonn(X, discard_fraction):
    """TwoNN written out: all distances, sorted ratios, slope through the origin."""
    distances = cdist(X, X)
    np.fill_diagonal(distances, np.inf)
    nearest = np.sort(distances, axis=1)[:, :2]
    log_mu = np.sort(np.log(nearest[:, 1] / nearest[:, 0]))
    n = X.shape[0]
    n_keep = int(n * (1 - discard_fraction))
    x = log_mu[:n_keep]
    y = -np.log(1 - np.arange(1, n_keep + 1) / n)
    return float(x @ y / (x @ x))


def cube_stack(n_samples=5000, dims=(2, 6, 4, 3), n_features=64, seed=0):
    """Uniform cubes of the given dimensions, each linearly embedded in ``n_features``."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(size=(n_samples, d)) @ rng.normal(size=(d, n_features)) for d in dims]


@pytest.fixture(scope="module")
def small_stack():
    rng = np.random.default_rng(1)
    latent = rng.normal(size=(400, 8))
    layers = [latent, latent[:, :5] @ rng.normal(size=(5, 12)), np.tanh(latent[:, :3])]
    y = (latent[:, 0] > 0).astype(int) + 2 * (latent[:, 1] > 0)
    return layers, y


# --------------------------------------------------------------------------------------
# Numbers against independent references


def test_whole_data_equals_brute_force_twonn(small_stack):
    layers, _ = small_stack
    profile = IntrinsicDimensionProfile(
        subsample_factor=1, n_repeats=1, discard_fraction=0.02, random_state=0
    ).fit(layers)
    expected = [brute_twonn(layer, 0.02) for layer in layers]
    np.testing.assert_allclose(profile.dimensions_, expected, rtol=0, atol=1e-10)
    assert profile.subset_size_ == 400
    np.testing.assert_array_equal(profile.dimensions_err_, 0.0)


def test_subsets_equal_brute_force_on_each_subset(small_stack):
    layers, _ = small_stack
    profile = IntrinsicDimensionProfile(
        subsample_factor=4, n_repeats=3, compute_overlap=False, random_state=0
    ).fit(layers)
    # The subsets are disjoint pieces of one permutation drawn from random_state.
    permutation = np.random.RandomState(0).permutation(400)[:300].reshape(3, 100)
    for layer, repeats in zip(layers, profile.dimensions_repeats_):
        expected = [brute_twonn(layer[np.sort(rows)], 0.02) for rows in permutation]
        np.testing.assert_allclose(repeats, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(profile.dimensions_, profile.dimensions_repeats_.mean(axis=1))
    np.testing.assert_allclose(
        profile.dimensions_err_, profile.dimensions_repeats_.std(axis=1) / np.sqrt(3)
    )


def test_swiss_roll_equals_dadapy():
    # DADApy 0.3.4, Data(make_swiss_roll(5000, random_state=0)[0]).compute_id_2NN(
    # algorithm="base", mu_fraction=0.9) returns 1.9534492928390401.
    X, _ = make_swiss_roll(5000, random_state=0)
    profile = IntrinsicDimensionProfile(
        subsample_factor=1, n_repeats=1, discard_fraction=0.1, compute_overlap=False
    ).fit(X)
    assert profile.dimensions_[0] == pytest.approx(1.9534, abs=1e-4)


def test_cube_stack_peak_and_global_minimum():
    layers = cube_stack()
    profile = IntrinsicDimensionProfile(
        rule="global_min_after_peak", compute_overlap=False, random_state=0
    ).fit(layers)
    assert profile.peak_layer_ == 1
    assert profile.selected_layer_ == 3
    assert select_layer(profile.dimensions_, rule="global_min_after_peak") == 3
    assert profile.subset_size_ == 5000 // 32
    assert profile.dimensions_repeats_.shape == (4, 4)


def test_overlaps_equal_overlap_profile(small_stack):
    layers, y = small_stack
    profile = IntrinsicDimensionProfile(subsample_factor=2, random_state=0).fit(layers, y)
    reference = overlap_profile(layers, n_neighbors=10, labels=y, weighted=False)
    np.testing.assert_array_equal(profile.overlap_input_, reference.first)
    np.testing.assert_array_equal(profile.overlap_consecutive_, reference.previous)
    np.testing.assert_array_equal(profile.overlap_labels_, reference.labels)
    weighted = IntrinsicDimensionProfile(
        subsample_factor=2, weighted_label_overlap=True, random_state=0
    ).fit(layers, y)
    np.testing.assert_array_equal(
        weighted.overlap_labels_, overlap_profile(layers, n_neighbors=10, labels=y).labels
    )
    assert not np.array_equal(weighted.overlap_labels_, profile.overlap_labels_)


def test_no_labels_and_no_overlap(small_stack):
    layers, _ = small_stack
    profile = IntrinsicDimensionProfile(subsample_factor=2, random_state=0).fit(layers)
    assert profile.overlap_labels_ is None
    assert profile.overlap_consecutive_.shape == (2,)
    bare = IntrinsicDimensionProfile(
        subsample_factor=2, compute_overlap=False, random_state=0
    ).fit(layers)
    assert bare.overlap_input_ is None and bare.overlap_consecutive_ is None
    np.testing.assert_array_equal(bare.dimensions_, profile.dimensions_)


# --------------------------------------------------------------------------------------
# The trained classifier's hunchback


def _train_digits_mlp():
    torch = pytest.importorskip("torch")
    from skrepgeom.utils._torch import torch_threads

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    with torch_threads(1):
        torch.manual_seed(0)
        blocks = []
        for n_in in (64, 256, 256, 256):
            blocks += [torch.nn.Linear(n_in, 256), torch.nn.ReLU()]
        model = torch.nn.Sequential(*blocks, torch.nn.Linear(256, 10))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
        for _ in range(30):
            order = torch.randperm(len(X_t))
            for start in range(0, len(X_t), 64):
                batch = order[start : start + 64]
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(X_t[batch]), y_t[batch]).backward()
                optimizer.step()
        layers = [X]
        with torch.no_grad():
            hidden = X_t
            for module in model:
                hidden = module(hidden)
                if isinstance(module, torch.nn.ReLU):
                    layers.append(hidden.numpy())
        layers.append(hidden.numpy())
    return layers, y


@pytest.fixture(scope="module")
def digits_layers():
    return _train_digits_mlp()


def test_trained_classifier_has_a_hunchback(digits_layers):
    layers, y = digits_layers
    profile = IntrinsicDimensionProfile(subsample_factor=1, n_repeats=1).fit(layers, y)
    dims = profile.dimensions_
    assert int(np.argmax(dims)) <= 2
    assert dims[-1] < 0.7 * dims.max()
    peak = profile.peak_layer_
    assert profile.selected_layer_ == peak + 1 + int(np.argmin(dims[peak + 1 :]))
    assert profile.overlap_labels_[-1] > profile.overlap_labels_[0]
    # Same network, same seed, torch 2.13 on CPU: [8.83, 8.89, 7.95, 6.49, 5.71, 5.17].
    np.testing.assert_allclose(dims, [8.83, 8.89, 7.95, 6.49, 5.71, 5.17], atol=0.3)


# --------------------------------------------------------------------------------------
# select_layer


def test_select_layer_rules():
    profile = [3.0, 9.0, 7.0, 5.0, 5.1, 4.0, 4.3, 4.4]
    assert select_layer(profile) == 3
    assert select_layer(profile, rule="first_local_min_after_peak", tol=0.2) == 5
    assert select_layer(profile, rule="first_local_min_after_peak", tol=1.0) == 7
    assert select_layer(profile, rule="global_min_after_peak") == 5
    # The minimum after the peak is 4.0: 5.0 <= 1.25 * 4.0 but 5.0 > 1.1 * 4.0.
    assert select_layer(profile, rule="plateau_start", plateau_tol=0.25) == 3
    assert select_layer(profile, rule="plateau_start", plateau_tol=0.1) == 5
    assert select_layer(profile, rule="plateau_start", plateau_tol=0.0) == 5


def test_select_layer_smoothing():
    profile = np.array([1.0, 6.0, 2.0, 5.0, 4.0, 4.5, 3.0])
    # Unsmoothed, the dip at layer 2 is the first local minimum.
    assert select_layer(profile) == 2
    # Width 3: [3.5, 3, 13/3, 11/3, 4.5, 23/6, 3.75]; peak 4.5 at layer 4.
    smoothed = np.array([3.5, 3.0, 13 / 3, 11 / 3, 4.5, 23 / 6, 3.75])
    assert select_layer(profile, smooth=3) == 6
    assert select_layer(smoothed) == 6
    assert select_layer(profile, smooth=3, rule="global_min_after_peak") == 6
    with pytest.raises(ValueError, match="odd"):
        select_layer(profile, smooth=2)


def test_select_layer_peak_at_last_layer_warns():
    with pytest.warns(UserWarning, match="last layer"):
        assert select_layer([1.0, 2.0, 3.0]) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert select_layer([4.0]) == 0
        assert select_layer([3.0, 3.0, 1.0]) == 2  # first argmax is layer 0


def test_select_layer_bad_input():
    with pytest.raises(ValueError, match="rule"):
        select_layer([1.0, 2.0], rule="elbow")
    with pytest.raises(ValueError, match="1-D"):
        select_layer([[1.0, 2.0]])
    with pytest.raises(ValueError, match="NaN"):
        select_layer([1.0, np.nan])


# --------------------------------------------------------------------------------------
# Input formats, subsets, duplicates


def test_input_formats_agree(small_stack):
    layers, y = small_stack
    same = [layers[0], layers[0][:, ::-1], layers[0][:, 1:] * 2]
    params = dict(subsample_factor=2, random_state=0)
    from_list = IntrinsicDimensionProfile(**params).fit(layers, y)
    from_dict = IntrinsicDimensionProfile(**params).fit(
        {"a": layers[0], "b": layers[1], "c": layers[2]}, y
    )
    np.testing.assert_array_equal(from_dict.dimensions_, from_list.dimensions_)
    np.testing.assert_array_equal(from_dict.overlap_labels_, from_list.overlap_labels_)
    assert from_dict.layer_names_ == ["a", "b", "c"]
    assert from_list.layer_names_ == ["layer_0", "layer_1", "layer_2"]
    stacked = np.stack([layers[0], same[1], layers[0] * 3], axis=1)
    from_3d = IntrinsicDimensionProfile(**params).fit(stacked)
    from_2d = IntrinsicDimensionProfile(n_layers=3, **params).fit(stacked.reshape(400, -1))
    from_pieces = IntrinsicDimensionProfile(**params).fit(list(stacked.transpose(1, 0, 2)))
    np.testing.assert_array_equal(from_3d.dimensions_, from_pieces.dimensions_)
    np.testing.assert_array_equal(from_2d.dimensions_, from_pieces.dimensions_)
    np.testing.assert_array_equal(from_2d.overlap_input_, from_pieces.overlap_input_)


def test_a_list_of_rows_is_one_layer():
    X = np.random.default_rng(0).normal(size=(60, 3))
    from_rows = IntrinsicDimensionProfile(subsample_factor=1, n_repeats=1).fit(X.tolist())
    assert from_rows.layer_names_ == ["layer_0"] and from_rows.n_features_in_ == 3
    assert from_rows.dimensions_[0] == pytest.approx(brute_twonn(X, 0.02), abs=1e-10)


@pytest.mark.filterwarnings("ignore:The intrinsic-dimension profile peaks:UserWarning")
def test_subsets_are_shared_by_the_layers():
    X = np.random.default_rng(0).normal(size=(600, 5))
    # Doubling is exact in floating point, so equal subsets give equal estimates;
    # a reversed column order gives the same distances.
    layers = [X, 2 * X, X[:, ::-1]]
    profile = IntrinsicDimensionProfile(
        subsample_factor=6, n_repeats=5, compute_overlap=False, random_state=3
    ).fit(layers)
    repeats = profile.dimensions_repeats_
    np.testing.assert_allclose(repeats[1], repeats[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(repeats[2], repeats[0], rtol=0, atol=1e-12)
    assert np.ptp(repeats[0]) > 0.05
    again = clone(profile).fit(layers)
    np.testing.assert_array_equal(again.dimensions_repeats_, repeats)
    other = clone(profile).set_params(random_state=4).fit(layers)
    assert not np.array_equal(other.dimensions_repeats_, repeats)


def test_independent_draws_when_subsets_do_not_fit():
    X = np.random.default_rng(0).normal(size=(100, 4))
    profile = IntrinsicDimensionProfile(
        subsample_factor=2, n_repeats=5, compute_overlap=False, random_state=0
    ).fit([X, X])
    assert profile.dimensions_repeats_.shape == (2, 5)
    assert len(np.unique(profile.dimensions_repeats_[0])) == 5
    np.testing.assert_array_equal(profile.dimensions_repeats_[0], profile.dimensions_repeats_[1])


def test_n_jobs_does_not_change_results(small_stack):
    layers, y = small_stack
    one = IntrinsicDimensionProfile(subsample_factor=2, random_state=0, n_jobs=1).fit(layers, y)
    two = IntrinsicDimensionProfile(subsample_factor=2, random_state=0, n_jobs=2).fit(layers, y)
    names = ("dimensions_repeats_", "overlap_input_", "overlap_consecutive_", "overlap_labels_")
    for name in names:
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


def test_verbose_shows_progress(small_stack, capsys):
    layers, _ = small_stack
    quiet = IntrinsicDimensionProfile(subsample_factor=2, random_state=0).fit(layers)
    loud = IntrinsicDimensionProfile(subsample_factor=2, random_state=0, verbose=1).fit(layers)
    assert "ID profile layers" in capsys.readouterr().err
    np.testing.assert_array_equal(loud.dimensions_, quiet.dimensions_)


@pytest.mark.filterwarnings("ignore:The intrinsic-dimension profile peaks:UserWarning")
def test_duplicates_policy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X_dup = X.copy()
    # 50 copies, earlier than their originals: rows 200-249 are the ones removed.
    X_dup[100:150] = X[200:250]
    Y = rng.normal(size=(300, 6))
    params = dict(subsample_factor=1, n_repeats=1, random_state=0)
    with pytest.warns(DuplicateSamplesWarning, match="50 duplicate"):
        warned = IntrinsicDimensionProfile(**params).fit([X_dup, Y])
    np.testing.assert_array_equal(warned.n_duplicates_, [50, 0])
    distinct = np.delete(X, np.s_[100:150], axis=0)
    assert warned.dimensions_[0] == pytest.approx(brute_twonn(distinct, 0.02), abs=1e-10)
    assert warned.dimensions_[1] == pytest.approx(brute_twonn(Y, 0.02), abs=1e-10)
    # The overlaps use every row: a copy's neighbour at distance 0 is its original.
    assert warned.overlap_input_.shape == (2,)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DuplicateSamplesWarning)
        removed = IntrinsicDimensionProfile(duplicates="remove", **params).fit([X_dup, Y])
    np.testing.assert_array_equal(removed.dimensions_, warned.dimensions_)
    with pytest.raises(ValueError, match="duplicate"):
        IntrinsicDimensionProfile(duplicates="raise", **params).fit([X_dup, Y])


@pytest.mark.filterwarnings("ignore:The intrinsic-dimension profile peaks:UserWarning")
def test_duplicates_inside_subsets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    X[200:] = X[:200]  # every value twice
    profile = IntrinsicDimensionProfile(
        subsample_factor=4, n_repeats=2, duplicates="remove", random_state=0
    ).fit([X, X[:, ::-1]])
    subsets = np.random.RandomState(0).permutation(400)[:200].reshape(2, 100)
    used = np.unique(subsets)
    expected_count = len(used) - len(np.unique(X[used], axis=0))
    assert expected_count > 0
    np.testing.assert_array_equal(profile.n_duplicates_, [expected_count] * 2)
    expected = [brute_twonn(np.unique(X[rows], axis=0), 0.02) for rows in subsets]
    np.testing.assert_allclose(profile.dimensions_repeats_[0], expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(profile.dimensions_repeats_[1], expected, rtol=0, atol=1e-10)


# --------------------------------------------------------------------------------------
# transform, feature names, ecosystem


def test_transform_returns_the_selected_layer(small_stack):
    layers, y = small_stack
    profile = IntrinsicDimensionProfile(subsample_factor=2, random_state=0).fit(layers, y)
    selected = profile.selected_layer_
    out = profile.transform(layers)
    np.testing.assert_array_equal(out, layers[selected])
    assert not np.shares_memory(out, layers[selected])
    names = profile.get_feature_names_out()
    assert list(names) == [f"layer_{selected}__{j}" for j in range(layers[selected].shape[1])]
    with pytest.raises(ValueError, match="widths"):
        profile.transform(layers[:2])


def test_transform_of_column_blocks_and_pandas_output():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    latent = rng.uniform(size=(500, 6))
    blocks = np.hstack([latent[:, [0, 1, 0, 1]], latent[:, :4], latent[:, [2, 3, 2, 3]]])
    frame = pd.DataFrame(blocks, columns=[f"f{j}" for j in range(12)])
    profile = IntrinsicDimensionProfile(n_layers=3, subsample_factor=2, random_state=0)
    profile.set_output(transform="pandas")
    out = profile.fit(frame).transform(frame)
    assert profile.selected_layer_ == 2
    assert list(out.columns) == ["f8", "f9", "f10", "f11"]
    np.testing.assert_array_equal(out.to_numpy(), blocks[:, 8:])


def test_clone_and_pickle(small_stack):
    layers, y = small_stack
    profile = IntrinsicDimensionProfile(subsample_factor=2, random_state=0).fit(layers, y)
    restored = pickle.loads(pickle.dumps(profile))
    np.testing.assert_array_equal(restored.dimensions_, profile.dimensions_)
    np.testing.assert_array_equal(restored.transform(layers), profile.transform(layers))
    assert clone(profile).get_params() == profile.get_params()


@pytest.mark.parametrize(
    "params, X_kind, match",
    [
        ({}, "uneven", "same samples"),
        ({"subsample_factor": 32}, "stack", "subsample_factor=32"),
        ({"discard_fraction": 1.0}, "stack", "discard_fraction"),
        ({"discard_fraction": -0.1}, "stack", "discard_fraction"),
        ({"n_neighbors": 400}, "stack", "n_neighbors=400"),
        ({"n_layers": 3}, "wide", "not divisible by n_layers=3"),
        ({"duplicates": "raise", "subsample_factor": 1}, "duplicated", "duplicate"),
        ({"smooth": 2}, "stack", "odd"),
        ({}, "nan", "NaN"),
        ({}, "empty", "at least one layer"),
        ({"rule": "elbow"}, "stack", "rule"),
    ],
)
def test_bad_input(small_stack, params, X_kind, match):
    layers, _ = small_stack
    X = {
        "uneven": [layers[0], layers[1][:399]],
        "stack": layers,
        "wide": np.hstack([layers[0], layers[1]]),
        "duplicated": [np.vstack([layers[0][:399], layers[0][:1]]), layers[1]],
        "nan": [layers[0], np.where(np.eye(400, 12, dtype=bool), np.nan, layers[1])],
        "empty": [],
    }[X_kind]
    profile = IntrinsicDimensionProfile(**{"subsample_factor": 2, **params})
    with pytest.raises(ValueError, match=match):
        profile.fit(X)


def test_wrong_number_of_labels(small_stack):
    layers, y = small_stack
    with pytest.raises(ValueError, match="one label per sample"):
        IntrinsicDimensionProfile(subsample_factor=2).fit(layers, y[:-1])


def test_not_fitted(small_stack):
    layers, _ = small_stack
    profile = IntrinsicDimensionProfile()
    with pytest.raises(NotFittedError):
        profile.transform(layers)
    with pytest.raises(NotFittedError):
        profile.get_feature_names_out()
    with pytest.raises(NotFittedError):
        IntrinsicDimensionProfileDisplay.from_estimator(profile)


def test_activations_feed_the_profile():
    torch = pytest.importorskip("torch")
    try:
        from skrepgeom.representations import LayerActivations
    except ImportError:
        pytest.skip("LayerActivations is not available in skrepgeom.representations")
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:600]).astype(np.float32)
    y = y[:600]
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16), torch.nn.ReLU()
    )
    activations = LayerActivations(model, ["1", "3"])
    profile = IntrinsicDimensionProfile(
        activations=activations, subsample_factor=2, random_state=0
    ).fit(X, y)
    layers = clone(activations).fit(X).transform_layers(X)
    direct = IntrinsicDimensionProfile(subsample_factor=2, random_state=0).fit(layers, y)
    assert profile.layer_names_ == ["1", "3"]
    np.testing.assert_allclose(profile.dimensions_, direct.dimensions_)
    np.testing.assert_allclose(profile.overlap_labels_, direct.overlap_labels_)
    np.testing.assert_allclose(profile.transform(X), layers[profile.selected_layer_name_])
    assert profile.activations_ is not activations


# --------------------------------------------------------------------------------------
# Display


def test_display(small_stack):
    import matplotlib.pyplot as plt

    layers, y = small_stack
    profile = IntrinsicDimensionProfile(subsample_factor=2, random_state=0).fit(layers, y)
    _, ax = plt.subplots()
    display = IntrinsicDimensionProfileDisplay.from_estimator(profile, ax=ax)
    assert display.ax_ is ax and display.figure_ is ax.figure
    np.testing.assert_array_equal(display.errorbar_.lines[0].get_ydata(), profile.dimensions_)
    assert sorted(display.overlap_lines_) == ["consecutive", "input", "labels"]
    np.testing.assert_array_equal(display.overlap_lines_["consecutive"].get_xdata(), [1, 2])
    np.testing.assert_array_equal(
        display.overlap_lines_["labels"].get_ydata(), profile.overlap_labels_
    )
    assert display.selected_marker_.get_xdata()[0] == profile.selected_layer_
    assert display.peak_line_.get_xdata()[0] == profile.peak_layer_
    assert [t.get_text() for t in ax.get_xticklabels()] == profile.layer_names_

    bare = IntrinsicDimensionProfile(
        subsample_factor=2, compute_overlap=False, random_state=0
    ).fit(layers)
    display = IntrinsicDimensionProfileDisplay.from_estimator(bare)
    assert display.ax_overlap_ is None and display.overlap_lines_ == {}
    with pytest.raises(TypeError, match="IntrinsicDimensionProfile"):
        IntrinsicDimensionProfileDisplay.from_estimator(StandardScaler().fit(layers[0]))
