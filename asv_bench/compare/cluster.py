"""Side-by-side timing of DensityPeakClusterer against DADApy 0.3.4.

The anchor pipeline is DADApy's ``Data(X)``, ``compute_distances(maxk=100)``,
``compute_id_2NN()``, ``compute_density_PAk()``, ``compute_clustering_ADP(Z=1.65)``;
ours is ``DensityPeakClusterer().fit(X)`` (kNN, TwoNN ID, k*, PAk, ADP, hierarchy);
``--impls ours-100`` adds ours at ``max_neighbors=100``, the neighbour lists DADApy uses
(``"auto"`` starts at 128, where 0.09 % of the 200k x 10 points saturate k* against
1.2 % at 100, and grows only past 1 %).
DADApy needs ``numpy<2``, so it runs from a throw-away virtual environment. Every
measurement runs in a fresh subprocess (its peak RSS, ``ru_maxrss``, belongs to that
one fit), after a warm-up fit on 1000 rows (imports, JIT compilation); thread pools
are fixed through ``OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS`` and the libraries' ``n_jobs``.

Data: ``make_blobs(n, n_features=5, centers=10, random_state=0) @ A / sqrt(5)``, ``A``
a (5, D) standard normal (seed 0), float64; ARI is against the blob labels.

Cases (``--case``, default all; ``--quick`` divides every ``n`` by 10):

a. 200k x 10 at 2 and 1 threads (targets: >= 4x at 2 threads, >= 2.5x at 1 thread,
   peak RSS <= DADApy's, ARI >= 0.99).
b. 200k x 100 at 1 thread (target: >= 2x, peak RSS <= DADApy's).
c. 10k and 50k x 10 and x 100 at 1 thread (reported).

``--threads 1`` (or ``2``) restricts every case to that budget; ``--sizes`` replaces
the n of every case (e.g. ``--sizes 50000``) when the machine cannot afford 200k.

Usage, from the repository root::

    .venv/bin/python asv_bench/compare/cluster.py --quick --repeats 1
    .venv/bin/python asv_bench/compare/cluster.py --case a --anchor-venv /tmp/anchors

Timings depend on the machine and on whatever else runs on it: report both.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402  (stdlib only: the anchor venv runs this file too)

ANCHOR_REQUIREMENTS = ["numpy<2", "dadapy==0.3.4"]
WARMUP_ROWS = 1000
MAXK = 100


# --------------------------------------------------------------------------------------
# Workers (fresh interpreters). Heavy imports stay inside the functions.


def _fit_ours(X, n_jobs, max_neighbors="auto"):
    import contextlib
    import io
    import re

    from skrepgeom.cluster import DensityPeakClusterer

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        estimator = DensityPeakClusterer(
            max_neighbors=max_neighbors, n_jobs=n_jobs, verbose=1
        ).fit(X)
    stages = {}
    for name, seconds in re.findall(r"\] (.+?)(?: \(.*\))?: ([0-9.]+) s", buffer.getvalue()):
        stages[name] = stages.get(name, 0.0) + float(seconds)
    return estimator.labels_, estimator.n_clusters_, stages, {
        "max_neighbors": estimator.max_neighbors_,
        "saturated": estimator.kstar_saturated_fraction_,
        "id": estimator.intrinsic_dimension_,
    }


def _fit_dadapy(X, n_jobs):
    import time

    from dadapy import Data

    stages = {}
    start = time.perf_counter()
    data = Data(X, maxk=MAXK, verbose=False, n_jobs=n_jobs)
    data.compute_distances(maxk=MAXK)
    stages["kNN"] = time.perf_counter() - start
    start = time.perf_counter()
    data.compute_id_2NN()
    stages["intrinsic dimension"] = time.perf_counter() - start
    start = time.perf_counter()
    data.compute_density_PAk()
    stages["density"] = time.perf_counter() - start
    start = time.perf_counter()
    data.compute_clustering_ADP(Z=1.65, halo=False)
    stages["ADP"] = time.perf_counter() - start
    saturated = float((data.kstar == MAXK - 1).mean())
    return data.cluster_assignment, data.N_clusters, stages, {
        "max_neighbors": MAXK,
        "saturated": saturated,
        "id": float(data.intrinsic_dim),
    }


def fit_once(impl, data, labels, n_jobs):
    """Warm up on the first rows, then time one fit; runs in a fresh interpreter."""
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    fit = {
        "ours": _fit_ours,
        "ours-100": lambda X, n_jobs: _fit_ours(X, n_jobs, max_neighbors=MAXK),
        "dadapy": _fit_dadapy,
    }[impl]
    X = np.load(data)
    y = np.load(labels)
    fit(np.ascontiguousarray(X[:WARMUP_ROWS]), n_jobs)
    ready = _harness.current_rss_mb()
    with _harness.Timer() as timer:
        predicted, n_clusters, stages, extra = fit(X, n_jobs)
    versions = ["numpy", "scipy", "scikit-learn"]
    versions += ["dadapy"] if impl == "dadapy" else ["skrepgeom", "numba"]
    return {
        "seconds": timer.seconds,
        "ready_rss_mb": ready,
        "peak_rss_mb": _harness.peak_rss_mb(),
        "n_clusters": int(n_clusters),
        "ari": float(adjusted_rand_score(y, predicted)),
        "stages": stages,
        "extra": extra,
        "versions": _harness.package_versions(versions),
    }


def make_data(n_samples, n_features, directory):
    """Save the benchmark blobs and labels as .npy files; runs in our interpreter."""
    import numpy as np
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples, n_features=5, centers=10, random_state=0)
    A = np.random.default_rng(0).normal(size=(5, n_features))
    X = X @ (A / np.sqrt(5))
    stem = Path(directory) / f"blobs_{n_samples}x{n_features}"
    np.save(f"{stem}_X.npy", X)
    np.save(f"{stem}_y.npy", y)
    return f"{stem}_X.npy", f"{stem}_y.npy"


# --------------------------------------------------------------------------------------
# Driver.


def case_grid(case, quick, sizes, threads):
    """``[(n_samples, n_features, threads), ...]`` of one case."""
    scale = 10 if quick else 1
    grid = {
        "a": [(200_000, 10, 2), (200_000, 10, 1)],
        "b": [(200_000, 100, 1)],
        "c": [(n, d, 1) for d in (10, 100) for n in (10_000, 50_000)],
    }[case]
    if sizes:
        grid = [(size, d, t) for size in sizes for _, d, t in grid]
    if threads:
        grid = [(n, d, threads) for n, d, _ in grid]
    grid = list(dict.fromkeys(grid))  # drop repeats, keep order
    return [(n // scale, d, t) for n, d, t in grid]


def _median(results, key):
    summary = _harness.summarize([r[key] for r in results if "error" not in r])
    return summary and summary["median"]


def _stage_text(results):
    ok = [r for r in results if "error" not in r]
    if not ok:
        return "failed"
    names = list(ok[0]["stages"])
    medians = {
        name: _harness.summarize([r["stages"].get(name, 0.0) for r in ok])["median"]
        for name in names
    }
    return ", ".join(f"{name} {seconds:.2f}" for name, seconds in medians.items())


TARGETS = {("a", 2): 4.0, ("a", 1): 2.5, ("b", 1): 2.0, ("b", 2): 2.0}


def _fmt(value, spec):
    return format(value, spec) if value is not None else "n/a"


def measure(case, n, d, threads, pythons, args, data_dir, versions):
    """Interleaved fresh-process fits of every implementation on one data set."""
    X_path, y_path = make_data(n, d, data_dir)
    results = {impl: [] for impl in pythons}
    for repeat in range(args.repeats):  # interleaved: load from other processes hits both
        for impl, python in pythons.items():
            if python is None:
                continue
            result = _harness.run_worker(
                python, __file__, "fit_once",
                {"impl": impl, "data": X_path, "labels": y_path, "n_jobs": threads},
                threads=threads, timeout=args.timeout,
            )
            results[impl].append(result)
            where = f"[{case}] {impl:6s} {n}x{d} threads={threads} run {repeat + 1}"
            if "error" in result:
                _harness.log(f"{where}: FAILED {result['error']}")
                continue
            versions[impl] = result["versions"]
            _harness.log(
                f"{where}: {result['seconds']:.2f} s, peak {result['peak_rss_mb']:.0f} MB, "
                f"{result['n_clusters']} clusters, ARI {result['ari']:.4f}, "
                f"stages: {_stage_text([result])}, {result['extra']}"
            )
    return results


def report(case, n, d, threads, results, impl="ours"):
    """Summary lines and target verdicts of one row (``impl``: ours or ours-100)."""
    ours, anchor = results[impl], results["dadapy"]
    seconds = _median(ours, "seconds"), _median(anchor, "seconds")
    memory = _median(ours, "peak_rss_mb"), _median(anchor, "peak_rss_mb")
    speedup = _harness.ratio(seconds[1], seconds[0])
    label = f"{case} {n // 1000}k x {d}, {threads} thread(s)"
    if impl != "ours":
        label += f", {impl}"
    lines = [
        f"{label:28s} {impl} {_fmt(seconds[0], '8.2f')} s {_fmt(memory[0], '6.0f')} MB "
        f"ARI {_fmt(_median(ours, 'ari'), '.4f')} | DADApy {_fmt(seconds[1], '8.2f')} s "
        f"{_fmt(memory[1], '6.0f')} MB ARI {_fmt(_median(anchor, 'ari'), '.4f')} | "
        f"speed-up {_fmt(speedup, '.2f')}x",
        f"{'':28s} stages {impl}: {_stage_text(ours)}",
        f"{'':28s} stages DADApy: {_stage_text(anchor)}",
    ]
    verdicts = []
    if (case, threads) in TARGETS:
        verdicts.append(
            _harness.verdict(f"{label}: DADApy time / ours", speedup, TARGETS[(case, threads)])
        )
        verdicts.append(_harness.verdict(
            f"{label}: peak RSS ours / DADApy", _harness.ratio(*memory), 1.0,
            higher_is_better=False,
        ))
        if case == "a":
            verdicts.append(_harness.verdict(f"{label}: ARI", _median(ours, "ari"), 0.99, unit=""))
    return lines, verdicts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=["a", "b", "c", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=1, help="fresh subprocesses per row")
    parser.add_argument("--quick", action="store_true", help="n / 10, for smoke tests")
    parser.add_argument("--sizes", type=int, nargs="+", help="replace the n of every case")
    parser.add_argument("--threads", type=int, choices=[1, 2], help="only this thread budget")
    parser.add_argument(
        "--impls", nargs="+", choices=["ours", "ours-100", "dadapy"], default=["ours", "dadapy"],
        help='rows to run; "ours-100" is ours at max_neighbors=100, the work DADApy does',
    )
    parser.add_argument(
        "--anchor-venv",
        help="venv for DADApy, created if missing and kept; default: a temporary one",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    cases = ["c", "a", "b"] if args.case == "all" else [args.case]
    _harness.log(_harness.header("cluster.py", cases=cases, repeats=args.repeats,
                                 quick=args.quick, sizes=args.sizes, threads=args.threads))
    venv = args.anchor_venv or _harness.temporary_directory("skrepgeom-dadapy-")
    anchor = _harness.anchor_python(venv, ANCHOR_REQUIREMENTS, ["dadapy"])
    if anchor is None:
        _harness.log("DADApy could not be installed: its rows are skipped.")
    pythons = {
        impl: (anchor if impl == "dadapy" else sys.executable) for impl in args.impls
    }
    data_dir = tempfile.mkdtemp(prefix="skrepgeom-compare-cluster-")
    lines, verdicts, versions = [], [], {}
    try:
        for case in cases:
            for n, d, threads in case_grid(case, args.quick, args.sizes, args.threads):
                results = measure(case, n, d, threads, pythons, args, data_dir, versions)
                results.setdefault("dadapy", [])
                for impl in [impl for impl in args.impls if impl != "dadapy"]:
                    row_lines, row_verdicts = report(case, n, d, threads, results, impl)
                    lines += row_lines
                    verdicts += row_verdicts
                _harness.log(_harness.load_line())
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    _harness.log("")
    _harness.log(f"Summary ({args.repeats} fresh subprocess(es) per row; medians; "
                 "peak = ru_maxrss of the fitting process)")
    for line in lines + verdicts:
        _harness.log(line)
    for impl, found in versions.items():
        _harness.log(f"versions ({impl}): " + ", ".join(f"{k} {v}" for k, v in found.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
