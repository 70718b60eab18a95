"""Side-by-side timing of ``skrepgeom.representations`` against reference loops.

Cases (``--case``, default: all of them):

* **activations**: :meth:`LayerActivations.transform` (pooled layers, concatenated)
  and :meth:`LayerActivations.transform_layers` against a hand-written loop over the
  same modules: ``register_forward_hook`` on the six blocks, ``torch.inference_mode``,
  one forward pass per batch with ``attention_mask``, masked mean over the tokens and
  ``np.concatenate`` at the end. Random-init GPT-2 (6 layers, d=256, 4 heads), 1,024
  sequences of 64 tokens, batch 32. Target: overhead (ours / loop - 1) <= 10 %,
  median of ``--repeats`` runs (ours and the loop in turn within each repeat).
* **profile**: :class:`IntrinsicDimensionProfile` on 12 layers x 10,000 x 768 float32,
  ID only (target <= 5 s) and with overlaps against scikit-learn brute force plus
  NumPy overlaps (target <= 0.8x); see ``_representations_profile.py``, which also
  runs on its own. ``--profile-repeats`` fresh subprocesses per row (default 1: the
  anchor alone takes minutes).

Each case runs in a fresh interpreter (:func:`_harness.run_worker`) at ``--threads``
torch/BLAS threads; the driver imports only the standard library. Usage, from the
repository root::

    .venv/bin/python asv_bench/compare/representations.py --case activations
    .venv/bin/python asv_bench/compare/representations.py --case activations --quick

``--quick`` uses 128 sequences and 3 repeats (development only: the target is judged
on the full case). Timings depend on the machine and on whatever else runs on it:
report both.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

OVERHEAD_TARGET = 0.10


# --------------------------------------------------------------------------------------
# Worker side (runs in a fresh interpreter).


def activations_worker(n_samples, seq_len, batch_size, repeats, seed=0):
    """Time LayerActivations and the hand-written hook loop on one GPT-2, in turn."""
    import numpy as np
    import torch
    import transformers

    from skrepgeom.representations import LayerActivations

    torch.manual_seed(seed)
    config = transformers.GPT2Config(n_layer=6, n_embd=256, n_head=4)
    model = transformers.GPT2Model(config).eval()
    names = [f"h.{i}" for i in range(6)]
    X = np.random.default_rng(seed).integers(0, config.vocab_size, size=(n_samples, seq_len))

    def hook_loop():
        store = {}
        modules = dict(model.named_modules())
        handles = [
            modules[name].register_forward_hook(
                lambda m, a, out, name=name: store.__setitem__(
                    name, out[0] if isinstance(out, tuple) else out
                )
            )
            for name in names
        ]
        pooled = {name: [] for name in names}
        try:
            with torch.inference_mode():
                for start in range(0, n_samples, batch_size):
                    ids = torch.as_tensor(X[start : start + batch_size])
                    mask = torch.ones_like(ids)
                    model(input_ids=ids, attention_mask=mask)
                    weights = mask.unsqueeze(-1).float()
                    for name in names:
                        mean = (store[name] * weights).sum(1) / weights.sum(1)
                        pooled[name].append(mean.numpy())
        finally:
            for handle in handles:
                handle.remove()
        return np.concatenate([np.concatenate(pooled[name]) for name in names], axis=1)

    acts = LayerActivations(model, names, batch_size=batch_size).fit(X[:batch_size])
    reference, ours = hook_loop(), acts.transform(X)
    max_abs_diff = float(np.abs(reference - ours).max())
    times = {"loop": [], "transform": [], "transform_layers": []}
    for _ in range(repeats):
        for key, fn in (("loop", hook_loop), ("transform", lambda: acts.transform(X)),
                        ("transform_layers", lambda: acts.transform_layers(X))):
            with _harness.Timer() as timer:
                fn()
            times[key].append(timer.seconds)
    return {
        "times": times,
        "max_abs_diff": max_abs_diff,
        "torch_threads": torch.get_num_threads(),
        "versions": _harness.package_versions(["torch", "transformers", "numpy"]),
    }


# --------------------------------------------------------------------------------------
# Driver side.


def case_activations(args):
    n_samples = 128 if args.quick else 1024
    repeats = 3 if args.quick else args.repeats
    settings = dict(n_samples=n_samples, seq_len=64, batch_size=32, repeats=repeats)
    _harness.log(f"activations: GPT-2 6 x 256, {n_samples} x 64 tokens, batch 32, "
                 f"{repeats} repeats, {args.threads} thread(s)")
    result = _harness.run_worker(sys.executable, __file__, "activations_worker", settings,
                                 threads=args.threads, timeout=3600)
    if "error" in result:
        _harness.log(f"  worker failed: {result['error']}")
        _harness.log(_harness.verdict("transform_layers overhead vs hook loop", None,
                                      OVERHEAD_TARGET * 100, higher_is_better=False, unit=" %"))
        return
    summaries = {key: _harness.summarize(values) for key, values in result["times"].items()}
    tokens = n_samples * 64
    for key, summary in summaries.items():
        _harness.log(f"  {key:>16}: median {summary['median']:.2f} s (min {summary['min']:.2f}, "
                     f"max {summary['max']:.2f}, {summary['runs']} runs), "
                     f"{tokens / summary['median']:,.0f} tokens/s")
    _harness.log(f"  max |ours - loop| = {result['max_abs_diff']:.2e}; torch threads "
                 f"{result['torch_threads']}; {result['versions']}")
    loop = summaries["loop"]["median"]
    for key in ("transform_layers", "transform"):
        overhead = (_harness.ratio(summaries[key]["median"], loop) - 1) * 100
        label = f"{key} overhead vs hook loop (medians)"
        if args.quick:
            label += " [--quick: not the target's size]"
        _harness.log(_harness.verdict(label, overhead, OVERHEAD_TARGET * 100,
                                      higher_is_better=False, unit=" %"))
    _harness.log(_harness.load_line())


def case_profile(args):
    import _representations_profile

    for line in _representations_profile.profile_case(
        args.profile_repeats, args.quick, args.threads
    ):
        _harness.log(line)


CASES = {"activations": case_activations, "profile": case_profile}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append",
                        help="case to run (repeatable); default: every case")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per side")
    parser.add_argument("--profile-repeats", type=int, default=1,
                        help="fresh subprocesses per row of the profile case")
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads")
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    args = parser.parse_args(argv)
    _harness.log(_harness.header("representations", threads=args.threads, quick=args.quick))
    for name in args.case or sorted(CASES):
        CASES[name](args)


if __name__ == "__main__":
    main()
