"""Side-by-side timing of skrepgeom's layer zigzag persistence against dionysus 2.

Anchor: dionysus 2.0.10 (``zigzag_homology_persistence``, operation ``o`` at time
``o + 1``), built into a throw-away virtual environment (it compiles C++ and needs
the Boost headers, Debian ``libboost-dev``). Both sides run the *same* operations:
ours are written to a file by the driver and the anchor worker reads them back, so
only the zigzag stage is compared. Every measurement runs in a fresh subprocess
(its peak RSS belongs to that one call); thread variables fix BLAS/OpenMP/Numba.

Data: the drifting cloud ``X_0 ~ N(0, I_32)``, ``X_{l+1} = X_l + 0.3 N(0, I)``
(``default_rng(0)``), ``n_neighbors=5``, simplices up to dimension 4.

Cases (``--case``, default all):

a. vs dionysus: the zigzag stage at n=3000, L=24 and n=10000, L=6, one thread on
   both sides; our full ``fit`` too. Target: ours >= 20x faster. The order of the
   operations inside a block is free and changes the cost of both engines:
   ``--order ours`` (default) gives both the last-in-first-out order our estimator
   uses, ``--order plain`` the order sorted by simplex.
b. Paper scale n=10000, L=33: our whole ``fit`` (2 threads), medians per stage
   (kNN and complexes, operations, reduction, summaries), peak RSS of a fresh
   process, counts of union simplices, operations and bars; the default
   ``homology_dims=(0, 1)`` fit (dimension 2) beside it. Targets: <= 100 s and
   <= 1.5 GB required, <= 60 s and <= 1 GB aimed at; dim 2 not slower than dim 4.

Usage, from the repository root::

    .venv/bin/python asv_bench/compare/topology.py --repeats 3
    .venv/bin/python asv_bench/compare/topology.py --case b --repeats 1 --anchor-venv /tmp/dio

Timings depend on the machine and on whatever else runs on it: report both.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402  (stdlib only: the anchor venv runs this file too)

ANCHOR_REQUIREMENTS = ["numpy", "dionysus==2.0.10"]
DIONYSUS_CASES = [(3000, 24), (10_000, 6)]
DIONYSUS_SECONDS_REFERENCE = {(3000, 24): 80.6, (10_000, 6): 278.0}
PAPER_CASE = (10_000, 33)
PAPER_COUNTS = {"union simplices": 640_007, "operations": 1_649_312, "H0 bars": 1_943,
                "H1 bars": 503_194}
TARGET_SPEEDUP = 20
_log = _harness.log


# --------------------------------------------------------------------------------------
# Workers (run in fresh interpreters).


def _drifting_cloud(n, n_layers, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    layers = [rng.standard_normal((n, 32))]
    for _ in range(n_layers - 1):
        layers.append(layers[-1] + 0.3 * rng.standard_normal((n, 32)))
    return layers


def write_operations(n, n_layers, path, order="ours"):
    """Build the layer zigzag of the drifting cloud and save its operations.

    ``order="ours"`` keeps the last-in-first-out order of ``layer_zigzag``;
    ``"plain"`` sorts each block by simplex id (dimension, then lexicographic),
    removals from the highest dimension down: the same zigzag, another order.
    """
    import numpy as np
    from skrepgeom.topology._complexes import clique_complex, knn_graph, layer_zigzag

    complexes = [clique_complex(*knn_graph(x, 5), 4) for x in _drifting_cloud(n, n_layers)]
    zigzag = layer_zigzag(complexes)
    if order == "plain":
        bounds = np.concatenate([[0], zigzag["operations_done"]])
        for begin, end in zip(bounds[:-1], bounds[1:]):
            block = np.sort(zigzag["op_simplex"][begin:end])
            removal = end > begin and not zigzag["op_insert"][begin]
            zigzag["op_simplex"][begin:end] = block[::-1] if removal else block
    # Vertex lists of the union simplices, padded with -1, for the anchor.
    vertices = np.full((zigzag["simplex_dim"].shape[0], 5), -1, dtype=np.int64)
    offset = 0
    for q in range(5):
        rows = np.concatenate([c[q] for c in complexes])
        rows = np.unique(rows, axis=0)
        vertices[offset : offset + rows.shape[0], : q + 1] = rows
        offset += rows.shape[0]
    np.savez(path, vertices=vertices, **zigzag)
    return {
        "union simplices": int(zigzag["simplex_dim"].shape[0]),
        "operations": int(zigzag["op_simplex"].shape[0] + zigzag["n_simplices"][-1]),
    }


def ours_zigzag(path):
    """Our zigzag stage (coned filtration + reduction) on saved operations."""
    import numpy as np
    from skrepgeom.topology._zigzag import run_zigzag

    z = np.load(path)
    args = [z[k] for k in ("op_simplex", "op_insert", "simplex_dim", "facet_ptr", "facet_idx")]
    run_zigzag(*[a[:0] if i < 2 else a for i, a in enumerate(args)])  # JIT warm-up
    ready = _harness.current_rss_mb()
    times = {}
    cpu = time.process_time()
    with _harness.Timer() as timer:
        bars = run_zigzag(*args, times=times)
    return {
        "seconds": timer.seconds,
        "cpu_seconds": time.process_time() - cpu,
        "stages": times,
        "ready_rss_mb": ready,
        "peak_rss_mb": _harness.peak_rss_mb(),
        "bars": {f"H{d}": int(np.count_nonzero(bars[:, 0] == d)) for d in range(4)},
        "versions": _harness.package_versions(["numpy", "numba", "skrepgeom"]),
    }


def dionysus_zigzag(path):
    """dionysus 2 ``zigzag_homology_persistence`` on the same operations."""
    import dionysus
    import numpy as np

    z = np.load(path)
    vertices = z["vertices"]
    op_simplex, op_insert = z["op_simplex"], z["op_insert"]
    times = [[] for _ in range(vertices.shape[0])]
    for o, s in enumerate(op_simplex.tolist()):
        times[s].append(o + 1)
    simplices = [[v for v in row if v >= 0] for row in vertices.tolist()]
    filtration = dionysus.Filtration(simplices)
    # The filtration may reorder simplices: look their times up by vertex set.
    index = {tuple(s): i for i, s in enumerate(simplices)}
    ordered_times = [times[index[tuple(sorted(s))]] for s in filtration]
    cpu = time.process_time()
    with _harness.Timer() as timer:
        _, diagrams, _ = dionysus.zigzag_homology_persistence(filtration, ordered_times)
    return {
        "seconds": timer.seconds,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": _harness.peak_rss_mb(),
        "bars": {f"H{d}": len(diagrams[d]) if d < len(diagrams) else 0 for d in range(4)},
        "versions": _harness.package_versions(["numpy", "dionysus"]),
    }


def ours_fit(n, n_layers, homology_dims, n_jobs):
    """Our whole ``fit`` on the drifting cloud, with its stage times."""
    import numpy as np
    from skrepgeom.topology import ZigzagPersistenceSimilarity

    layers = _drifting_cloud(n, n_layers)
    warm = [x[:200] for x in layers[:2]]
    ZigzagPersistenceSimilarity(homology_dims=homology_dims).fit(warm)  # JIT warm-up
    ready = _harness.current_rss_mb()
    estimator = ZigzagPersistenceSimilarity(homology_dims=tuple(homology_dims), n_jobs=n_jobs)
    cpu = time.process_time()
    with _harness.Timer() as timer:
        estimator.fit(layers)
    dims = estimator.barcode_[:, 0]
    return {
        "seconds": timer.seconds,
        "cpu_seconds": time.process_time() - cpu,
        "stages": estimator._stage_seconds,
        "ready_rss_mb": ready,
        "peak_rss_mb": _harness.peak_rss_mb(),
        "bars": {f"H{d}": int(np.count_nonzero(dims == d)) for d in homology_dims},
    }


# --------------------------------------------------------------------------------------
# Driver.


def _repeat(function, kwargs, repeats, threads, python=sys.executable, timeout=3600):
    runs = []
    for _ in range(repeats):
        result = _harness.run_worker(
            python, __file__, function, kwargs, threads=threads, timeout=timeout
        )
        if "error" in result:
            _log(f"    {function} failed: {result['error'][-800:]}")
        runs.append(result)
    return [r for r in runs if "error" not in r]


def _median(runs, key="seconds"):
    summary = _harness.summarize([r[key] for r in runs])
    return summary and summary["median"]


def _stage_medians(runs):
    if not runs:
        return {}
    return {
        stage: _harness.summarize([r["stages"][stage] for r in runs])["median"]
        for stage in runs[0]["stages"]
    }


def case_a(args, work):
    python = None
    if not args.skip_anchor:
        venv = args.anchor_venv or _harness.temporary_directory("skrepgeom-dionysus-")
        python = _harness.anchor_python(venv, ANCHOR_REQUIREMENTS, ["dionysus"])
        if python is None:
            _log("  dionysus could not be installed: anchor rows are NOT EVALUATED")
    for n, n_layers in DIONYSUS_CASES:
        n //= args.shrink
        _log(f"\n(a) n={n}, L={n_layers}, dim 4, one thread")
        path = str(Path(work) / f"ops_{n}_{n_layers}.npz")
        counts = _harness.run_worker(
            sys.executable, __file__, "write_operations",
            {"n": n, "n_layers": n_layers, "path": path, "order": args.order}, threads=1,
        )
        _log(f"  operations ({args.order} order within blocks): {counts}")
        ours = _repeat("ours_zigzag", {"path": path}, args.repeats, threads=1)
        ours_median = _median(ours)
        if ours:
            _log(f"  ours zigzag stage: median {ours_median:.2f} s (CPU "
                 f"{_median(ours, 'cpu_seconds'):.2f} s), stages "
                 f"{_stage_medians(ours)}, bars {ours[0]['bars']}, "
                 f"peak {ours[0]['peak_rss_mb']:.0f} MB")
        fit = [] if args.order != "ours" else _repeat("ours_fit", {"n": n, "n_layers": n_layers,
                                   "homology_dims": [0, 1, 2, 3], "n_jobs": 1},
                      args.repeats, threads=1)
        if fit:
            _log(f"  ours full fit (1 thread): median {_median(fit):.2f} s, "
                 f"stages {_stage_medians(fit)}")
        anchor_median, anchor = None, []
        if python is not None:
            anchor = _repeat("dionysus_zigzag", {"path": path}, args.anchor_repeats,
                             threads=1, python=python, timeout=7200)
            anchor_median = _median(anchor)
            if anchor:
                _log(f"  dionysus zigzag: median {anchor_median:.2f} s (CPU "
                     f"{_median(anchor, 'cpu_seconds'):.2f} s), bars "
                     f"{anchor[0]['bars']}, peak {anchor[0]['peak_rss_mb']:.0f} MB")
        reference = DIONYSUS_SECONDS_REFERENCE.get((n, n_layers))
        if ours_median and reference:
            _log(f"  dionysus on the 2-core reference machine: {reference} s -> "
                 f"{reference / ours_median:.1f}x (different machines: indicative only)")
        _log(_harness.verdict(
            f"zigzag stage, dionysus / ours, n={n}, L={n_layers}, wall clock",
            _harness.ratio(anchor_median, ours_median), TARGET_SPEEDUP,
        ))
        if python is not None and anchor and ours:
            # On a shared machine the process CPU time is the steadier figure.
            _log(_harness.verdict(
                f"zigzag stage, dionysus / ours, n={n}, L={n_layers}, CPU time",
                _harness.ratio(_median(anchor, "cpu_seconds"), _median(ours, "cpu_seconds")),
                TARGET_SPEEDUP,
            ))
        _log(_harness.load_line())


def case_b(args, work):
    n, n_layers = PAPER_CASE
    n //= args.shrink
    _log(f"\n(b) paper scale n={n}, L={n_layers}, 2 threads")
    path = str(Path(work) / f"ops_{n}_{n_layers}.npz")
    counts = _harness.run_worker(
        sys.executable, __file__, "write_operations",
        {"n": n, "n_layers": n_layers, "path": path}, threads=2,
    )
    deep = _repeat("ours_fit", {"n": n, "n_layers": n_layers,
                                "homology_dims": [0, 1, 2, 3], "n_jobs": 2},
                   args.repeats, threads=2)
    default = _repeat("ours_fit", {"n": n, "n_layers": n_layers,
                                   "homology_dims": [0, 1], "n_jobs": 2},
                      args.repeats, threads=2)
    if deep:
        counts.update({k + " bars": v for k, v in deep[0]["bars"].items()})
    for name, expected in PAPER_COUNTS.items():
        got = counts.get(name)
        if args.shrink > 1:
            _log(f"  {name}: {got}")
            continue
        status = "MET" if got == expected else "NOT MET"
        _log(f"  [{status}] {name}: {got} (dionysus/FastZigzag: {expected})")
    for label, runs in (("dim 4", deep), ("dim 2 (default)", default)):
        if runs:
            _log(f"  {label}: fit median {_median(runs):.2f} s (CPU "
                 f"{_median(runs, 'cpu_seconds'):.2f} s) over {len(runs)} run(s), "
                 f"stages {_stage_medians(runs)}, peak RSS "
                 f"{max(r['peak_rss_mb'] for r in runs):.0f} MB")
    seconds = _median(deep) if deep else None
    peak = max(r["peak_rss_mb"] for r in deep) if deep else None
    _log(_harness.verdict("paper-scale fit (required)", seconds, 100, higher_is_better=False,
                          unit=" s"))
    _log(_harness.verdict("paper-scale fit (target)", seconds, 60, higher_is_better=False,
                          unit=" s"))
    _log(_harness.verdict("paper-scale peak RSS (required)", peak, 1536,
                          higher_is_better=False, unit=" MB"))
    _log(_harness.verdict("paper-scale peak RSS (target)", peak, 1024,
                          higher_is_better=False, unit=" MB"))
    _log(_harness.verdict("dim-2 fit time / dim-4 fit time", _harness.ratio(
        _median(default) if default else None, seconds), 1.0, higher_is_better=False))
    _log(_harness.load_line())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["a", "b"], action="append")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--anchor-repeats", type=int, default=1)
    parser.add_argument("--anchor-venv", help="keep the dionysus venv here between runs")
    parser.add_argument("--skip-anchor", action="store_true")
    parser.add_argument("--order", choices=["ours", "plain"], default="ours",
                        help="operation order within blocks given to both sides in case a")
    parser.add_argument("--quick", dest="shrink", action="store_const", const=10, default=1,
                        help="divide every n by 10 (a smoke test; targets then do not apply)")
    args = parser.parse_args()
    cases = args.case or ["a", "b"]
    _log(_harness.header("topology.py", cases=cases, repeats=args.repeats,
                         quick=args.shrink > 1))
    with tempfile.TemporaryDirectory(prefix="skrepgeom-zigzag-") as work:
        if "a" in cases:
            case_a(args, work)
        if "b" in cases:
            case_b(args, work)


if __name__ == "__main__":
    main()
