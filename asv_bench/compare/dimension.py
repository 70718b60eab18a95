"""Side-by-side timing of skrepgeom's intrinsic-dimension estimators against anchors.

Anchors: DADApy 0.3.4 (``Data.compute_id_2NN``, ``Data.return_id_scaling_gride``) and
scikit-dimension 0.5.0 (``skdim.id.TwoNN``), installed in a throw-away virtual
environment (``numpy<2``, which DADApy 0.3.4 needs). Every measurement runs in a fresh
subprocess, so its peak RSS (``ru_maxrss``) belongs to that one call; thread counts are
set through ``OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS`` and the libraries' ``n_jobs``.

Cases (``--case``, default all; ``--quick`` divides every ``n`` by 10):

a. 200k x 100, TwoNN: skrepgeom (brute at 2 and 1 threads, auto at 1) vs DADApy at 1 thread, and a
   bare float32 GEMM of the same N^2 D multiply-adds at 2 threads.
b. 200k x 10, TwoNN: skrepgeom vs scikit-dimension at equal thread budgets (1 and 2).
c. 50k x 10, GRIDE (range_max=64): skrepgeom vs DADApy at equal thread budgets.

Usage, from the repository root::

    .venv/bin/python asv_bench/compare/dimension.py --quick --repeats 1
    .venv/bin/python asv_bench/compare/dimension.py --repeats 3 --anchor-venv /tmp/anchors

Timings depend on the machine and on whatever else runs on it: report both.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402  (stdlib only: the anchor venv runs this file too)

ANCHOR_REQUIREMENTS = ["numpy<2", "dadapy==0.3.4", "scikit-dimension==0.5.0"]
WARMUP_ROWS = 500
GEMM_ROW_BLOCK = 1024
GEMM_COLUMN_BLOCK = 8192


# --------------------------------------------------------------------------------------
# Worker: one measurement in a fresh interpreter (ours or an anchor venv's).
# Only the standard library is imported at module level, so any venv can run it.


def _impl_skrepgeom_twonn(X, spec):
    from skrepgeom.dimension import TwoNNDimension

    def run(data):
        estimator = TwoNNDimension(
            backend=spec["backend"], n_jobs=spec["n_jobs"], random_state=0
        ).fit(data)
        return estimator.dimension_, [estimator.dimension_]

    return run


def _impl_skrepgeom_gride(X, spec):
    import warnings

    import numpy as np
    from skrepgeom.dimension import GrideDimension

    def run(data):
        with warnings.catch_warnings():
            # The warm-up subset can leave a scale unbracketed; the real fit is reported.
            warnings.simplefilter("ignore")
            estimator = GrideDimension(
                range_max=spec["range_max"], backend=spec["backend"], n_jobs=spec["n_jobs"]
            ).fit(data)
        dims = [float(d) for d in estimator.dimensions_]
        # The median over scales, computed as for DADApy (dimension_ is the scale
        # closest to it).
        return float(np.nanmedian(dims)), dims

    return run


def _impl_dadapy_twonn(X, spec):
    from dadapy import Data

    def run(data):
        dimension, _, _ = Data(data, maxk=2, n_jobs=spec["n_jobs"]).compute_id_2NN()
        return float(dimension), [float(dimension)]

    return run


def _impl_dadapy_gride(X, spec):
    import numpy as np
    from dadapy import Data

    def run(data):
        dims, _, _ = Data(data, n_jobs=spec["n_jobs"]).return_id_scaling_gride(
            range_max=spec["range_max"]
        )
        dims = [float(d) for d in dims]
        return float(np.nanmedian(dims)), dims

    return run


def _impl_skdim_twonn(X, spec):
    import skdim

    def run(data):
        dimension = float(skdim.id.TwoNN().fit(data).dimension_)
        return dimension, [dimension]

    return run


def _impl_gemm(X, spec):
    import numpy as np

    def run(data):
        # N^2 D multiply-adds in L2-sized tiles, results discarded: the floor of any
        # exact brute-force kNN that goes through BLAS.
        out = np.empty((GEMM_ROW_BLOCK, GEMM_COLUMN_BLOCK), dtype=data.dtype)
        n = data.shape[0]
        for row in range(0, n, GEMM_ROW_BLOCK):
            rows = data[row : row + GEMM_ROW_BLOCK]
            for column in range(0, n, GEMM_COLUMN_BLOCK):
                columns = data[column : column + GEMM_COLUMN_BLOCK]
                np.matmul(rows, columns.T, out=out[: rows.shape[0], : columns.shape[0]])
        return float("nan"), []

    return run


IMPLEMENTATIONS = {
    "skrepgeom_twonn": _impl_skrepgeom_twonn,
    "skrepgeom_gride": _impl_skrepgeom_gride,
    "dadapy_twonn": _impl_dadapy_twonn,
    "dadapy_gride": _impl_dadapy_gride,
    "skdim_twonn": _impl_skdim_twonn,
    "gemm": _impl_gemm,
}


def _versions(kind):
    names = ["numpy", "scipy", "scikit-learn"]
    names += {"ours": ["skrepgeom", "numba"], "anchor": ["dadapy", "scikit-dimension"]}[kind]
    return _harness.package_versions(names)


def worker(**spec):
    """Load the data, warm up, time one call; return the measurement."""
    import numpy as np

    make_run = IMPLEMENTATIONS[spec["impl"]]
    X = np.load(spec["data"])
    run = make_run(X, spec)
    run(np.ascontiguousarray(X[:WARMUP_ROWS]))  # imports, JIT compilation, caches
    ready_rss = _harness.current_rss_mb()
    with _harness.Timer() as timer:
        estimate, details = run(X)
    return {
        "seconds": timer.seconds,
        "ready_rss_mb": ready_rss,
        "peak_rss_mb": _harness.peak_rss_mb(),
        "estimate": estimate,
        "details": details,
        "versions": _versions(spec["versions"]),
    }


# --------------------------------------------------------------------------------------
# Driver


_log = _harness.log


def prepare_anchors(anchor_venv):
    """``{"dadapy": python or None, "skdim": python or None}``."""
    if anchor_venv is None:
        anchor_venv = _harness.temporary_directory("skrepgeom-anchors-")
    python = _harness.anchor_python(anchor_venv, ANCHOR_REQUIREMENTS, ["dadapy", "skdim"])
    if python is not None:
        return {"dadapy": python, "skdim": python}
    # Conflict between the anchors: one venv each.
    return {
        "dadapy": _harness.anchor_python(anchor_venv, ["numpy<2", "dadapy==0.3.4"], ["dadapy"]),
        "skdim": _harness.anchor_python(
            anchor_venv.rstrip("/") + "-skdim", ["scikit-dimension==0.5.0"], ["skdim"]
        ),
    }


def make_data(n, n_features, directory):
    import numpy as np
    from sklearn.datasets import make_blobs

    path = Path(directory) / f"blobs_{n}x{n_features}.npy"
    if not path.exists():
        X = make_blobs(n, n_features=5, centers=10, random_state=0)[0] @ (
            np.random.default_rng(0).normal(size=(5, n_features)) / np.sqrt(5)
        )
        np.save(path, X.astype(np.float32))
    return str(path)


def measure(python, spec, threads, timeout):
    return _harness.run_worker(
        python, __file__, "worker", spec, threads=threads, timeout=timeout
    )


def case_rows(case, quick, data_dir, pythons):
    """Measurements of one case: dicts with label, interpreter, spec and anchor key."""
    scale = 10 if quick else 1
    ours = sys.executable
    rows = []

    def row(key, label, python, impl, n, d, threads, anchor=None, versions="ours", **extra):
        rows.append(
            {
                "key": key,
                "label": label,
                "python": python,
                "n": n,
                "d": d,
                "threads": threads,
                "anchor": anchor,
                "spec": {
                    "impl": impl,
                    "data": make_data(n, d, data_dir),
                    "versions": versions,
                    **extra,
                },
            }
        )

    if case == "a":
        n, d = 200_000 // scale, 100
        row("dadapy1", "dadapy Data(maxk=2).compute_id_2NN", pythons["dadapy"],
            "dadapy_twonn", n, d, 1, versions="anchor", n_jobs=1)
        row("ours2", "skrepgeom TwoNN brute n_jobs=2", ours, "skrepgeom_twonn", n, d, 2,
            anchor="dadapy1", backend="brute", n_jobs=2)
        row("ours1", "skrepgeom TwoNN brute n_jobs=1", ours, "skrepgeom_twonn", n, d, 1,
            anchor="dadapy1", backend="brute", n_jobs=1)
        row("gemm2", "bare float32 GEMM X @ X.T (BLAS)", ours, "gemm", n, d, 2,
            anchor="dadapy1")
        row("auto1", "skrepgeom TwoNN auto n_jobs=1", ours, "skrepgeom_twonn", n, d, 1,
            anchor="dadapy1", backend="auto", n_jobs=1)
    elif case == "b":
        n, d = 200_000 // scale, 10
        for threads in (1, 2):
            row(f"skdim{threads}", "skdim TwoNN (no n_jobs; env only)", pythons["skdim"],
                "skdim_twonn", n, d, threads, versions="anchor")
            row(f"ours{threads}", f"skrepgeom TwoNN auto n_jobs={threads}", ours,
                "skrepgeom_twonn", n, d, threads, anchor=f"skdim{threads}",
                backend="auto", n_jobs=threads)
    elif case == "c":
        n, d = 50_000 // scale, 10
        for threads in (1, 2):
            row(f"dadapy{threads}", f"dadapy Data(n_jobs={threads}).gride", pythons["dadapy"],
                "dadapy_gride", n, d, threads, versions="anchor", n_jobs=threads,
                range_max=64)
            row(f"ours{threads}", f"skrepgeom Gride auto n_jobs={threads}", ours,
                "skrepgeom_gride", n, d, threads, anchor=f"dadapy{threads}",
                backend="auto", n_jobs=threads, range_max=64)
    return rows


def summarize(results):
    summary = _harness.summarize([r["seconds"] for r in results if "seconds" in r])
    if summary is None:
        return None
    return {
        **summary,
        "ready_rss_mb": max(r["ready_rss_mb"] for r in results if "seconds" in r),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results if "seconds" in r),
        "estimate": statistics.median(r["estimate"] for r in results if "seconds" in r),
        "details": next(r["details"] for r in results if "seconds" in r),
        "versions": next(r["versions"] for r in results if "seconds" in r),
    }


HEADER = (
    f"{'case':<4} {'impl':<38} {'n':>7} {'D':>4} {'thr':>3} {'median s':>9} {'min s':>8} "
    f"{'max s':>8} {'RSS0 MB':>8} {'peak MB':>8} {'ID':>7} {'x anchor':>8}"
)


def format_row(case, row, summary, anchor_summary):
    start = f"{case:<4} {row['label'][:38]:<38} {row['n']:>7} {row['d']:>4} {row['threads']:>3}"
    if summary is None:
        return start + "  FAILED (see above)"
    if row["anchor"] is None:
        ratio = "anchor"
    elif anchor_summary is None:
        ratio = "n/a"
    else:
        ratio = f"{anchor_summary['median'] / summary['median']:.2f}"
    estimate = "-" if summary["estimate"] != summary["estimate"] else f"{summary['estimate']:.3f}"
    return (
        f"{start} {summary['median']:>9.3f} {summary['min']:>8.3f} {summary['max']:>8.3f} "
        f"{summary['ready_rss_mb']:>8.0f} {summary['peak_rss_mb']:>8.0f} {estimate:>7} "
        f"{ratio:>8}"
    )


def _target(description, value, threshold, higher_is_better=True, unit="x"):
    return _harness.verdict(
        description, value, threshold, higher_is_better=higher_is_better, unit=unit
    )


def targets(case, summaries):
    def median(key):
        return summaries[key]["median"] if summaries.get(key) else None

    def speedup(key, anchor):
        return _harness.ratio(median(anchor), median(key))

    def ratio(key, reference):
        return _harness.ratio(median(key), median(reference))

    lines = []
    if case == "a":
        lines.append(_target("skrepgeom 2 threads vs DADApy 1 thread", speedup("ours2", "dadapy1"), 5))
        lines.append(_target("stretch: skrepgeom vs DADApy, both 1 thread", speedup("ours1", "dadapy1"), 3))
        lines.append(_target("skrepgeom backend='auto' vs DADApy, both 1 thread",
                             speedup("auto1", "dadapy1"), 10))
        lines.append(
            _target("brute time / bare GEMM time, both 2 threads", ratio("ours2", "gemm2"), 1.5,
                    higher_is_better=False)
        )
        for key in ("ours2", "ours1"):
            if summaries.get(key) and summaries.get("dadapy1"):
                ours_peak = summaries[key]["peak_rss_mb"]
                theirs = summaries["dadapy1"]["peak_rss_mb"]
                status = "MET" if ours_peak < theirs else "NOT MET"
                lines.append(
                    f"  [{status}] peak RSS {key} {ours_peak:.0f} MB < DADApy {theirs:.0f} MB"
                )
            else:
                lines.append(f"  [NOT EVALUATED] peak RSS {key} vs DADApy: a measurement is missing")
    elif case == "b":
        for threads in (1, 2):
            lines.append(_target(f"skrepgeom vs scikit-dimension, {threads} thread(s) each",
                                 speedup(f"ours{threads}", f"skdim{threads}"), 3))
    elif case == "c":
        for threads in (1, 2):
            lines.append(_target(f"skrepgeom GRIDE vs DADApy GRIDE, {threads} thread(s) each",
                                 speedup(f"ours{threads}", f"dadapy{threads}"), 5))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=["a", "b", "c", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=3, help="fresh subprocesses per row")
    parser.add_argument("--quick", action="store_true", help="n / 10, for smoke tests")
    parser.add_argument(
        "--anchor-venv",
        help="venv for the anchors, created if missing and kept; default: a temporary one",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement")
    parser.add_argument("--rows", action="append",
                        help="measure only these row keys of the case (e.g. dadapy1, auto1)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    # Cheap cases first, so their results are out early; the report keeps a, b, c order.
    cases = ["c", "b", "a"] if args.case == "all" else [args.case]
    _log(_harness.header("dimension.py", cases=cases, repeats=args.repeats, quick=args.quick))
    pythons = prepare_anchors(args.anchor_venv)
    data_dir = tempfile.mkdtemp(prefix="skrepgeom-compare-data-")
    report, versions = {}, {}
    try:
        for case in cases:
            rows = case_rows(case, args.quick, data_dir, pythons)
            if args.rows:
                rows = [row for row in rows if row["key"] in args.rows]
            results = {row["key"]: [] for row in rows}
            for row in rows:
                if row["python"] is None:
                    _log(f"[{case}] {row['label']}: anchor not installed, skipped")
            # Repeats interleave the rows, so that load from other processes hits all alike.
            for repeat in range(args.repeats):
                for row in rows:
                    if row["python"] is None:
                        continue
                    result = measure(row["python"], row["spec"], row["threads"], args.timeout)
                    if "error" in result:
                        _log(f"[{case}] {row['label']} run {repeat + 1}: FAILED {result['error']}")
                    else:
                        _log(f"[{case}] {row['label']} threads={row['threads']} run "
                             f"{repeat + 1}/{args.repeats}: {result['seconds']:.3f} s, "
                             f"peak {result['peak_rss_mb']:.0f} MB, ID {result['estimate']:.3f}")
                        versions[str(row["python"])] = result["versions"]
                    results[row["key"]].append(result)
            summaries = {key: summarize(value) for key, value in results.items()}
            lines = [
                format_row(case, row, summaries[row["key"]], summaries.get(row["anchor"]))
                for row in rows
            ]
            details = [
                f"  {row['label']}: ID per scale "
                + ", ".join(f"{d:.3f}" for d in summaries[row["key"]]["details"])
                for row in rows
                if case == "c" and summaries[row["key"]] is not None
            ]
            report[case] = (lines, details, targets(case, summaries))
            _log(_harness.load_line())
            _print_report({case: report[case]}, {}, args, title=f"Case {case}")
        if len(report) > 1:
            _print_report(report, versions, args, title="All cases")
        else:
            _print_report({}, versions, args, title="Versions")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


def _print_report(report, versions, args, title):
    _log("")
    _log("=" * len(HEADER))
    _log(f"{title}: {args.repeats} fresh subprocess(es) per row. seconds: median, min, max; "
         "RSS0: RSS after imports, data load and warm-up; peak: ru_maxrss of the subprocess; "
         "ID: estimate (GRIDE: median over scales); x anchor: anchor median / row median.")
    if report:
        _log(HEADER)
    for case in sorted(report):
        lines, details, target_lines = report[case]
        for line in lines + details + target_lines:
            _log(line)
    for python, found in versions.items():
        _log(f"versions ({python}): " + ", ".join(f"{k} {v}" for k, v in found.items()))
    _log("=" * len(HEADER))


if __name__ == "__main__":
    sys.exit(main())
