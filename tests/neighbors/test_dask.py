"""Scale-out: GridSearchCV over a TwoNN pipeline under the dask joblib backend."""

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skrepgeom.dimension import TwoNNDimension

pytest.importorskip("distributed")


def _two_regions():
    rng = np.random.default_rng(0)
    square = np.zeros((300, 8))
    square[:, :2] = rng.uniform(size=(300, 2))
    gauss = np.zeros((300, 8))
    gauss[:, 2:] = 0.1 * rng.normal(size=(300, 6))
    return np.vstack([square, gauss]), np.r_[np.zeros(300), np.ones(300)]


def _search():
    return GridSearchCV(
        make_pipeline(TwoNNDimension(random_state=0), LogisticRegression()),
        {"twonndimension__n_neighbors": [3, 10, 30]},
        cv=3,
        n_jobs=2,
    )


def test_gridsearch_dask_equals_loky(dask_client):
    X, y = _two_regions()
    with joblib.parallel_backend("loky"):
        loky = _search().fit(X, y)
    with joblib.parallel_backend("dask"):
        dask = _search().fit(X, y)
    assert dask.best_params_ == loky.best_params_
    assert dask.best_score_ == loky.best_score_
    np.testing.assert_array_equal(
        dask.cv_results_["mean_test_score"], loky.cv_results_["mean_test_score"]
    )
    assert loky.best_score_ > 0.9


# --------------------------------------------------------------------------------------
# The dask backend of kneighbors and the estimators on dask arrays
# --------------------------------------------------------------------------------------

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import dask  # noqa: E402
import dask.array as da  # noqa: E402
from dask.core import get_dependencies  # noqa: E402
from sklearn import config_context  # noqa: E402
from sklearn.datasets import make_swiss_roll  # noqa: E402

from skrepgeom.dimension import GrideDimension, twonn_decimation  # noqa: E402
from skrepgeom.neighbors import (  # noqa: E402
    find_duplicates,
    handle_duplicates,
    kneighbors,
    label_overlap,
    neighborhood_overlap,
)
from skrepgeom.neighbors import _dask  # noqa: E402
from skrepgeom.neighbors._dask import FileRows, block_rows, chains_per_block  # noqa: E402


@pytest.fixture(scope="module")
def planted():
    """30k x 40 normal rows with planted exact duplicates (pairs and a triple)."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30_000, 40))
    X[100:140] = X[20_000:20_040]
    X[29_999] = X[0]
    X[15_000] = X[0]
    return X


def _assert_same_neighbors(expected, got, dtype):
    np.testing.assert_array_equal(got[1], expected[1])
    if dtype == np.float64:
        np.testing.assert_allclose(got[0], expected[0], rtol=0, atol=1e-12)
    else:
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dask_equals_brute_with_duplicates(dask_client, planted, dtype):
    X = planted.astype(dtype)
    expected = kneighbors(X, 5, backend="brute", n_jobs=2)
    # 7001 does not divide 30000: five blocks, the last one short.
    got = kneighbors(da.from_array(X, chunks=(7001, 40)), 5, compute=True)
    _assert_same_neighbors(expected, got, dtype)
    # The planted copies are each other's first neighbours at distance 0.
    assert got[0][100, 0] == 0 and got[1][100, 0] == 20_000
    assert got[1][0, :2].tolist() == [15_000, 29_999]


def test_dask_query_set_and_64_neighbors(dask_client, planted):
    X = planted[:12_000]
    query = np.random.default_rng(3).normal(size=(500, 40))
    expected = kneighbors(X, 64, query=query, backend="brute", n_jobs=2)
    got = kneighbors(
        da.from_array(X, chunks=(2999, 40)), 64, query=da.from_array(query, chunks=(333, 40)),
        compute=True,
    )
    _assert_same_neighbors(expected, got, np.float64)
    # Self-query with 64 neighbours, blocks smaller than the candidate lists.
    small = planted[:1200].astype(np.float32)
    expected = kneighbors(small, 64, backend="brute", n_jobs=2)
    got = kneighbors(da.from_array(small, chunks=(83, 40)), 64, compute=True)
    _assert_same_neighbors(expected, got, np.float32)


def test_dask_odd_chunks_dtype_and_lazy_result(dask_client):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 50, size=(2_000, 12))
    # Column chunks are merged, integer data converted to float64 as in memory.
    X_dask = da.from_array(X, chunks=(333, 5))
    distances, indices = kneighbors(X_dask, 3)
    assert isinstance(distances, da.Array) and distances.chunks[0] == X_dask.chunks[0]
    expected = kneighbors(X, 3, backend="brute")
    np.testing.assert_array_equal(indices.compute(), expected[1])
    np.testing.assert_array_equal(distances.compute(), expected[0])
    # Unknown chunk sizes (boolean selection) are computed, not refused.
    X_unknown = da.from_array(X.astype(float), chunks=(500, 12))
    X_unknown = X_unknown[X_unknown[:, 0] >= 0]
    np.testing.assert_array_equal(kneighbors(X_unknown, 3, compute=True)[1], expected[1])


def _pair_block(key):
    """``(i, j)`` of a pair task's key, or ``None``."""
    key = key[0] if isinstance(key, tuple) else key
    if not str(key).startswith("kneighbors-pair-"):
        return None
    i, j = str(key).rsplit("-", 2)[1:]
    return int(i), int(j)


def test_dask_graph_keys_depend_on_the_chains(planted, monkeypatch):
    # A pair task returns its chain's running lists, so graphs with other chains must
    # not share keys: a result kept by a cluster would be merged into the wrong chain.
    X = da.from_array(planted[:5000], chunks=(500, 40))
    pair_keys = {}
    for threads in (1, 1, 16):
        monkeypatch.setattr(_dask, "_scheduler_threads", lambda threads=threads: threads)
        distances, indices = kneighbors(X, 4)
        pair_keys.setdefault(threads, []).append(
            {key for key in dict(distances.__dask_graph__()) if _pair_block(key) is not None})
        expected = kneighbors(planted[:5000], 4, backend="brute")
        np.testing.assert_array_equal(indices.compute(scheduler="sync"), expected[1])
    assert chains_per_block(10, 10, True, 1) != chains_per_block(10, 10, True, 16)
    assert pair_keys[1][0] == pair_keys[1][1]
    assert not pair_keys[1][0] & pair_keys[16][0]


@pytest.mark.parametrize("query_rows", [None, 700])
def test_dask_graph_chains_pair_tasks(planted, query_rows, monkeypatch):
    # The chains are sized for the scheduler's threads: one thread here.
    monkeypatch.setattr(_dask, "_scheduler_threads", lambda: 1)
    X = da.from_array(planted[:5000], chunks=(500, 40))
    query = None if query_rows is None else da.from_array(planted[:query_rows], chunks=(350, 40))
    distances, _ = kneighbors(X, 4, query=query)
    graph = dict(distances.__dask_graph__())
    dependencies = {key: get_dependencies(graph, key) for key in graph}
    dependents = {key: [] for key in graph}
    for key in graph:
        for dependency in dependencies[key]:
            dependents[dependency].append(key)

    def consumers(key):
        """Tasks using ``key``'s output, through the getitem of a pair's two lists."""
        found = []
        for dependent in dependents[key]:
            if str(dependent).startswith("getitem-"):
                found += consumers(dependent)
            else:
                found.append(dependent)
        return found

    pairs = {key: _pair_block(key) for key in graph if _pair_block(key) is not None}
    n_blocks, n_query_blocks = 10, 10 if query is None else 2
    n_pairs = n_blocks * (n_blocks + 1) // 2 if query is None else n_query_blocks * n_blocks
    assert len(pairs) == n_pairs
    merges = [key for key in graph if str(key).startswith("kneighbors-merge-")]
    assert len(merges) == n_query_blocks
    # Each list a pair makes is used by exactly one task, the next pair of its chain or
    # its block's final merge: the lists alive at any time are the chains' running
    # lists, whatever order the tasks run in.
    n_chains = chains_per_block(n_query_blocks, n_blocks, query is None, 1)
    assert n_chains == (2 if query is None else 4)
    for key, (i, j) in pairs.items():
        users = consumers(key)
        assert len(users) == (2 if query is None and i != j else 1), (key, users)
        for user in users:
            if user in pairs:
                i2, j2 = pairs[user]
                # The same chain of the same block, further along it.
                assert (i2, j2) > (i, j)
                assert {i, j} & {i2, j2}
                if query is not None:
                    assert i2 == i and j2 == j + n_chains
            else:
                assert user in merges
    # A merge reduces the chains of one block: n_chains lists (or fewer).
    for merge in merges:
        assert len(dependencies[merge]) <= n_chains
    # No task sees more than two blocks of X: every output is O(block x k).
    for block in distances.to_delayed().ravel():
        assert block.compute().shape[1] == 4 and block.compute().shape[0] <= 500


def test_dask_scheduler_runs_pairs_row_block_by_row_block(dask_client, planted):
    from distributed.diagnostics.plugin import SchedulerPlugin

    class Priorities(SchedulerPlugin):
        name = "kneighbors-priorities"

        def __init__(self):
            self.priorities = {}

        def update_graph(self, scheduler, *, priority, **kwargs):
            self.priorities.update(
                {key: value for key, value in priority.items() if _pair_block(key)}
            )

    dask_client.register_plugin(Priorities())
    try:
        kneighbors(da.from_array(planted[:6000], chunks=(1000, 40)), 3, compute=True)
        priorities = dask_client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.plugins["kneighbors-priorities"].priorities
        )
    finally:
        dask_client.unregister_scheduler_plugin("kneighbors-priorities")
    # The scheduler's priorities (the graph's annotations first) run the pairs row
    # block by row block, the order of the chains.
    by_priority = sorted(priorities, key=priorities.get)
    assert [_pair_block(key) for key in by_priority] == [
        (i, j) for i in range(6) for j in range(i, 6)
    ]


def test_dask_numpy_input_and_memmap_rows(dask_client, tmp_path, planted):
    X = planted[:4000].astype(np.float32)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    # A view of the memory map: its rows are found at the right place in the file.
    view = np.asarray(mapped[1000:3000])
    source = FileRows.of(view)
    np.testing.assert_array_equal(source.read(5, 9), X[1005:1009])
    expected = kneighbors(X[1000:3000], 6, backend="brute")
    with config_context(working_memory=0.05):
        assert block_rows(2000, 4, None) < 1000
        got = kneighbors(view, 6, backend="dask", compute=True)
    _assert_same_neighbors(expected, got, np.float32)
    # In-memory NumPy input is cut into blocks too.
    got = kneighbors(X, 6, backend="dask", working_memory=0.05, compute=True)
    _assert_same_neighbors(kneighbors(X, 6, backend="brute"), got, np.float32)


def test_dask_bad_input(dask_client):
    X = np.random.default_rng(0).normal(size=(3000, 5))
    X[2100, 3] = np.nan
    with pytest.raises(ValueError) as in_memory:
        kneighbors(X, 2)
    with pytest.raises(ValueError, match="rows 2000 to 2999 of X") as lazy:
        kneighbors(da.from_array(X, chunks=(1000, 5)), 2, compute=True)
    assert str(lazy.value).startswith(str(in_memory.value))
    with pytest.raises(ValueError) as in_memory:
        TwoNNDimension().fit(X)
    with pytest.raises(ValueError, match="rows 1500 to 2249 of X") as lazy:
        TwoNNDimension().fit(da.from_array(X, chunks=(750, 5)))
    assert str(lazy.value).startswith(str(in_memory.value))
    X[2100, 3] = np.inf
    with pytest.raises(ValueError, match="infinity.*rows 2000 to 2999"):
        kneighbors(da.from_array(X, chunks=(1000, 5)), 2, compute=True)
    with pytest.raises(ValueError, match="dim 3"):
        kneighbors(da.zeros((10, 2, 2)), 1)
    with pytest.raises(ValueError, match="dim 3, while dim <= 2 is required by TwoNNDimension"):
        TwoNNDimension().fit(da.zeros((10, 2, 2)))
    with pytest.raises(ValueError, match="1D"):
        kneighbors(da.zeros(10), 1)
    with pytest.raises(ValueError, match='backend must be "auto" or "dask"'):
        kneighbors(da.zeros((10, 2)), 1, backend="brute")
    with pytest.raises(ValueError, match="n_neighbors=10 needs at least 11 samples"):
        kneighbors(da.zeros((10, 2)), 10)


def test_dask_duplicates_match_in_memory(dask_client, planted):
    X = planted[:21_000:3].copy()
    X[-5:] = X[:5]
    X_dask = da.from_array(X, chunks=(1234, 40))
    np.testing.assert_array_equal(find_duplicates(X_dask), find_duplicates(X))
    X_unique, unique_index, n_duplicates = handle_duplicates(X_dask, "remove")
    assert isinstance(X_unique, da.Array)
    expected = handle_duplicates(X, "remove")
    np.testing.assert_array_equal(X_unique.compute(), expected[0])
    np.testing.assert_array_equal(unique_index, expected[1])
    # The five copies made here, and planted row 15000 (= row 0) at position 5000.
    assert n_duplicates == expected[2] == 6
    with pytest.raises(ValueError) as in_memory:
        handle_duplicates(X, "raise")
    with pytest.raises(ValueError) as lazy:
        handle_duplicates(X_dask, "raise")
    assert str(lazy.value) == str(in_memory.value)


def test_twonn_dask_equals_in_memory_swiss_roll(dask_client):
    X, _ = make_swiss_roll(20_000, random_state=3)
    expected = TwoNNDimension(random_state=0).fit(X)
    fitted = TwoNNDimension(random_state=0).fit(da.from_array(X, chunks=(3001, 3)))
    assert fitted.dimension_ == expected.dimension_
    assert fitted.dimension_err_ == expected.dimension_err_
    np.testing.assert_array_equal(fitted.mu_, expected.mu_)
    assert fitted.n_features_in_ == 3
    np.testing.assert_array_equal(fitted.transform(X[:50]), expected.transform(X[:50]))


def test_gride_decimation_overlaps_on_dask(dask_client):
    X, t = make_swiss_roll(3000, random_state=0)
    X_dask = da.from_array(X, chunks=(701, 3))
    expected = GrideDimension(range_max=32).fit(X)
    fitted = GrideDimension(range_max=32).fit(X_dask)
    np.testing.assert_array_equal(fitted.dimensions_, expected.dimensions_)
    result = twonn_decimation(X_dask, n_min=300, random_state=0)
    reference = twonn_decimation(X, n_min=300, random_state=0)
    for field in ("n_samples", "dimensions", "scales"):
        np.testing.assert_array_equal(result[field], reference[field])
    Y = X[:, [0, 2]]
    assert neighborhood_overlap(X_dask, da.from_array(Y, chunks=500), 10) == (
        neighborhood_overlap(X, Y, 10)
    )
    np.testing.assert_array_equal(
        neighborhood_overlap(X_dask, Y, 10, average=False),
        neighborhood_overlap(X, Y, 10, average=False),
    )
    y = (t > np.median(t)).astype(int)
    assert label_overlap(X_dask, y, 10) == label_overlap(X, y, 10)
    np.testing.assert_array_equal(
        label_overlap(X_dask, y, class_fraction=0.01, average=False),
        label_overlap(X, y, class_fraction=0.01, average=False),
    )


@pytest.mark.slow
def test_twonn_dask_memmap_200k(dask_client, tmp_path):
    rng = np.random.default_rng(5)
    # A 4-dimensional linear manifold in 20 features, plus a little noise.
    X = rng.normal(size=(200_000, 4)) @ rng.normal(size=(4, 20))
    X += 1e-3 * rng.normal(size=X.shape)
    path = tmp_path / "X.npy"
    np.save(path, X)
    del X
    mapped = np.load(path, mmap_mode="r")
    expected = TwoNNDimension(n_bootstrap=10, random_state=0).fit(mapped)
    fitted = TwoNNDimension(n_bootstrap=10, random_state=0).fit(
        da.from_array(np.load(path, mmap_mode="r"), chunks=(25_000, 20))
    )
    assert fitted.dimension_ == expected.dimension_
    np.testing.assert_array_equal(fitted.mu_, expected.mu_)
    assert 3.5 < fitted.dimension_ < 4.5


def _peak_rss_mb():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def _idle_rss_mb():
    """Reset the peak RSS to the current one (Linux ``clear_refs``) and return it."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return _current_rss_mb()


def _worker_growth(path, small, working_memory, lazy):
    """Peak-RSS growth of each of 2 fresh workers over its warm idle RSS in a search.

    The search is a TwoNN fit, or with ``lazy`` the dask arrays of ``kneighbors``
    computed by dask and saved next to ``path``.
    """
    import distributed

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        with config_context(working_memory=working_memory):
            # Warm the workers: imports, kernels, the scheduler's machinery, on 20k rows.
            TwoNNDimension(backend="dask", n_bootstrap=0).fit(np.load(small, mmap_mode="r"))
            dask.compute(*kneighbors(np.load(small, mmap_mode="r"), 2, backend="dask"))
            idle = client.run(_idle_rss_mb)
            if lazy:
                distances, indices = dask.compute(
                    *kneighbors(np.load(path, mmap_mode="r"), 2, backend="dask")
                )
                np.save(f"{path}.distances.npy", distances)
                np.save(f"{path}.indices.npy", indices)
                result = None
            else:
                result = TwoNNDimension(backend="dask", n_bootstrap=0).fit(
                    np.load(path, mmap_mode="r")
                ).dimension_
        peak = client.run(_peak_rss_mb)
    return {worker: peak[worker] - idle[worker] for worker in idle}, result


@pytest.mark.slow
@pytest.mark.parametrize("lazy", [False, True], ids=["fit", "lazy"])
def test_dask_worker_peak_memory(tmp_path, lazy):
    """Each worker's peak RSS grows by a bound set by the blocks and tiles, not by X."""
    pytest.importorskip("distributed")
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux /proc/self/clear_refs to reset the peak RSS")
    n_samples, n_features, n_neighbors, itemsize = 100_000, 50, 2, 4
    X = np.random.default_rng(0).normal(size=(n_samples, n_features)).astype(np.float32)
    path, small = tmp_path / "X.npy", tmp_path / "small.npy"
    np.save(path, X)
    np.save(small, X[:20_000])
    x_mb = X.nbytes / 2**20
    if not lazy:
        del X
    working_memory = 1.0  # MiB
    with config_context(working_memory=working_memory):
        rows = block_rows(n_samples, itemsize, None)
    side = int(np.sqrt(working_memory * 2**20 / itemsize))
    n_candidates = n_neighbors + 4
    # One pair task: two blocks read, a tile of products and three tile-sized slices
    # of the blocks (centred rows, scaled rows, centred columns), two candidate lists;
    # then the lists: two exact lists, the two running lists received, their
    # concatenations, the merge's sort order and two merged lists out (at most 10
    # lists of B k float64 distances and int64 indices alive at once).
    task_bytes = (
        2 * rows * n_features * itemsize
        + side * (side + 3 * n_features) * itemsize
        + 2 * rows * n_candidates * (itemsize + 8)
        + 10 * rows * n_neighbors * 16
    )
    # A worker runs one task at a time. It may also hold the running lists of every
    # block, one per chain (2 chains per block for 25 blocks on 2 threads; a float64
    # distance and an int32 index per neighbour), and the allocator keeps some freed
    # memory (4 MiB). distributed keeps a few KB of state per task it has run (about
    # 2.5 KB measured with trivial tasks; 4 KB here): pairs, the two lists of each
    # pair, each block's merge, its result and the result's two arrays, and the mean,
    # shared by the 2 workers.
    n_blocks = -(-n_samples // rows)
    n_tasks = n_blocks * (n_blocks + 1) // 2 + n_blocks * (n_blocks - 1) + 6 * n_blocks
    n_chains = chains_per_block(n_blocks, n_blocks, True, 2)
    bound_mb = (
        task_bytes + n_chains * n_samples * n_neighbors * 12 + n_tasks / 2 * 4096
    ) / 2**20 + 4
    assert bound_mb < x_mb
    if lazy:
        # dask computes the arrays by joining their chunks in a task on a worker
        # (dask's finalize): the blocks' results wait for it (N k float64 distances
        # and intp indices), and that worker holds them joined too.
        bound_mb += 2 * n_samples * n_neighbors * 16 / 2**20
    # The cluster is started from a fresh interpreter, as a user's script would start
    # it, so that nothing of the test session (its own cluster, its threads) is in the
    # processes measured.
    root = Path(__file__).resolve().parents[2]
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "from tests.neighbors.test_dask import _worker_growth; "
        "print(json.dumps(_worker_growth(*sys.argv[2:4], float(sys.argv[4]), "
        "sys.argv[5] == 'True')))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, str(root), str(path), str(small), str(working_memory),
         str(lazy)],
        capture_output=True, text=True, timeout=500, cwd=root, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    growth, dimension = json.loads(completed.stdout.strip().splitlines()[-1])
    print(f"X {x_mb:.1f} MB, bound {bound_mb:.1f} MB, worker growth {growth}")
    assert all(value < bound_mb for value in growth.values()), growth
    if lazy:
        expected = kneighbors(X, n_neighbors, backend="brute", n_jobs=2)
        np.testing.assert_array_equal(np.load(f"{path}.indices.npy"), expected[1])
        np.testing.assert_array_equal(np.load(f"{path}.distances.npy"), expected[0])
    else:
        # TwoNN underestimates the dimension of 50-dimensional noise (about 37 here).
        assert 30 < dimension < 50
