import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import skrepgeom
from skrepgeom.representations import LayerActivations
from skrepgeom.utils._torch import torch_threads

transformers = pytest.importorskip("transformers")

PAD = 0
LAYERS = ["h.0", "h.1"]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # Tiny forward passes spend their time in thread hand-offs on a loaded machine.
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def gpt2():
    torch.manual_seed(0)
    model = transformers.GPT2Model(transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2))
    return model.eval()


@pytest.fixture(scope="module")
def sequences():
    rng = np.random.default_rng(0)
    return [rng.integers(1, 1000, size=length) for length in (5, 3, 12, 7, 1, 9, 4, 12, 6)]


@pytest.fixture(scope="module")
def padded(sequences):
    """The sequences right-padded with PAD into one 2-D array."""
    X = np.full((len(sequences), max(s.size for s in sequences)), PAD, dtype=np.int64)
    for i, ids in enumerate(sequences):
        X[i, : ids.size] = ids
    return X


def _hand_hooks(model, sequences, names):
    """Per-sequence (unpadded) token states of ``names`` with plain register_forward_hook."""
    store = {}
    modules = dict(model.named_modules())
    handles = [
        modules[name].register_forward_hook(
            lambda m, a, out, name=name: store.__setitem__(name, out[0] if isinstance(out, tuple) else out)
        )
        for name in names
    ]
    states = {name: [] for name in names}
    try:
        with torch.no_grad():
            for ids in sequences:
                model(input_ids=torch.as_tensor(ids)[None])
                for name in names:
                    states[name].append(store[name][0].numpy())
    finally:
        for handle in handles:
            handle.remove()
    return states


def _hidden_states(model, sequences):
    with torch.no_grad():
        return [
            [h[0].numpy() for h in model(input_ids=torch.as_tensor(ids)[None],
                                         output_hidden_states=True).hidden_states]
            for ids in sequences
        ]


@pytest.fixture(scope="module")
def reference(gpt2, sequences):
    return _hand_hooks(gpt2, sequences, LAYERS)


@pytest.mark.parametrize(
    "pooling, reduce",
    [
        ("mean", lambda h: h.mean(axis=0)),
        ("last", lambda h: h[-1]),
        ("first", lambda h: h[0]),
        (lambda hidden, mask: hidden.masked_fill(~mask[..., None], -np.inf).amax(dim=1),
         lambda h: h.max(axis=0)),
    ],
    ids=["mean", "last", "first", "callable"],
)
def test_pooling_equals_hand_written_hooks(gpt2, sequences, padded, reference, pooling, reduce):
    acts = LayerActivations(gpt2, LAYERS, pooling=pooling, pad_token_id=PAD, batch_size=4)
    got = acts.fit(padded).transform_layers(padded)
    assert list(got) == LAYERS
    for name in LAYERS:
        expected = np.stack([reduce(h) for h in reference[name]])
        np.testing.assert_allclose(got[name], expected, atol=1e-6)
    # A ragged list is padded inside and gives the same rows.
    ragged = LayerActivations(gpt2, LAYERS, pooling=pooling, batch_size=4).fit(sequences)
    np.testing.assert_allclose(ragged.transform(sequences), acts.transform(padded), atol=1e-6)


def test_all_drops_padding_rows(gpt2, sequences, padded, reference):
    acts = LayerActivations(gpt2, LAYERS, pooling="all", pad_token_id=PAD, batch_size=4).fit(padded)
    got = acts.transform_layers(padded)
    n_tokens = sum(s.size for s in sequences)
    for name in LAYERS:
        assert got[name].shape == (n_tokens, 32)
        np.testing.assert_allclose(got[name], np.concatenate(reference[name]), atol=1e-6)
    np.testing.assert_array_equal(
        acts.token_sample_index_, np.repeat(np.arange(len(sequences)), [s.size for s in sequences])
    )
    assert acts.transform(padded).shape == (n_tokens, 64)


def test_hidden_state_indices_equal_output_hidden_states(gpt2, sequences, padded, reference):
    states = _hidden_states(gpt2, sequences)
    acts = LayerActivations(gpt2, "hidden_states", pad_token_id=PAD, batch_size=5).fit(padded)
    assert acts.layer_names_ == ["hidden_states.0", "hidden_states.1", "hidden_states.2"]
    got = acts.transform_layers(padded)
    for index in range(3):
        expected = np.stack([s[index].mean(axis=0) for s in states])
        np.testing.assert_allclose(got[f"hidden_states.{index}"], expected, atol=1e-6)
    # Block 0's output is hidden state 1; the last hidden state is after ln_f, not h.1.
    np.testing.assert_allclose(got["hidden_states.1"],
                               np.stack([h.mean(axis=0) for h in reference["h.0"]]), atol=1e-6)
    last = LayerActivations(gpt2, [-1], pad_token_id=PAD).fit(padded)
    assert last.layer_names_ == ["hidden_states.2"]
    np.testing.assert_allclose(last.transform(padded), got["hidden_states.2"], atol=1e-6)


def test_flatten_equals_a_padded_batch(gpt2, padded):
    acts = LayerActivations(gpt2, ["h.1"], pooling="flatten", pad_token_id=PAD, batch_size=4)
    got = acts.fit(padded).transform(padded)
    store = {}
    handle = gpt2.h[1].register_forward_hook(lambda m, a, out: store.update(h=out))
    try:
        with torch.no_grad():
            gpt2(input_ids=torch.as_tensor(padded), attention_mask=torch.as_tensor(padded != PAD).long())
    finally:
        handle.remove()
    hidden = store["h"][0] if isinstance(store["h"], tuple) else store["h"]
    np.testing.assert_allclose(got, hidden.reshape(len(padded), -1).numpy(), atol=1e-6)
    assert acts.layer_dims_ == [12 * 32]


def test_hook_input_and_include_input(gpt2, padded, reference, sequences):
    acts = LayerActivations(gpt2, ["h.1"], hook="input", include_input=True, pad_token_id=PAD)
    got = acts.fit(padded).transform_layers(padded)
    assert acts.layer_names_ == ["input", "h.1"]
    np.testing.assert_allclose(got["h.1"], np.stack([h.mean(axis=0) for h in reference["h.0"]]),
                               atol=1e-6)
    with torch.no_grad():
        embedded = np.stack([gpt2.wte(torch.as_tensor(ids)).mean(dim=0).numpy() for ids in sequences])
    np.testing.assert_allclose(got["input"], embedded, atol=1e-6)


class _TwoOutputs(torch.nn.Module):
    def forward(self, x):
        return x * 2, x + 1


def test_output_index_and_float_include_input():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), _TwoOutputs())
    X = np.random.default_rng(0).normal(size=(6, 3))
    acts = LayerActivations(model, ["1"], output_index=1, include_input=True, dtype="float64").fit(X)
    got = acts.transform_layers(X)
    with torch.no_grad():
        expected = model[0](torch.as_tensor(X, dtype=torch.float32)).numpy() + 1
    np.testing.assert_allclose(got["1"], expected, atol=1e-6)
    np.testing.assert_array_equal(got["input"], X)
    assert got["1"].dtype == np.float64
    with pytest.raises(ValueError, match="output_index=2"):
        LayerActivations(model, ["1"], output_index=2).fit(X)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:120].astype(np.float32) / 16, y[:120]


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 6, 3),
        torch.nn.Flatten(), torch.nn.Linear(216, 10),
    ).eval()


def test_cnn_conv_maps_flattened_or_spatial_mean(cnn, digits):
    X, _ = digits
    acts = LayerActivations(cnn, ["1", "2", "4"], input_shape=(1, 8, 8), batch_size=50).fit(X)
    assert acts.layer_dims_ == [4 * 8 * 8, 6 * 6 * 6, 10]
    with torch.no_grad():
        first = torch.relu(cnn[0](torch.as_tensor(X).reshape(-1, 1, 8, 8)))
        second = cnn[2](first)
        logits = cnn(torch.as_tensor(X).reshape(-1, 1, 8, 8))
    got = acts.transform_layers(X)
    np.testing.assert_allclose(got["1"], first.reshape(len(X), -1).numpy(), atol=1e-6)
    np.testing.assert_allclose(got["2"], second.reshape(len(X), -1).numpy(), atol=1e-6)
    np.testing.assert_allclose(got["4"], logits.numpy(), atol=1e-6)
    spatial = LayerActivations(cnn, ["1", "2"], input_shape=(1, 8, 8), pooling="spatial_mean")
    np.testing.assert_allclose(
        spatial.fit(X).transform(X),
        np.hstack([first.mean(dim=(2, 3)).numpy(), second.mean(dim=(2, 3)).numpy()]), atol=1e-6,
    )


def test_memmap_equals_in_memory(gpt2, padded, tmp_path):
    for pooling in ("mean", "all"):
        in_memory = LayerActivations(gpt2, LAYERS, pooling=pooling, pad_token_id=PAD,
                                     batch_size=4).fit(padded).transform_layers(padded)
        mapped = LayerActivations(gpt2, LAYERS, pooling=pooling, pad_token_id=PAD, batch_size=4,
                                  memmap_dir=tmp_path / pooling).fit(padded).transform_layers(padded)
        for name in LAYERS:
            assert isinstance(mapped[name], np.memmap)
            assert not mapped[name].flags.writeable
            assert (tmp_path / pooling / f"{name}.npy").exists()
            np.testing.assert_array_equal(np.asarray(mapped[name]), in_memory[name])


_RSS_SCRIPT = textwrap.dedent(
    """
    import resource, sys, tempfile
    import numpy as np, torch
    from skrepgeom.representations import LayerActivations

    n, memmap = int(sys.argv[1]), sys.argv[2] == "memmap"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(50, 256),
                                *[torch.nn.Linear(256, 256) for _ in range(4)])
    ids = np.random.default_rng(0).integers(0, 50, size=(n, 4))
    with tempfile.TemporaryDirectory() as tmp:
        acts = LayerActivations(model, ["1", "2", "3", "4"], batch_size=500,
                                memmap_dir=tmp if memmap else None).fit(ids[:10])
        layers = acts.transform_layers(ids)
        assert all(layers[k].shape == (n, 256) for k in layers)
        del layers
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """
)


def _peak_rss_mb(n, mode):
    root = str(Path(skrepgeom.__file__).resolve().parents[1])
    # glibc raises its mmap threshold each time a large block is freed, after which
    # torch's per-batch temporaries come from the heap, which keeps its high-water mark:
    # 0-14 MiB of noise in the peak, seen as a CI failure. A fixed threshold keeps large
    # blocks in their own mappings, returned on free (repeats then agree to about 1 MiB).
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": "262144",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    # Linux carries ru_maxrss across exec, so a direct child of this (large) test
    # process would report at least its size: a shell in between forks the fresh one.
    command = ["sh", "-c", '"$0" "$@"; exit $?', sys.executable, "-c", _RSS_SCRIPT, str(n), mode]
    completed = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return float(completed.stdout.split()[-1])


@pytest.mark.slow
def test_memmap_peak_rss_is_flat_in_n():
    small, large = _peak_rss_mb(5_000, "memmap"), _peak_rss_mb(20_000, "memmap")
    in_memory = _peak_rss_mb(20_000, "memory")
    # 20k x 4 layers x 256 float32 is 78 MiB (59 MiB more than 5k): kept in memory it
    # shows in the peak, written batch by batch to disk it does not (under 1 MiB of
    # allocator noise remain).
    assert in_memory - large > 50, (small, large, in_memory)
    assert large - small < 12, (small, large, in_memory)


def test_pipeline_probe_and_grid_search_over_layers(digits):
    X, y = digits
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16),
                              torch.nn.ReLU())
    probe = Pipeline([("acts", LayerActivations(mlp, ["1"])),
                      ("probe", LogisticRegression(max_iter=300))]).fit(X, y)
    with torch.no_grad():
        hidden = torch.relu(mlp[0](torch.as_tensor(X))).numpy()
    reference = LogisticRegression(max_iter=300).fit(hidden, y)
    np.testing.assert_array_equal(probe.predict(X), reference.predict(hidden))
    search = GridSearchCV(probe, {"acts__layers": [["1"], ["3"], ["1", "3"]]}, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    assert search.best_params_["acts__layers"] in (["1"], ["3"], ["1", "3"])


def test_clone_pickle_feature_names_and_pandas(padded):
    # A fresh model: once asked for output_hidden_states, transformers leaves hooks on
    # the model that the standard pickle cannot save.
    torch.manual_seed(0)
    gpt2 = transformers.GPT2Model(transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2))
    acts = LayerActivations(gpt2, LAYERS, pad_token_id=PAD).fit(padded)
    names = acts.get_feature_names_out()
    assert names[0] == "h.0__0" and names[32] == "h.1__0" and names.size == 64
    assert acts.layer_slices_ == {"h.0": slice(0, 32), "h.1": slice(32, 64)}
    restored = pickle.loads(pickle.dumps(acts))
    np.testing.assert_array_equal(restored.transform(padded), acts.transform(padded))
    cloned = clone(acts)
    assert not hasattr(cloned, "layer_names_") and cloned.layers == LAYERS
    pd = pytest.importorskip("pandas")
    X, _ = load_digits(return_X_y=True)
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 5))
    out = LayerActivations(mlp, ["0"]).set_output(transform="pandas").fit_transform(X[:20])
    assert isinstance(out, pd.DataFrame) and list(out.columns) == [f"0__{j}" for j in range(5)]


def test_model_untouched_and_hooks_removed(gpt2, padded):
    before = {k: v.clone() for k, v in gpt2.state_dict().items()}
    hooks = {name: dict(m._forward_hooks) for name, m in gpt2.named_modules()}
    gpt2.train()
    try:
        LayerActivations(gpt2, LAYERS, pad_token_id=PAD).fit(padded).transform(padded)
        assert gpt2.training and gpt2.h[0].training
    finally:
        gpt2.eval()
    assert {name: dict(m._forward_hooks) for name, m in gpt2.named_modules()} == hooks
    assert all(torch.equal(before[k], v) for k, v in gpt2.state_dict().items())


def test_factory_threads_verbose_and_auto_device(digits, capsys):
    X, _ = digits
    seen = []

    def factory(n_features_in):
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(n_features_in, 6), torch.nn.Tanh())

    def pooling(hidden, mask):
        seen.append(torch.get_num_threads())
        return hidden.mean(dim=1)

    before = torch.get_num_threads()
    acts = LayerActivations(factory, ["1"], n_jobs=1, verbose=1, device="auto", batch_size=50)
    got = acts.fit(X).transform(X)
    assert isinstance(acts.model_, torch.nn.Sequential) and acts.n_features_in_ == 64
    with torch.no_grad():
        expected = torch.tanh(acts.model_[0](torch.as_tensor(X))).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert "batches" in capsys.readouterr().err
    # n_jobs sets torch's intra-op threads during the forward passes, then restores them.
    seq = torch.nn.Sequential(torch.nn.Embedding(10, 3))
    LayerActivations(seq, ["0"], pooling=pooling, n_jobs=1).fit(np.ones((2, 4), dtype=int))
    assert seen == [1] and torch.get_num_threads() == before


def test_bad_inputs(gpt2, padded, digits):
    X, _ = digits
    with pytest.raises(ValueError, match=r"closest available names: \['h.0'"):
        LayerActivations(gpt2, ["h0"]).fit(padded)
    with pytest.raises(ValueError, match="layers is empty"):
        LayerActivations(gpt2, []).fit(padded)
    with pytest.raises(ValueError, match="out of range"):
        LayerActivations(gpt2, [3]).fit(padded)
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 4))
    with pytest.raises(ValueError, match="hidden states"):
        LayerActivations(mlp, [0]).fit(X)
    for bad in (np.nan, np.inf):
        X_bad = X.copy()
        X_bad[3, 5] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            LayerActivations(mlp, ["0"]).fit(X_bad)
        with pytest.raises(ValueError, match="NaN|infinity"):
            LayerActivations(mlp, ["0"]).fit(X).transform(X_bad)
    with pytest.raises(ValueError, match="integer token ids"):
        LayerActivations(gpt2, LAYERS).fit(padded.astype(float))
    with pytest.raises(ValueError, match="vocabulary"):
        LayerActivations(gpt2, LAYERS).fit(padded + 50_257)
    with pytest.raises(ValueError, match="pooling"):
        LayerActivations(gpt2, LAYERS, pooling="median").fit(padded)
    all_padding = padded.copy()
    all_padding[2] = PAD
    for pooling in ("last", "mean"):
        with pytest.raises(ValueError, match="row 2 of the batch is all padding"):
            LayerActivations(gpt2, LAYERS, pooling=pooling, pad_token_id=PAD).fit(all_padding)
    with pytest.raises(NotFittedError):
        LayerActivations(gpt2, LAYERS).transform(padded)
    with pytest.raises(ValueError, match="input_shape"):
        LayerActivations(mlp, ["0"], input_shape=(1, 7, 7)).fit(X)
    with pytest.raises(TypeError, match="factory returned"):
        LayerActivations(lambda n: "not a module", ["0"]).fit(X)
    with pytest.raises(ValueError, match="needs a model that reads token ids"):
        LayerActivations(mlp, ["0"], pooling="all").fit(X)
    with pytest.raises(ValueError, match="duplicates"):
        LayerActivations(gpt2, ["h.0", "h.0"]).fit(padded)
    flatten = LayerActivations(gpt2, ["h.0"], pooling="flatten").fit(padded[:, :5])
    with pytest.raises(ValueError, match="pads to the 5 tokens seen in fit"):
        flatten.transform(padded)
