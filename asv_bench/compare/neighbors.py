"""Exact k-NN backends side by side over a grid of regimes, and what ``"auto"`` picks.

For every regime and size, each exact backend of :func:`skrepgeom.neighbors.kneighbors`
(``brute``, ``kd_tree``, ``pca_tree``) and ``"auto"`` runs a self-query (k = 2, float32,
the search inside ``TwoNNDimension``) in a fresh subprocess at 1 thread; the table gives
median seconds, the backend ``"auto"`` chose, ``auto / fastest`` (target <= 1.25) and
whether all backends returned identical indices. A last row measures the peak RSS of
``"auto"`` at 200k x 1000 float32 against the size of ``X`` (target <= 1.5x): the
process's peak during the search (high-water mark reset after the data are generated
and the kernels warmed), interpreter and imports included.

Regimes (``asv_bench/benchmarks/_data.py``):

* ``blobs D``: ``make_blobs`` in 5 dimensions linearly embedded in D = 10, 100, 1000;
* ``blobs D s``: the same with isotropic noise of standard deviation s in all D coordinates;
* ``cube8 64``: a uniform 8-dimensional cube rotated into 64 dimensions;
* ``gauss 64``: a full-rank 64-dimensional standard normal.

Sizes: n = 50k and 200k (1000-D at 50k only). ``--quick`` divides them by ``--quick-factor``
(default 4); ``--timeout`` bounds each run (a backend past it shows ``>T``).

``--case dask`` runs instead the scale-out case: a self-query (k = 2) of 400k x 50 float32
rows read from a ``.npy`` memory map, by the in-memory brute backend in one process
(2 threads, and 1 thread for reference) and by ``backend="dask"`` on a ``LocalCluster`` of
1 worker and of 2 workers (1 thread each, worker processes), and on 1 worker of 2 threads
(the overhead of dask at equal cores). Each run is a fresh process, its workers warmed
(imports, kernels) before timing; ``--repeats`` go round the whole plan. It prints the
times, dask 1 worker / in-memory (target <= 1.3), 2 workers / 1 worker (target <= 0.65)
and the parallel efficiency ``t1 / (2 t2)``, each worker's peak RSS growth, the tasks of
the graph and the block pairs among them. ``--dask-lazy`` adds a run on 2 workers that computes the lazy
dask arrays with ``dask.compute`` (dask joins their chunks on a worker) instead of
``compute=True``. Only meaningful on a quiet machine.

``--case tree`` compares the two k-d trees a tree backend can run on, scipy's
``cKDTree`` (as the backends build it: sliding midpoint, compact nodes) and the Numba
``KDTree`` of ``skrepgeom/neighbors/_kdtree.py``, on the same principal coordinates of
``--tree-n`` rows (200k): build, and a query of every row in the tree's leaf order for
its k = 3 and k = 101 nearest (self included, as the principal-coordinate search asks
for candidates), 1 thread, in one subprocess per cell with the two trees interleaved,
medians of ``--repeats``. Regimes: ``blobs 10`` in its 5 leading coordinates
(``pca_tree``) and in all 10 (``kd_tree``), ``cube8 64`` in 8 (k = 3 only). It prints
seconds, ours / cKDTree (wall time of build + query, of the query alone, and process CPU
time) and the largest difference between the two trees' distances.

Usage, from the repository root::

    .venv/bin/python asv_bench/compare/neighbors.py --quick --repeats 1
    .venv/bin/python asv_bench/compare/neighbors.py --repeats 3
    .venv/bin/python asv_bench/compare/neighbors.py --case dask [--dask-n 400000] [--dask-lazy]
    .venv/bin/python asv_bench/compare/neighbors.py --case tree [--tree-n 200000]

Timings depend on the machine and on whatever else runs on it: the load is printed.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

BACKENDS = ("brute", "kd_tree", "pca_tree", "auto")
AUTO_TARGET = 1.25
RSS_TARGET = 1.5
N_NEIGHBORS = 2

# (label, generator, keyword arguments, sizes)
REGIMES = [
    ("blobs 10", "blobs", {"n_features": 10}, (50_000, 200_000)),
    ("blobs 100", "blobs", {"n_features": 100}, (50_000, 200_000)),
    ("blobs 1000", "blobs", {"n_features": 1000}, (50_000,)),
    ("blobs 100 s=0.003", "blobs", {"n_features": 100, "noise": 0.003}, (50_000, 200_000)),
    ("blobs 100 s=0.03", "blobs", {"n_features": 100, "noise": 0.03}, (50_000, 200_000)),
    ("blobs 100 s=0.3", "blobs", {"n_features": 100, "noise": 0.3}, (50_000, 200_000)),
    ("cube8 64", "rotated_cube", {"n_features": 64}, (50_000, 200_000)),
    ("gauss 64", "gaussian", {"n_features": 64}, (50_000, 200_000)),
]


def _data(generator, n_samples, kwargs):
    sys.path.insert(0, str(_harness.REPO_ROOT / "asv_bench"))
    from benchmarks import _data

    return getattr(_data, generator)(n_samples, **kwargs)


def search_once(generator, n_samples, kwargs, backend):
    """Worker: one timed self-query; the indices' digest tells results apart."""
    import hashlib

    from skrepgeom.neighbors import explain_backend, kneighbors

    X = _data(generator, n_samples, kwargs)
    # Imports and Numba kernels (compiled or loaded from cache) before timing.
    kneighbors(X[:3000], N_NEIGHBORS, backend="pca_tree" if backend == "auto" else backend)
    kneighbors(X[:3000], N_NEIGHBORS, backend="brute")
    # The peak of the search alone: generating the data is not part of it.
    _harness.reset_peak_rss()
    ready = _harness.current_rss_mb()
    with _harness.Timer() as timer:
        _, indices = kneighbors(X, N_NEIGHBORS, backend=backend)
    peak = _harness.peak_rss_mb()
    # The probe again, untimed, for the table: the choice may differ from the timed
    # run's only between backends of similar cost.
    chosen = explain_backend(X, N_NEIGHBORS).backend if backend == "auto" else backend
    return {
        "seconds": timer.seconds,
        "chosen": chosen,
        "digest": hashlib.sha1(indices.astype("int64").tobytes()).hexdigest()[:12],
        "ready_rss_mb": ready,
        "peak_rss_mb": peak,
        "x_mb": X.nbytes / 2**20,
    }


DASK_N_FEATURES = 50
DASK_ONE_WORKER_TARGET = 1.3
DASK_TWO_WORKERS_TARGET = 0.65


def _dask_data(path, n_samples):
    """400k x 50 float32: a 10-dimensional Gaussian cloud linearly embedded, plus noise."""
    import numpy as np

    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(10, DASK_N_FEATURES)).astype(np.float32)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                  shape=(n_samples, DASK_N_FEATURES))
    for start in range(0, n_samples, 50_000):
        stop = min(start + 50_000, n_samples)
        latent = rng.normal(size=(stop - start, 10)).astype(np.float32)
        X[start:stop] = latent @ mixing + 0.01 * rng.normal(
            size=(stop - start, DASK_N_FEATURES)).astype(np.float32)
    X.flush()


def _worker_peak_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_idle_mb():
    """Reset the peak RSS to the current one (Linux ``clear_refs``) and return it."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def in_memory_once(path, n_jobs):
    """Worker: the in-memory brute self-query of the memory-mapped file."""
    import hashlib

    import numpy as np

    from skrepgeom.neighbors import kneighbors

    X = np.load(path, mmap_mode="r")
    kneighbors(np.asarray(X[:3000]), N_NEIGHBORS, backend="brute", n_jobs=n_jobs)
    # The peak of the search alone: generating the data is not part of it.
    _harness.reset_peak_rss()
    ready = _harness.current_rss_mb()
    with _harness.Timer() as timer:
        _, indices = kneighbors(X, N_NEIGHBORS, backend="brute", n_jobs=n_jobs)
    return {"seconds": timer.seconds, "ready_rss_mb": ready, "peak_rss_mb": _harness.peak_rss_mb(),
            "digest": hashlib.sha1(indices.astype("int64").tobytes()).hexdigest()[:12]}


def dask_once(path, n_workers, lazy=False, threads_per_worker=1):
    """Worker: ``backend="dask"`` on a LocalCluster of ``n_workers`` x ``threads_per_worker``.

    ``lazy``: compute the dask arrays of ``kneighbors`` with ``dask.compute`` (dask
    joins their chunks on a worker) instead of ``compute=True``.
    """
    import hashlib

    import cloudpickle
    import dask
    import distributed
    import numpy as np

    from skrepgeom.neighbors import kneighbors

    # The workers cannot import this script by name: ship its functions by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    X = np.load(path, mmap_mode="r")
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                                  processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        # Warm every worker (imports, Numba kernels) with a small search of the file.
        small = np.asarray(X[:4000])
        for _ in range(2):
            kneighbors(small, N_NEIGHBORS, backend="dask", working_memory=0.05, compute=True)
        idle = client.run(_worker_idle_mb)
        distances, indices = kneighbors(X, N_NEIGHBORS, backend="dask")
        # The tasks of both arrays, each counted once (a high-level graph's length
        # counts a task again in every layer that carries it).
        graph = {**dict(distances.__dask_graph__()), **dict(indices.__dask_graph__())}
        n_tasks = len(graph)
        n_pairs = sum(str(key).startswith("kneighbors-pair-") for key in graph)
        del distances, indices
        # compute=True gathers the blocks' lists and joins them here, as the estimators do.
        with _harness.Timer() as timer:
            if lazy:
                distances, indices = dask.compute(
                    *kneighbors(X, N_NEIGHBORS, backend="dask"))
            else:
                distances, indices = kneighbors(X, N_NEIGHBORS, backend="dask",
                                                compute=True)
        peak = client.run(_worker_peak_mb)
    growth = sorted(peak[worker] - idle[worker] for worker in peak)
    return {"seconds": timer.seconds, "n_tasks": n_tasks, "n_pairs": n_pairs,
            "rss_growth_mb": growth, "peak_rss_mb": sorted(peak.values()),
            "digest": hashlib.sha1(indices.astype("int64").tobytes()).hexdigest()[:12]}


def dask_case(args):
    """The scale-out table: in-memory brute vs dask on 1 and 2 workers."""
    import os

    n = args.dask_n
    _harness.log(_harness.header("neighbors --case dask", n=n, n_features=DASK_N_FEATURES,
                                 k=N_NEIGHBORS, dtype="float32", repeats=args.repeats))
    directory = _harness.temporary_directory("skrepgeom-dask-")
    path = os.path.join(directory, "X.npy")
    _dask_data(path, n)
    _harness.log(f"data: {path}, {os.path.getsize(path) / 2**20:.0f} MB")
    runs = {}
    equal_cores = "dask, 1 worker x 2 threads"
    plan = [("in-memory brute, 1 process x 2 threads", "in_memory_once", {"n_jobs": 2}, 2),
            ("in-memory brute, 1 process x 1 thread", "in_memory_once", {"n_jobs": 1}, 1),
            ("dask, 1 worker x 1 thread", "dask_once", {"n_workers": 1}, 1),
            ("dask, 2 workers x 1 thread", "dask_once", {"n_workers": 2}, 1),
            (equal_cores, "dask_once", {"n_workers": 1, "threads_per_worker": 2}, 2)]
    if args.dask_lazy:
        plan.append(("dask, 2 workers x 1 thread, lazy arrays", "dask_once",
                     {"n_workers": 2, "lazy": True}, 1))
    # Repeats go round the whole plan, so that a drift of the machine's speed (seen:
    # the same 1-worker run took 249 s one evening and 305 s the next night) falls on
    # every configuration alike instead of on whichever ran during it.
    results = {label: [] for label, *_ in plan}
    for repeat in range(args.repeats):
        for label, function, kwargs, threads in plan:
            result = _harness.run_worker(sys.executable, __file__, function,
                                         {"path": path, **kwargs}, threads=threads,
                                         timeout=args.timeout)
            results[label].append(result)
            _harness.log(f"  [{repeat + 1}/{args.repeats}] {label}: "
                         + (f"{result['seconds']:.1f} s" if "seconds" in result
                            else result.get("error", "failed")[-500:]))
    for label, *_ in plan:
        ok = [r for r in results[label] if "error" not in r]
        runs[label] = (_harness.summarize([r["seconds"] for r in ok]), ok)
        median = runs[label][0] and runs[label][0]["median"]
        _harness.log(f"  {label}: " + (f"{median:.1f} s" if median else "failed"))
        for r in ok:
            if "n_tasks" in r:
                _harness.log(f"    tasks {r['n_tasks']} (block pairs {r['n_pairs']}), worker "
                             f"peak RSS {r['peak_rss_mb']} MB, growth over warm idle "
                             f"{[round(g, 1) for g in r['rss_growth_mb']]} MB")
            else:
                _harness.log(f"    peak RSS {r['peak_rss_mb']:.0f} MB "
                             f"(ready {r['ready_rss_mb']:.0f} MB)")
    _harness.log(_harness.load_line())

    def median(label):
        return runs[label][0] and runs[label][0]["median"]

    digests = {r["digest"] for _, ok in runs.values() for r in ok}
    one, two = median(plan[2][0]), median(plan[3][0])
    memory2, memory1 = median(plan[0][0]), median(plan[1][0])
    _harness.log(f"\n{'run':<42} {'seconds':>8}")
    for label, *_ in plan:
        value = median(label)
        _harness.log(f"{label:<42} {value if value is None else round(value, 1)!s:>8}")
    _harness.log(f"identical indices in all runs: {len(digests) == 1}")
    efficiency = None if not (one and two) else one / (2 * two)
    _harness.log(f"parallel efficiency t1 / (2 t2): "
                 f"{efficiency if efficiency is None else round(efficiency, 2)}")
    _harness.log("\nTargets:")
    _harness.log(_harness.verdict("dask 1 worker / in-memory (2 threads)",
                                  _harness.ratio(one, memory2), DASK_ONE_WORKER_TARGET,
                                  higher_is_better=False))
    _harness.log(_harness.verdict("dask 1 worker / in-memory (1 thread), for reference",
                                  _harness.ratio(one, memory1), DASK_ONE_WORKER_TARGET,
                                  higher_is_better=False))
    _harness.log(_harness.verdict("dask 2 workers / 1 worker", _harness.ratio(two, one),
                                  DASK_TWO_WORKERS_TARGET, higher_is_better=False))
    _harness.log(_harness.verdict("dask 1 worker x 2 threads / in-memory (2 threads), "
                                  "equal cores", _harness.ratio(median(equal_cores), memory2),
                                  DASK_ONE_WORKER_TARGET, higher_is_better=False))
    _harness.log(_harness.load_line())


TREE_REGIMES = [
    # (label, generator, keyword arguments, principal coordinates, neighbour counts)
    ("blobs 10", "blobs", {"n_features": 10}, 5, (3, 101)),
    ("blobs 10", "blobs", {"n_features": 10}, 10, (3, 101)),
    # k = 101 in a uniform 8-D cube takes minutes per tree at 200k rows.
    ("cube8 64", "rotated_cube", {"n_features": 64}, 8, (3,)),
]


def trees_once(generator, n_samples, kwargs, n_components, n_neighbors, repeats):
    """Worker: cKDTree and the Numba KDTree on the same coordinates, interleaved."""
    import time

    import numpy as np
    from scipy.spatial import cKDTree

    from skrepgeom.neighbors._kdtree import KDTree
    from skrepgeom.neighbors._pca_tree import principal_basis, project

    X = _data(generator, n_samples, kwargs)
    center, _, axes = principal_basis(X)
    Z = project(X, center, axes, n_components, 8192, with_residual=False)
    # Compile (or load) the kernels before timing.
    small = KDTree(Z[:2000])
    small.query(small.data, n_neighbors)
    times = {"ckd_build": [], "ckd_query": [], "ours_build": [], "ours_query": [],
             "ckd_cpu": [], "ours_cpu": []}
    for _ in range(repeats):
        cpu, start = time.process_time(), time.perf_counter()
        reference = cKDTree(Z, balanced_tree=False, compact_nodes=True, copy_data=False)
        built = time.perf_counter()
        ckd_distances, _ = reference.query(Z[reference.indices], k=n_neighbors)
        times["ckd_build"].append(built - start)
        times["ckd_query"].append(time.perf_counter() - built)
        times["ckd_cpu"].append(time.process_time() - cpu)
        cpu, start = time.process_time(), time.perf_counter()
        ours = KDTree(Z)
        built = time.perf_counter()
        distances, _ = ours.query(ours.data, n_neighbors)
        times["ours_build"].append(built - start)
        times["ours_query"].append(time.perf_counter() - built)
        times["ours_cpu"].append(time.process_time() - cpu)
    # Each tree queried its own leaf order: compare each row's distances.
    ckd_rows = np.empty_like(ckd_distances)
    ckd_rows[reference.indices] = ckd_distances
    our_rows = np.empty_like(distances)
    our_rows[ours.indices] = distances
    result = {key: float(np.median(value)) for key, value in times.items()}
    result["max_difference"] = float(np.max(np.abs(ckd_rows - our_rows)))
    return result


def tree_search_once(backend, limit, repeats):
    """Worker: the whole exact search of ``blobs 10`` (k = 2, the search inside
    ``TwoNNDimension``) with the principal-coordinate tree chosen as in the package
    (``limit=None``) or always scipy's (``limit=0``), timed ``repeats`` times."""
    import hashlib
    import time

    import numpy as np

    from skrepgeom.neighbors import _pca_tree, kneighbors

    if limit is not None:
        _pca_tree._NUMBA_TREE_MAX_COORDINATES = limit
    X = _data("blobs", TREE_SEARCH_N, {"n_features": 10})
    kneighbors(X[:3000], N_NEIGHBORS, backend=backend)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        _, indices = kneighbors(X, N_NEIGHBORS, backend=backend)
        seconds.append(time.perf_counter() - start)
    return {"seconds": float(np.median(seconds)),
            "digest": hashlib.sha1(indices.astype("int64").tobytes()).hexdigest()[:12]}


TREE_SEARCH_N = 200_000


def tree_case(args):
    """The k-d tree table: scipy's cKDTree against the Numba tree, 1 thread."""
    n = args.tree_n
    _harness.log(_harness.header("neighbors --case tree", n=n, repeats=args.repeats, threads=1))
    header = (f"{'regime':<10} {'m':>3} {'k':>4} {'ckd build':>9} {'ckd query':>9} "
              f"{'our build':>9} {'our query':>9} {'ours/ckd':>8} {'query':>6} {'cpu':>6} "
              f"{'max |dd|':>9}")
    lines = []
    for label, generator, kwargs, n_components, neighbor_counts in TREE_REGIMES:
        for k in neighbor_counts:
            r = _harness.run_worker(sys.executable, __file__, "trees_once",
                                    {"generator": generator, "n_samples": n, "kwargs": kwargs,
                                     "n_components": n_components, "n_neighbors": k,
                                     "repeats": args.repeats},
                                    threads=1, timeout=args.timeout)
            if "error" in r:
                _harness.log(f"  {label} m={n_components} k={k}: {r['error'][-300:]}")
                continue
            total = _harness.ratio(r["ours_build"] + r["ours_query"],
                                   r["ckd_build"] + r["ckd_query"])
            line = (f"{label:<10} {n_components:>3} {k:>4} {r['ckd_build']:>9.3f} "
                    f"{r['ckd_query']:>9.3f} {r['ours_build']:>9.3f} {r['ours_query']:>9.3f} "
                    f"{total:>8.2f} {r['ours_query'] / r['ckd_query']:>6.2f} "
                    f"{r['ours_cpu'] / r['ckd_cpu']:>6.2f} {r['max_difference']:>9.1e}")
            lines.append(line)
            _harness.log(line)
    _harness.log("\n" + header)
    for line in lines:
        _harness.log(line)
    _harness.log("(seconds, medians; ours/ckd: build + query; query: query alone; cpu: "
                 "build + query in process CPU time, less skewed by a loaded machine)")
    _harness.log(_harness.load_line())
    _harness.log(f"\nkneighbors(blobs 10, n={TREE_SEARCH_N}, k={N_NEIGHBORS}), 1 thread, "
                 f"medians of {args.repeats}, the tree inside the backend:")
    for backend in ("pca_tree", "kd_tree"):
        runs = {name: _harness.run_worker(sys.executable, __file__, "tree_search_once",
                                          {"backend": backend, "limit": value,
                                           "repeats": args.repeats},
                                          threads=1, timeout=args.timeout)
                for name, value in (("cKDTree", 0), ("Numba", None))}
        failed = [r["error"][-300:] for r in runs.values() if "error" in r]
        if failed:
            _harness.log(f"  {backend}: {failed}")
            continue
        ckd, ours = runs["cKDTree"]["seconds"], runs["Numba"]["seconds"]
        _harness.log(f"  backend={backend!r}: cKDTree {ckd:.2f} s, Numba tree {ours:.2f} s, "
                     f"ratio {ours / ckd:.2f}, same indices "
                     f"{runs['cKDTree']['digest'] == runs['Numba']['digest']}")
    _harness.log(_harness.load_line())


def _cell(result_list):
    ok = [r for r in result_list if "error" not in r]
    summary = _harness.summarize([r["seconds"] for r in ok])
    return summary, ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="divide every n by --quick-factor")
    parser.add_argument("--quick-factor", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="fresh subprocesses per cell")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--regime", action="append", help="run only these regime labels")
    parser.add_argument("--sizes", default="all", choices=["all", "small", "large"])
    parser.add_argument("--skip-rss", action="store_true", help="skip the 200k x 1000 RSS row")
    parser.add_argument("--case", default="backends", choices=["backends", "dask", "tree"],
                        help="the backend grid (default), the dask scale-out case or the "
                             "k-d tree comparison")
    parser.add_argument("--dask-n", type=int, default=400_000, help="rows of the dask case")
    parser.add_argument("--dask-lazy", action="store_true",
                        help="dask case: also compute the lazy arrays on 2 workers")
    parser.add_argument("--tree-n", type=int, default=200_000, help="rows of the tree case")
    args = parser.parse_args(argv)
    if args.case == "dask":
        return dask_case(args)
    if args.case == "tree":
        return tree_case(args)
    factor = args.quick_factor if args.quick else 1
    _harness.log(_harness.header("neighbors", quick=args.quick, factor=factor,
                                 repeats=args.repeats, timeout=args.timeout, threads=1))
    header = (f"{'regime':<19} {'n':>7} " + " ".join(f"{b:>9}" for b in BACKENDS)
              + f" {'auto chose':>10} {'auto/best':>9} {'same idx':>8}")
    lines, verdicts = [], []
    for label, generator, kwargs, sizes in REGIMES:
        if args.regime and label not in args.regime:
            continue
        if args.sizes != "all":
            sizes = sizes[:1] if args.sizes == "small" else sizes[-1:]
        for n in sizes:
            n = n // factor
            cells, digests, chosen = {}, set(), []
            for backend in BACKENDS:
                runs = [
                    _harness.run_worker(sys.executable, __file__, "search_once",
                                        {"generator": generator, "n_samples": n,
                                         "kwargs": kwargs, "backend": backend},
                                        threads=1, timeout=args.timeout)
                    for _ in range(args.repeats)
                ]
                for run in runs:
                    if "error" in run:
                        _harness.log(f"  {label} n={n} {backend}: {run['error'][-300:]}")
                cells[backend], ok = _cell(runs)
                digests.update(r["digest"] for r in ok)
                chosen += [r["chosen"] for r in ok if backend == "auto"]
                seconds = cells[backend] and cells[backend]["median"]
                _harness.log(f"  {label} n={n} {backend}: "
                             + (f"{seconds:.2f} s" if seconds is not None else "failed/timed out"))
            exact = [cells[b]["median"] for b in BACKENDS[:-1] if cells[b]]
            auto = cells["auto"] and cells["auto"]["median"]
            ratio = _harness.ratio(auto, min(exact) if exact else None)
            times = " ".join(
                f"{cells[b]['median']:>9.2f}" if cells[b] else f"{'>' + str(int(args.timeout)):>9}"
                for b in BACKENDS
            )
            line = (f"{label:<19} {n:>7} {times} {'/'.join(sorted(set(chosen))) or '-':>10} "
                    f"{ratio if ratio is None else round(ratio, 2)!s:>9} {str(len(digests) == 1):>8}")
            lines.append(line)
            _harness.log(line)
            verdicts.append(_harness.verdict(f"auto / fastest exact, {label}, n={n}", ratio,
                                             AUTO_TARGET, higher_is_better=False))
        _harness.log(_harness.load_line())

    if not args.skip_rss:
        n = 200_000 // factor
        run = _harness.run_worker(sys.executable, __file__, "search_once",
                                  {"generator": "blobs", "n_samples": n,
                                   "kwargs": {"n_features": 1000}, "backend": "auto"},
                                  threads=1, timeout=args.timeout)
        if "error" in run:
            _harness.log(f"  RSS row failed: {run['error'][-300:]}")
            verdicts.append(_harness.verdict("peak RSS / size of X", None, RSS_TARGET,
                                             higher_is_better=False))
        else:
            _harness.log(f"RSS row, blobs 1000 n={n} float32, auto chose {run['chosen']} "
                         f"in {run['seconds']:.1f} s: X {run['x_mb']:.0f} MB, ready "
                         f"{run['ready_rss_mb']:.0f} MB, peak {run['peak_rss_mb']:.0f} MB")
            verdicts.append(_harness.verdict(
                f"peak RSS of the process / size of X, {n} x 1000 float32",
                run["peak_rss_mb"] / run["x_mb"], RSS_TARGET, higher_is_better=False))
            verdicts.append(_harness.verdict(
                "(peak RSS - RSS before the search + X) / size of X",
                (run["peak_rss_mb"] - run["ready_rss_mb"] + run["x_mb"]) / run["x_mb"],
                RSS_TARGET, higher_is_better=False))

    _harness.log("\n" + header)
    for line in lines:
        _harness.log(line)
    _harness.log("\nTargets (1 thread):")
    for line in verdicts:
        _harness.log(line)
    _harness.log(_harness.load_line())


if __name__ == "__main__":
    main()
