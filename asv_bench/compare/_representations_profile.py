"""Case "profile" of ``compare/representations.py``: the ID profile against its anchor.

Data: 12 layers x 10,000 samples x 768 float32 features (hidden sizes of a small
transformer), layer ``l`` a Gaussian latent of dimension 8 to 40 (rising, then
falling across depth) linearly embedded in 768 dimensions plus small noise, and 10
labels. Rows:

- ``IntrinsicDimensionProfile(compute_overlap=False)``: the default protocol
  (``subsample_factor=32``, ``n_repeats=4``), ID only. Target: at most 5 s.
- ``IntrinsicDimensionProfile(n_neighbors=10)`` with labels: the ID plus the
  overlaps with the input, between consecutive layers and with the labels.
- The same with ``backend="brute"``: the cost of ``backend="auto"``'s probe shows
  as the difference of the two rows.
- Anchor: scikit-learn ``NearestNeighbors(n_neighbors=10, algorithm="brute")`` per
  layer and the same three overlaps in NumPy. Target: ours with overlaps at most
  0.8 x the anchor's time.

Every measurement runs in a fresh subprocess (:func:`_harness.run_worker`) with the
same thread budget; data are generated in the worker before the clock starts.

Standalone, from the repository root::

    .venv/bin/python asv_bench/compare/_representations_profile.py --repeats 1
    .venv/bin/python asv_bench/compare/_representations_profile.py --quick

``compare/representations.py`` runs it as its case "profile" through
:func:`profile_case`.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402  (stdlib only at module level, as every compare script)

N_SAMPLES = 10_000
N_LAYERS = 12
N_FEATURES = 768
N_NEIGHBORS = 10
ID_ONLY_TARGET_S = 5.0
OVERLAP_TARGET_RATIO = 0.8


# --------------------------------------------------------------------------------------
# Worker side (fresh interpreter).


def make_layers(n_samples, n_layers, n_features, seed=0):
    """Layers of a rising-then-falling latent dimension, float32, and labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    # 8 -> 40 -> 8 across depth: the hunchback of a trained network.
    peak = n_layers // 3
    depth = [
        layer / peak if layer <= peak else (n_layers - 1 - layer) / (n_layers - 1 - peak)
        for layer in range(n_layers)
    ]
    latent_dims = [int(round(8 + 32 * position)) for position in depth]
    labels = rng.integers(0, 10, size=n_samples)
    centres = rng.normal(size=(10, max(latent_dims)))
    layers = []
    for dim in latent_dims:
        latent = rng.normal(size=(n_samples, dim)) + 2.0 * centres[labels, :dim]
        embedding = rng.normal(size=(dim, n_features)) / np.sqrt(dim)
        layer = latent @ embedding + 0.01 * rng.normal(size=(n_samples, n_features))
        layers.append(layer.astype(np.float32))
    return layers, labels


def _anchor(layers, labels):
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    indices = [
        NearestNeighbors(n_neighbors=N_NEIGHBORS, algorithm="brute").fit(layer).kneighbors()[1]
        for layer in layers
    ]

    def overlap(a, b):
        return float((a[:, :, None] == b[:, None, :]).any(axis=2).mean())

    return {
        "first": [overlap(i, indices[0]) for i in indices],
        "previous": [overlap(a, b) for a, b in zip(indices[:-1], indices[1:])],
        "labels": [float((labels[i] == labels[:, None]).mean()) for i in indices],
    }


def _ours(layers, labels, compute_overlap, backend="auto"):
    from skrepgeom.representations import IntrinsicDimensionProfile

    profile = IntrinsicDimensionProfile(
        n_neighbors=N_NEIGHBORS, compute_overlap=compute_overlap, backend=backend,
        random_state=0,
    ).fit(layers, labels if compute_overlap else None)
    result = {"dimensions": [float(d) for d in profile.dimensions_]}
    if compute_overlap:
        result.update(
            first=[float(v) for v in profile.overlap_input_],
            previous=[float(v) for v in profile.overlap_consecutive_],
            labels=[float(v) for v in profile.overlap_labels_],
        )
    return result


def worker(impl, n_samples, n_layers, n_features):
    """Generate the data, warm up on a slice, time one call; return the measurement."""
    layers, labels = make_layers(n_samples, n_layers, n_features)
    run = {
        "anchor": lambda data, y: _anchor(data, y),
        "ours_id": lambda data, y: _ours(data, y, compute_overlap=False),
        "ours_overlap": lambda data, y: _ours(data, y, compute_overlap=True),
        "ours_overlap_brute": lambda data, y: _ours(data, y, True, backend="brute"),
    }[impl]
    run([layer[:1000] for layer in layers[:2]], labels[:1000])  # imports, JIT, caches
    with _harness.Timer() as timer:
        result = run(layers, labels)
    return {"seconds": timer.seconds, "peak_rss_mb": _harness.peak_rss_mb(), **result}


# --------------------------------------------------------------------------------------
# Driver side.


ROWS = [
    ("ours_id", "IntrinsicDimensionProfile, ID only"),
    ("ours_overlap", "IntrinsicDimensionProfile, ID + overlaps"),
    ("ours_overlap_brute", "same, backend='brute' (no auto probe)"),
    ("anchor", "sklearn NearestNeighbors(10) + NumPy overlaps"),
]


def profile_case(repeats=1, quick=False, threads=2, timeout=3600):
    """Run the rows ``repeats`` times (interleaved), print the table; return the verdicts.

    Parameters
    ----------
    repeats : int
        Fresh subprocesses per row.
    quick : bool
        Divide the number of samples by 10 (a smoke test; targets not comparable).
    threads : int
        Value of the thread variables of every worker (the same budget for all).
    timeout : float
        Seconds per measurement.

    Returns
    -------
    lines : list of str
        One ``[MET]`` / ``[NOT MET]`` / ``[NOT EVALUATED]`` line per target.
    """
    n_samples = N_SAMPLES // (10 if quick else 1)
    spec = {"n_samples": n_samples, "n_layers": N_LAYERS, "n_features": N_FEATURES}
    _harness.log(
        f"[profile] {N_LAYERS} layers x {n_samples} x {N_FEATURES} float32, "
        f"{threads} thread(s), {repeats} repeat(s)"
    )
    results = {key: [] for key, _ in ROWS}
    for repeat in range(repeats):
        # Interleaved, so that load from other processes hits every row alike.
        for key, label in ROWS:
            result = _harness.run_worker(
                sys.executable, __file__, "worker", {"impl": key, **spec},
                threads=threads, timeout=timeout,
            )
            if "error" in result:
                _harness.log(f"[profile] {label} run {repeat + 1}: FAILED {result['error']}")
                continue
            _harness.log(
                f"[profile] {label} run {repeat + 1}/{repeats}: {result['seconds']:.2f} s, "
                f"peak {result['peak_rss_mb']:.0f} MB"
            )
            results[key].append(result)
    summaries = {
        key: _harness.summarize([r["seconds"] for r in runs]) for key, runs in results.items()
    }
    _harness.log(f"{'impl':<48} {'median s':>9} {'min s':>8} {'max s':>8} {'peak MB':>8}")
    for key, label in ROWS:
        summary = summaries[key]
        if summary is None:
            _harness.log(f"{label:<48}  FAILED (see above)")
            continue
        peak = max(r["peak_rss_mb"] for r in results[key])
        _harness.log(
            f"{label:<48} {summary['median']:>9.2f} {summary['min']:>8.2f} "
            f"{summary['max']:>8.2f} {peak:>8.0f}"
        )
    if results["ours_overlap"] and results["anchor"]:
        ours, anchor = results["ours_overlap"][0], results["anchor"][0]
        gaps = [
            max(abs(a - b) for a, b in zip(ours[name], anchor[name]))
            for name in ("first", "previous", "labels")
        ]
        _harness.log(
            f"[profile] largest overlap difference ours vs anchor (first, previous, labels): "
            f"{gaps[0]:.2e}, {gaps[1]:.2e}, {gaps[2]:.2e}"
        )
    if results["ours_id"]:
        dims = ", ".join(f"{d:.1f}" for d in results["ours_id"][0]["dimensions"])
        _harness.log(f"[profile] ID profile: {dims}")
    _harness.log(_harness.load_line())

    def median(key):
        return summaries[key]["median"] if summaries[key] else None

    return [
        _harness.verdict(
            "ID profile, compute_overlap=False", median("ours_id"), ID_ONLY_TARGET_S,
            higher_is_better=False, unit=" s",
        ),
        _harness.verdict(
            "ID profile with overlaps / anchor time",
            _harness.ratio(median("ours_overlap"), median("anchor")),
            OVERLAP_TARGET_RATIO, higher_is_better=False,
        ),
        _harness.verdict(
            "(information) the same with backend='brute' / anchor time",
            _harness.ratio(median("ours_overlap_brute"), median("anchor")),
            OVERLAP_TARGET_RATIO, higher_is_better=False,
        ),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="fresh subprocesses per row")
    parser.add_argument("--quick", action="store_true", help="n / 10, for smoke tests")
    parser.add_argument("--threads", type=int, default=2, help="threads of every worker")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    _harness.log(
        _harness.header(
            "representations.py --case profile", repeats=args.repeats, quick=args.quick,
            threads=args.threads,
        )
    )
    for line in profile_case(args.repeats, args.quick, args.threads, args.timeout):
        _harness.log(line)


if __name__ == "__main__":
    main()
